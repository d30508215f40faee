"""Table identity: reals with an agency's own quantisation tables against fakes at the same
estimated quality. The audit must see the tables, `debias` (default) must remove them, and an
independent classifier on the table values read from the files must then find nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from spotfake.bias.audit import audit
from spotfake.bias.debias import debias
from spotfake.bias.debias_plan import DebiasOptions
from spotfake.data.manifest import open_dataset, read_manifest
from spotfake.io.jpeg import IJG_CHROMA_TABLE, encode_jpeg, ijg_table
from spotfake.records import GENERATED, REAL

N = 40  # images per class
SIDE = 96


def agency_tables(variant: int) -> list[list[int]]:
    """An agency's tables: IJG q85 nudged by one in a few places (they still read as q85)."""
    luma, chroma = list(ijg_table(85)), list(ijg_table(85, IJG_CHROMA_TABLE))
    for i in (3 + variant, 20 + 2 * variant, 50 + variant):
        luma[i] += 1
    chroma[10 + variant] += 1
    return [luma, chroma]


def _picture(seed: int) -> Image.Image:
    """Smooth random content (the same distribution for both classes)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (6, 6, 3))
    base = np.kron(coarse, np.ones((SIDE // 6, SIDE // 6, 1)))
    noisy = base + rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def agency_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """real/: JPEGs with three agency table variants; fake/: JPEGs at IJG q85, same layout."""
    root = tmp_path_factory.mktemp("agency")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    for i in range(N):
        real = encode_jpeg(_picture(i), tables=agency_tables(i % 3), subsampling="4:2:0")
        (root / "real" / f"r{i:03d}.jpg").write_bytes(real)
        fake = encode_jpeg(_picture(1000 + i), quality=85, subsampling="4:2:0")
        (root / "fake" / f"f{i:03d}.jpg").write_bytes(fake)
    return root


def _confound(result: object, name: str) -> float:
    return next(c.auc for c in result.confounds if c.name == name)  # type: ignore[attr-defined]


def _table_values_auc(files: list[Path], labels: list[int]) -> float:
    """Cross-validated AUC of a logistic regression on the luma and chroma tables, read with
    Pillow from the files themselves (independent of spotfake's records)."""
    rows = []
    for path in files:
        with Image.open(path) as image:
            tables = image.quantization
            rows.append([v for k in sorted(tables) for v in tables[k]])
    x = np.asarray(rows, dtype=float)
    if not np.ptp(x, axis=0).any():
        return 0.5  # every file has the same tables
    y = np.asarray(labels)
    scores = cross_val_predict(
        LogisticRegression(max_iter=2000), x, y, cv=5, method="predict_proba"
    )[:, 1]
    return float(roc_auc_score(y, scores))


def test_audit_sees_tables_that_share_a_quality(agency_set: Path) -> None:
    records = open_dataset(agency_set)
    assert {r.jpeg_quality for r in records} == {85}  # the quality number cannot tell them
    result = audit(records)
    assert _confound(result, "jpeg_quality") < 0.6
    assert _confound(result, "jpeg_tables") > 0.95
    assert result.verdict == "strong"
    identity = result.table_identity
    assert identity is not None and identity.verdict == "strong"
    assert identity.shared == {"real": 0.0, "generated": 0.0}
    assert identity.standard == {"real": 0.0, "generated": 1.0}
    assert len(identity.tables["real"]) == 3 and len(identity.tables["generated"]) == 1


def test_quality_mode_leaves_the_tables_apart(agency_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "mode"
    debias(agency_set, out, DebiasOptions(fake_quality="mode", match_bpp=False), workers=1)
    records = read_manifest(out / "manifest.csv")
    assert _confound(audit(records), "jpeg_tables") > 0.9  # the shortcut the issue found


def test_debias_copies_a_matched_reals_tables(agency_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    result = debias(agency_set, out, DebiasOptions(), workers=1)
    records = read_manifest(out / "manifest.csv")
    fakes = [r for r in records if r.label == GENERATED]
    reals = [r for r in records if r.label == REAL]
    assert len(fakes) >= 20 and len(reals) >= 20
    assert {r.jpeg_tables_id for r in fakes} <= {r.jpeg_tables_id for r in reals}
    assert not any(r.jpeg_tables_standard for r in records)
    summary = audit(records)
    assert summary.shortcut_auc <= 0.6, summary.confounds
    assert _confound(summary, "jpeg_tables") <= 0.6
    assert summary.table_identity is not None
    assert summary.table_identity.shared == {"real": 1.0, "generated": 1.0}
    independent = _table_values_auc(
        [Path(r.path) for r in records], [int(r.label or 0) for r in records]
    )
    assert independent <= 0.6
    assert any("exact tables" in note for note in result.notes)


def as_440(data: bytes) -> bytes:
    """A 4:2:2 JPEG relabelled 4:4:0 in its frame header (luma sampled 1x2 instead of 2x1):
    Pillow cannot write 4:4:0, but such files decode (same blocks per MCU, pixels reordered)."""
    patched = bytearray(data)
    frame = patched.index(b"\xff\xc0")
    assert patched[frame + 11] == 0x21  # the first component's HV byte
    patched[frame + 11] = 0x12
    return bytes(patched)


def test_440_reals_are_written_420_with_their_tables(tmp_path: Path) -> None:
    """Pillow cannot write 4:4:0: the real keeps its tables at 4:2:0 and the note says so."""
    from spotfake.bias.debias import check_output, write_debiased
    from spotfake.bias.debias_plan import plan_debias

    root = tmp_path / "src"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    for i in range(6):
        real = encode_jpeg(_picture(i), tables=agency_tables(0), subsampling="4:2:2")
        (root / "real" / f"r{i}.jpg").write_bytes(as_440(real))
        _picture(50 + i).save(root / "fake" / f"f{i}.png")
    records = open_dataset(root)
    assert {r.chroma_subsampling for r in records if r.label == REAL} == {"4:4:0"}
    out = tmp_path / "out"
    check_output(out, root, records, False)
    plan = plan_debias(records, DebiasOptions(match_bpp=False))
    assert {job.subsampling for job in plan.jobs} == {"4:2:0"}
    assert all(job.tables for job in plan.jobs if job.record.label == GENERATED)
    result = write_debiased(plan, out, workers=1)
    assert any("4:4:0" in note and "Pillow cannot write" in note for note in result.notes)
    written = read_manifest(out / "manifest.csv")
    assert len(written) == 12
    assert {r.jpeg_tables_id for r in written} == {written[0].jpeg_tables_id}
    assert {r.chroma_subsampling for r in written} == {"4:2:0"}
