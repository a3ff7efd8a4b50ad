"""Quick side-by-side timing of every CUDA matmul variant against cuBLAS (CUDA events).

    python benchmarks/gpu/quick_ladder.py [sizes...]

The full table with JSON comes from ``python -m glassgrad bench matmul --device cuda``;
this script is the minimal check used while developing the ladder.
"""

from __future__ import annotations

import sys

import cupy
import numpy as np

from glassgrad import kernels
from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits


def time_ms(fn, *args, repeat: int = 10) -> float:
    fn(*args)
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    times = []
    for _ in range(repeat):
        start.record()
        fn(*args)
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def main() -> None:
    sizes = [int(s) for s in sys.argv[1:]] or [1024, 2048, 4096, 8192]
    print(f"{'variant':14s} {'size':>6s} {'ms':>9s} {'TFLOP/s':>8s} {'x cuBLAS':>8s}")
    for n in sizes:
        rng = np.random.default_rng(0)
        a = cupy.asarray(rng.standard_normal((n, n), dtype=np.float32))
        b = cupy.asarray(rng.standard_normal((n, n), dtype=np.float32))
        flops = 2 * n**3
        ref = time_ms(cupy.matmul, a, b)  # cuBLAS FP32 (vendor_matmul.py compares each precision with its own)
        for v in kernels.list("matmul", "cuda"):
            if v.name in ("naive", "coalesced") and n > 4096:
                continue
            if v.reference:
                continue
            if v.supports_dtype("bfloat16"):  # bf16 in the lab's form: its uint16 bits
                args = (to_bfloat16_bits(a), to_bfloat16_bits(b))
            elif v.supports_dtype("float16"):
                args = (a.astype(cupy.float16), b.astype(cupy.float16))
            else:
                args = (a, b)
            ms = time_ms(v.fn, *args, repeat=3 if v.name in ("naive", "coalesced") else 10)
            print(f"{v.name:14s} {n:6d} {ms:9.3f} {flops / ms / 1e9:8.2f} {ref / ms:8.3f}", flush=True)


if __name__ == "__main__":
    main()
