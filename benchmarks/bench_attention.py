"""Attention on the CPU: glassgrad's variants against PyTorch's scaled_dot_product_attention.

    NUMBA_NUM_THREADS=2 python benchmarks/bench_attention.py [--json benchmarks/results/attention_cpu.json]

(a) forward + backward time at (8, 8, 512, 64), causal and not, side by side
    with torch in one run, both on the same number of threads: the best of
    ``--repeat`` runs, the libraries taking turns;
(b) peak memory (tracemalloc, NumPy's allocations) of one forward + backward of
    the reference and the flash variant at sequence lengths 512, 1024, 2048.

Notes: the flash backward (kernels/attention/cpu_flash.py) computes P once per
tile for dQ, dK and dV; a version with one pass for dK/dV and a second for dQ,
recomputing P, took half as long again.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc

import numba
import numpy as np
import torch

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels
from glassgrad.kernels import timing as timing_lib
from glassgrad.kernels.harness import machine_info


def step_glassgrad(q, k, v, causal: bool) -> None:
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    out.backward(gg.ones_like(out))
    q.grad = k.grad = v.grad = None


def step_torch(q, k, v, causal: bool) -> None:
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    out.backward(torch.ones_like(out))
    q.grad = k.grad = v.grad = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write results here")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(numba.get_num_threads())
    rng = np.random.default_rng(0)
    shape = (8, 8, 512, 64)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    timing = []
    print(f"threads: numba {numba.get_num_threads()}, torch {torch.get_num_threads()}")
    print(f"{'shape':18s} {'causal':6s} {'variant':10s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for causal in (False, True):
        tq = [torch.tensor(a, requires_grad=True) for a in arrays]
        fns = {"torch": lambda tq=tq, c=causal: step_torch(*tq, c)}
        for variant in ("flash", "reference"):
            gq = [gg.tensor(a, requires_grad=True) for a in arrays]

            def ours(gq=gq, c=causal, variant=variant) -> None:
                with kernels.use("attention", variant, "cpu"), kernels.use("attention_backward", variant, "cpu"):
                    step_glassgrad(*gq, c)

            fns[variant] = ours
        best = {name: min(times) for name, times in timing_lib.time_interleaved(fns, args.repeat).items()}
        theirs = best["torch"]
        for variant in ("flash", "reference"):
            ours_s = best[variant]
            timing.append(
                {
                    "shape": shape,
                    "causal": causal,
                    "variant": variant,
                    "ours_s": ours_s,
                    "torch_s": theirs,
                    "ratio": ours_s / theirs,
                }
            )
            print(
                f"{str(shape):18s} {causal!s:6s} {variant:10s} {ours_s * 1e3:9.1f} {theirs * 1e3:9.1f} {ours_s / theirs:6.2f}"
            )
    memory = []
    print(f"\n{'seq':>5s} {'variant':10s} {'peak MB (fwd+bwd)':>18s}")
    for length in (512, 1024, 2048):
        qkv = [
            gg.tensor(rng.standard_normal((1, 4, length, 64)).astype(np.float32), requires_grad=True) for _ in range(3)
        ]
        for variant in ("reference", "flash"):
            with kernels.use("attention", variant, "cpu"), kernels.use("attention_backward", variant, "cpu"):
                step_glassgrad(*qkv, True)  # compile outside the measurement
                tracemalloc.start()
                step_glassgrad(*qkv, True)
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            memory.append({"seq": length, "variant": variant, "peak_mb": peak, "shape": (1, 4, length, 64)})
            print(f"{length:5d} {variant:10s} {peak:18.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": machine_info("cpu"),
                    "command": "NUMBA_NUM_THREADS=2 python benchmarks/bench_attention.py",
                    "timing": timing,
                    "memory": memory,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
