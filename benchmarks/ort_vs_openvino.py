"""ONNX Runtime against OpenVINO on one exported graph: agreement and views/s, alternating rounds.

Run:  python benchmarks/ort_vs_openvino.py GRAPH.onnx [--threads 1] [--batch 16] [--side 192]
      [--rounds 6] [--batches 8]

GRAPH is an exported detector graph (`spotfake detect --backend onnx` caches it under
~/.cache/spotfake/onnx). Needs onnxruntime and openvino installed (openvino is not one of
spotfake's dependencies: this script is how the choice of ONNX Runtime was measured). OpenVINO
is forced to float32 so that both compute the same scores. Prints the largest logit difference
and each round's views/s, then the medians.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graph")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--side", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batches", type=int, default=8, help="batches per round")
    return parser.parse_args(argv)


def runners(graph: str, threads: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """One forward function per runtime, each on ``threads`` threads."""
    import onnxruntime as ort
    import openvino as ov

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "f32",
        "PERFORMANCE_HINT": "LATENCY",
    }
    compiled = ov.Core().compile_model(graph, "CPU", config)
    request = compiled.create_infer_request()
    output = compiled.output(0)
    return {
        "onnxruntime": lambda x: np.asarray(session.run(None, {name: x})[0]).ravel(),
        "openvino": lambda x: np.asarray(request.infer({0: x})[output]).ravel(),
    }


def main(argv: list[str] | None = None) -> None:
    """Check agreement, then time alternating rounds and print views/s."""
    args = parse_args(argv)
    batch = np.random.default_rng(0).normal(0, 1, (args.batch, 3, args.side, args.side))
    batch = batch.astype(np.float32)
    run = runners(args.graph, args.threads)
    first, second = (forward(batch) for forward in run.values())
    print(f"largest logit difference {float(np.abs(first - second).max()):.2e}")
    rates: dict[str, list[float]] = {name: [] for name in run}
    for _ in range(args.rounds):
        for name, forward in run.items():
            start = time.perf_counter()
            for _ in range(args.batches):
                forward(batch)
            rates[name].append(args.batches * args.batch / (time.perf_counter() - start))
    for name, values in rates.items():
        rounds = ", ".join(f"{value:.1f}" for value in values)
        print(f"{name:<12} views/s per round {rounds}; median {float(np.median(values)):.1f}")


if __name__ == "__main__":
    main()
