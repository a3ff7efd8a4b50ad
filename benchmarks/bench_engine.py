"""Engine overhead against PyTorch on the CPU, side by side in one run.

    python benchmarks/bench_engine.py [--json benchmarks/results/engine_cpu.json]

(a) per-op overhead on tiny (4×4) tensors: µs per forward call, and per
    forward + backward of ``op(x).sum()``;
(b) one forward + backward of a 784-256-256-10 MLP (x @ Wᵀ + b, ReLU,
    log_softmax + NLL) at batch 128, float32.
PyTorch runs with as many threads as NumPy's BLAS, so both use the same cores.

What profiling taught (cProfile on ``a + b``): the cost of a tiny op is pure
Python — argument unwrapping, dtype promotion, the Context and the result
Tensor. Checking dtype categories through ``dtype.kind`` instead of
``np.issubdtype``, skipping promotion when both tensors share a dtype, one
pass over the arguments in ``Function.apply`` and no imports inside hot
functions took a tiny add from 11 µs to about 3 µs. Later, when binary ops began
to check broadcasting themselves (to name the op in the error), a fast path that
skips the check for two tensors of one shape and dtype kept add near 3.6 µs.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.kernels import timing
from glassgrad.kernels.harness import machine_info


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), default=1)
    except ImportError:
        return 1


def paired_us(ours, theirs, seconds: float = 0.3, rounds: int = 7) -> tuple[float, float]:
    """(ours, theirs) in µs per call: the best of ``rounds`` rounds, each a batch of calls lasting
    about seconds/rounds, the two taking turns (timing.time_interleaved: a busy spell of the shared
    machine hits both, and an untimed batch before each timed one absorbs the other's leftovers)."""
    ours()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.02:
        ours()
        n += 1
    reps = max(int(n * seconds / rounds / 0.02), 10)

    def batch(fn):
        def run() -> None:
            for _ in range(reps):
                fn()

        return run

    times = timing.time_interleaved({"ours": batch(ours), "theirs": batch(theirs)}, rounds)
    return min(times["ours"]) / reps * 1e6, min(times["theirs"]) / reps * 1e6


TINY_OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b),
    "exp": (lambda a, b: a.exp(), lambda a, b: a.exp()),
    "relu": (lambda a, b: F.relu(a), lambda a, b: torch.relu(a)),
    "sum": (lambda a, b: a.sum(), lambda a, b: a.sum()),
    "softmax": (lambda a, b: F.softmax(a, -1), lambda a, b: torch.softmax(a, -1)),
}


def measure_op(ours, theirs, x: np.ndarray, y: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """((fwd ours, fwd torch), (fwd+bwd ours, fwd+bwd torch)) in µs for one tiny op."""
    a, b = gg.tensor(x), gg.tensor(y)
    ta, tb = torch.tensor(x), torch.tensor(y)
    fwd = paired_us(lambda: ours(a, b), lambda: theirs(ta, tb))
    ga, tga = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    def ours_bwd() -> None:
        ours(ga, b).sum().backward()
        ga.grad = None

    def theirs_bwd() -> None:
        theirs(tga, tb).sum().backward()
        tga.grad = None

    return fwd, paired_us(ours_bwd, theirs_bwd)


def overhead_rows() -> list[dict]:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 4)).astype(np.float32), rng.standard_normal((4, 4)).astype(np.float32)
    rows = []
    for name, (ours, theirs) in TINY_OPS.items():
        fwd, bwd = measure_op(ours, theirs, x, y)
        rows.append({"op": name, "forward_us": fwd, "forward_backward_us": bwd})
    return rows


def mlp_step_ms() -> tuple[float, float]:
    rng = np.random.default_rng(1)
    sizes = [784, 256, 256, 10]
    weights = [
        (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
        for i, o in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    biases = [np.zeros(o, dtype=np.float32) for o in sizes[1:]]
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    ours = [gg.tensor(a, requires_grad=True) for pair in zip(weights, biases, strict=True) for a in pair]
    theirs = [torch.tensor(a, requires_grad=True) for pair in zip(weights, biases, strict=True) for a in pair]
    gx, gy, tx, ty = gg.tensor(x), gg.tensor(y), torch.tensor(x), torch.tensor(y)

    def step(params, inp, target, lin, relu, nll, log_softmax) -> None:
        h = inp
        for i in range(0, len(params), 2):
            h = lin(h, params[i], params[i + 1])
            if i < len(params) - 2:
                h = relu(h)
        nll(log_softmax(h, -1), target).backward()
        for p in params:
            p.grad = None

    def ours_step() -> None:
        step(ours, gx, gy, F.linear, F.relu, F.nll_loss, F.log_softmax)

    def theirs_step() -> None:
        tf = torch.nn.functional
        step(theirs, tx, ty, tf.linear, tf.relu, tf.nll_loss, tf.log_softmax)

    ours_us, theirs_us = paired_us(ours_step, theirs_step, 2.0)
    return ours_us / 1e3, theirs_us / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    threads = blas_threads()
    torch.set_num_threads(threads)
    print(f"BLAS threads: {threads}; torch threads: {torch.get_num_threads()}")
    rows = overhead_rows()
    print(
        f"\n{'op (4x4)':10s} {'fwd ours µs':>12s} {'torch µs':>9s} {'ratio':>6s} {'fwd+bwd ours':>13s} {'torch µs':>9s} {'ratio':>6s}"
    )
    for r in rows:
        (fo, ft), (bo, bt) = r["forward_us"], r["forward_backward_us"]
        print(f"{r['op']:10s} {fo:12.1f} {ft:9.1f} {fo / ft:6.2f} {bo:13.1f} {bt:9.1f} {bo / bt:6.2f}")
    ours, theirs = mlp_step_ms()
    print(
        f"\nMLP 784-256-256-10, batch 128, fwd+bwd: glassgrad {ours:.3f} ms, torch {theirs:.3f} ms, ratio {ours / theirs:.2f}"
    )
    if args.json:
        payload = {
            "machine": machine_info("cpu"),
            "command": "python benchmarks/bench_engine.py",
            "torch": torch.__version__,
            "threads": threads,
            "per_op": rows,
            "mlp_step_ms": {"glassgrad": ours, "torch": theirs, "ratio": ours / theirs},
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2)


if __name__ == "__main__":
    main()
