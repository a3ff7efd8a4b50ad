"""Sweep the warptile kernel's tile shapes on the GPU (CUDA events, median of 10).

    python benchmarks/gpu/tune_warptile.py [N ...]

Prints TFLOP/s and the share of cuBLAS SGEMM per shape; the best becomes
WARPTILE_DEFAULT in glassgrad/kernels/matmul/cuda_ladder.py.
"""

from __future__ import annotations

import sys

import cupy
import numpy as np

from glassgrad.kernels.matmul.cuda_ladder import WARPTILE_CONFIGS, warptile_with

sys.path.insert(0, "benchmarks/gpu")
from quick_ladder import time_ms


def main() -> None:
    sizes = [int(s) for s in sys.argv[1:]] or [2048, 4096]
    for n in sizes:
        rng = np.random.default_rng(0)
        a = cupy.asarray(rng.standard_normal((n, n), dtype=np.float32))
        b = cupy.asarray(rng.standard_normal((n, n), dtype=np.float32))
        ref = time_ms(cupy.matmul, a, b)
        want = cupy.matmul(a, b)
        for name in WARPTILE_CONFIGS:
            ms = time_ms(lambda x, y, name=name: warptile_with(name, x, y), a, b)
            err = float(cupy.abs(warptile_with(name, a, b) - want).max())
            print(
                f"{name:26s} {n:5d} {ms:8.3f} ms {2 * n**3 / ms / 1e9:7.2f} TFLOP/s {ref / ms:6.3f}x cuBLAS  err {err:.1e}"
            )


if __name__ == "__main__":
    main()
