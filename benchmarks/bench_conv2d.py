"""conv2d on the cpu: kernel-level tables from the lab's harness, and forward +
backward through the engine side by side with PyTorch, in one run.

Layers: LeNet-style (N=64, 1→32, 28×28, 3×3) and ResNet-style (N=32, 64→64,
32×32, 3×3, padding 1). The engine-level step is F.conv2d(x, w, b) then
backward of sum(y · g) for a fixed g, with x, w and b all requiring grad, the
same in both libraries; the best of ``--repeats`` timed steps after a warm-up, the
libraries and variants taking turns (a busy spell on a shared machine hits them alike).
Both libraries (numba's pool, OpenBLAS and PyTorch) use ``--threads`` threads.
Writes benchmarks/results/conv2d_cpu.json.

    python benchmarks/bench_conv2d.py [--threads 2] [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
LAYERS = {
    "lenet 64x1x28x28 -> 32, 3x3": ((64, 1, 28, 28), (32, 1, 3, 3), 0),
    "resnet 32x64x32x32 -> 64, 3x3 pad 1": ((32, 64, 32, 32), (64, 64, 3, 3), 1),
}
KERNEL_SIZES = ["64x1x28x28x32x3", "32x64x32x32x64x3x1"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", default=str(RESULTS / "conv2d_cpu.json"))
    return parser.parse_args()


def layer_rows(name: str, x_shape: tuple, w_shape: tuple, padding: int, repeats: int) -> list[dict]:
    """PyTorch's step and glassgrad's step with every conv2d variant, on one layer."""
    import numpy as np
    import torch

    import glassgrad as gg
    import glassgrad.nn.functional as F
    from glassgrad import kernels
    from glassgrad.kernels import timing

    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (x_shape, w_shape, w_shape[:1]))
    out_shape = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=padding).shape
    g = rng.standard_normal(tuple(out_shape)).astype(np.float32)

    def torch_step() -> None:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        torch.nn.functional.conv2d(tx, tw, tb, padding=padding).backward(torch.from_numpy(g))

    def glassgrad_step() -> None:
        gx, gw, gb = (gg.tensor(a, requires_grad=True) for a in (x, w, b))
        F.conv2d(gx, gw, gb, padding=padding).backward(gg.tensor(g))

    ops = ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")
    variants = [v.name for v in kernels.list("conv2d", "cpu")]
    first_call = {}
    for variant in variants:
        with kernels.use(ops[0], variant), kernels.use(ops[1], variant), kernels.use(ops[2], variant):
            first_call[variant] = timing.first_call_seconds(glassgrad_step, "cpu")

    def with_variant(variant: str) -> Callable[[], None]:
        def step() -> None:
            with kernels.use(ops[0], variant), kernels.use(ops[1], variant), kernels.use(ops[2], variant):
                glassgrad_step()

        return step

    fns = {"pytorch": torch_step} | {variant: with_variant(variant) for variant in variants}
    best = {name: min(times) for name, times in timing.time_interleaved(fns, repeats).items()}
    torch_s = best["pytorch"]
    rows = [{"layer": name, "library": "pytorch", "variant": "ATen/oneDNN", "best_s": torch_s, "vs_pytorch": 1.0}]
    for variant in variants:
        rows.append(
            {
                "layer": name,
                "library": "glassgrad",
                "variant": variant,
                "best_s": best[variant],
                "vs_pytorch": best[variant] / torch_s,
                "first_call_s": first_call[variant],
            }
        )
    return rows


def engine_rows(threads: int, repeats: int) -> list[dict]:
    import torch

    torch.set_num_threads(threads)
    return [
        row
        for name, (x_shape, w_shape, padding) in LAYERS.items()
        for row in layer_rows(name, x_shape, w_shape, padding, repeats)
    ]


def main() -> None:
    args = parse_args()
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before numpy, numba and torch start their pools
    import json

    from glassgrad import kernels
    from glassgrad.kernels import harness

    kernel_rows = []
    for op in ("conv2d", "conv2d_grad_input", "conv2d_grad_weight"):
        kernel_rows += harness.benchmark(op, sizes=KERNEL_SIZES, repeat=args.repeats)
    print(harness.format_table(kernel_rows))
    rows = engine_rows(args.threads, args.repeats)
    print(f"\nconv2d forward + backward through the engine vs PyTorch CPU ({args.threads} threads), float32")
    print(f"{'layer':38s} {'library':10s} {'variant':14s} {'best':>10s} {'x pytorch':>10s}")
    for r in rows:
        print(
            f"{r['layer']:38s} {r['library']:10s} {r['variant']:14s} {r['best_s'] * 1e3:8.2f} ms {r['vs_pytorch']:9.2f}x"
        )
    harness.write_json(
        kernel_rows,
        args.json,
        "cpu",
        notes=f"threads={args.threads}; engine rows: forward+backward through F.conv2d vs torch",
    )
    payload = json.loads(Path(args.json).read_text())
    payload["engine_vs_pytorch"] = rows
    payload["defaults"] = {
        op: kernels.default_name(op, "cpu") for op in ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")
    }
    Path(args.json).write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
