"""spotfake.train.batch: runs finished are skipped, checkpoints resume, failures are reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spotfake.train.batch import Command, finished, run_all, train_command


def test_a_checkpoint_resumes_and_a_completed_summary_is_finished(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert "--resume" not in train_command("r.yaml", run, ["optim.steps=3"])
    (run / "checkpoint.pt").write_bytes(b"")
    command = train_command("r.yaml", run, ["optim.steps=3"])
    assert command[-2:] == ["--resume", str(run)] and "optim.steps=3" in command
    assert not finished(run)
    (run / "summary.json").write_text(json.dumps({"stopped": "completed"}))
    assert finished(run)


def test_run_all_skips_finished_runs_and_reports_exit_codes(tmp_path: Path) -> None:
    done = tmp_path / "runs" / "done"
    done.mkdir(parents=True)
    (done / "summary.json").write_text(json.dumps({"stopped": "completed"}))

    def job(code: int) -> Command:
        return lambda run, threads: [sys.executable, "-c", f"raise SystemExit({code})"]

    codes = run_all({"done": job(0), "ok": job(0), "bad": job(3)}, tmp_path, parallel=2)
    assert codes == {"ok": 0, "bad": 3}
    assert (tmp_path / "bad.log").is_file() and (tmp_path / "runs" / "ok").is_dir()
