"""Load test of `spotfake serve` on loopback: requests/s, images/s, latency, server memory.

Run:  .venv/bin/python benchmarks/bench_serve.py [--requests 300] [--soak 2000] [--levels 1,4,16]

Starts `spotfake serve` as a child process on a free 127.0.0.1 port (nothing leaves the
machine), makes distinct 512x512 JPEGs (quality 90) in memory, warms the server up, then for
each number of concurrent clients sends --requests single-image requests over keep-alive
connections and prints requests/s, images/s and p50/p95/p99 latency. A soak of --soak requests
at 4 clients then samples the server's resident memory to show growth. The server is stopped
at the end, also on errors or Ctrl-C. Use --requests 60 --soak 200 for a quick run.
Clients run in this process and share the CPU with the server: on a 2-core machine they take
a few percent of it.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 512
BOUNDARY = "spotfake-bench-boundary"
SOAK_CLIENTS = 4
SOAK_SAMPLES = 5  # RSS readings over the soak (start, quarters, end)


@dataclass
class Level:
    """The figures of one run of requests at a fixed number of concurrent clients."""

    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1000 if self.latencies else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the load test."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per client level")
    parser.add_argument("--soak", type=int, default=2000, help="requests of the memory soak")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients, comma-separated")
    parser.add_argument("--images", type=int, default=64, help="distinct JPEGs to cycle through")
    parser.add_argument("--model", default=None, help="shipped name or weights file")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--backend", default="auto", choices=("auto", "torch", "onnx"), help="serve --backend"
    )
    return parser.parse_args(argv)


def make_jpegs(n: int, seed: int = 0) -> list[bytes]:
    """N distinct 512x512 JPEGs (q90): gradients, a ripple and noise, as bench_detect.py."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) / SIDE
    out = []
    for _ in range(n):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(4, 40)
        ramp = np.cos(angle) * xx + np.sin(angle) * yy
        ripple = np.sin(2 * np.pi * freq * ramp)
        channels = [
            rng.uniform(40, 200) + 60 * ramp * rng.uniform(-1, 1) + 20 * ripple for _ in range(3)
        ]
        pixels = np.stack(channels, axis=-1) + rng.normal(0, 12, (SIDE, SIDE, 3))
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def multipart_body(name: str, data: bytes) -> bytes:
    """One 'files' part, as a browser or curl -F sends it."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`python -m spotfake serve` on loopback; returns once /healthz answers."""
    command = [sys.executable, "-m", "spotfake", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--device", args.device, "--backend", args.backend]
    if args.model:
        command += ["--model", args.model]
    with log.open("wb") as stream:
        server = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited ({server.returncode}):\n{log.read_text()}")
        try:
            get_json(port, "/healthz")
            return server
        except OSError:
            time.sleep(0.25)
    stop_server(server)
    raise RuntimeError("the server did not answer /healthz within 180 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful stop), then kill after 10 s."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def get_json(port: int, path: str) -> dict[str, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return dict(json.loads(connection.getresponse().read()))
    finally:
        connection.close()


def memory_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc (Linux)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def run_level(port: int, bodies: list[bytes], clients: int, requests: int) -> Level:
    """`requests` single-image requests from `clients` threads, one keep-alive connection each."""
    level = Level(clients)
    tickets = itertools.count()
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        while (index := next(tickets)) < requests:
            body = bodies[index % len(bodies)]
            start = time.perf_counter()
            try:
                connection.request("POST", "/v1/detect", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - start
                record = json.loads(answer)["records"][0]
                problem = None if response.status == 200 and record["error"] is None else answer
            except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
                connection.close()
                elapsed, problem = time.perf_counter() - start, repr(exc).encode()
            with lock:
                if problem is None:
                    level.latencies.append(elapsed)
                else:
                    level.errors.append(problem[:200].decode(errors="replace"))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.seconds = time.perf_counter() - start
    return level


def soak(port: int, pid: int, bodies: list[bytes], requests: int) -> tuple[Level, list[float]]:
    """`requests` requests at SOAK_CLIENTS clients in chunks, reading RSS before each chunk."""
    chunk = max(1, requests // (SOAK_SAMPLES - 1))
    total = Level(SOAK_CLIENTS)
    samples = [memory_mib(pid)[0]]
    done = 0
    while done < requests:
        part = run_level(port, bodies, SOAK_CLIENTS, min(chunk, requests - done))
        total.latencies += part.latencies
        total.errors += part.errors
        total.seconds += part.seconds
        done += min(chunk, requests - done)
        samples.append(memory_mib(pid)[0])
    return total, samples


def print_report(
    levels: list[Level], soaked: Level, samples: list[float], info: dict[str, str]
) -> None:
    """Settings, one row per client level, then the soak's memory."""
    for key, value in info.items():
        print(f"{key:<16} {value}")
    print()
    print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'images/s':>8} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")  # fmt: skip
    for level in [*levels, soaked]:
        print(
            f"{level.clients:>7} {len(level.latencies) + len(level.errors):>8} "
            f"{len(level.errors):>6} {level.rate:>7.1f} {level.rate:>8.1f} "
            + " ".join(f"{level.percentile(q):>7.0f}" for q in (50, 95, 99))
        )
    print("(last row: the memory soak; one image per request, so images/s = requests/s)")
    growth = samples[-1] - samples[1] if len(samples) > 2 else float("nan")
    print("\nserver RSS over the soak (MiB): " + " -> ".join(f"{s:.0f}" for s in samples))
    print(f"growth after the first chunk: {growth:+.1f} MiB")
    for level in [*levels, soaked]:
        for error in level.errors[:3]:
            print(f"error at {level.clients} clients: {error}")


def main(argv: list[str] | None = None) -> int:
    """Start the server, run the levels and the soak, print the figures, stop the server."""
    args = parse_args(argv)
    load_before = os.getloadavg()
    bodies = [
        multipart_body(f"img_{i:03d}.jpg", data) for i, data in enumerate(make_jpegs(args.images))
    ]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="spotfake-bench-serve-") as tmp:
        started = time.perf_counter()
        server = start_server(args, port, Path(tmp) / "server.log")
        startup = time.perf_counter() - started
        try:
            run_level(port, bodies, 4, 24)  # warm-up: allocations, first batches
            levels = [
                run_level(port, bodies, int(c), args.requests) for c in args.levels.split(",")
            ]
            soaked, samples = soak(port, server.pid, bodies, args.soak)
            health = get_json(port, "/healthz")
            peak = memory_mib(server.pid)[1]
        finally:
            stop_server(server)
    batches = max(1, int(str(health["batches"])))
    info = {
        "model": f"{health['model']} ({health['model_hash']}) on {health['device']}, "
        f"backend {health.get('backend', '?')}",
        "images": f"{args.images} distinct {SIDE}x{SIDE} JPEGs (q90), one per request",
        "load before": ", ".join(f"{v:.2f}" for v in load_before) + f" ({os.cpu_count()} CPUs)",
        "server start": f"{startup:.1f} s (imports, model load, warm-up pass)",
        "mean batch": f"{int(str(health['images'])) / batches:.2f} images per forward pass",
        "server peak RSS": f"{peak:.0f} MiB",
    }
    print_report(levels, soaked, samples, info)
    return 1 if any(level.errors for level in [*levels, soaked]) else 0


if __name__ == "__main__":
    sys.exit(main())
