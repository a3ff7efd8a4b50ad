"""cuBLAS through PyTorch on the same GPU: FP32, TF32 and BF16 GEMM TFLOP/s, plus our
tensor-core variants side by side — the references the lab's FP32 table lacks.

    python benchmarks/gpu/vendor_matmul.py --json OUT.json [--sizes 1024 2048 4096 8192]

CuPy's matmul (the lab's "cublas" reference) is true FP32; TF32 and BF16 need
PyTorch here (benchmarks may import it; the library never does). CUDA events,
median of 10 after 3 warm-ups, random normal inputs.
"""

from __future__ import annotations

import argparse
import json

import cupy
import numpy as np
import torch

from glassgrad import kernels
from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits
from glassgrad.kernels.harness import machine_info

PEAK_TFLOPS = {"fp32": 66.9, "tf32": 494.7, "bf16": 989.4}  # H100 SXM dense, from NVIDIA's datasheet


def time_ms(fn, repeat: int = 10) -> float:
    for _ in range(3):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    times = []
    for _ in range(repeat):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1024, 2048, 4096, 8192])
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        flops = 2 * n**3
        rng = np.random.default_rng(0)
        a32 = rng.standard_normal((n, n), dtype=np.float32)
        b32 = rng.standard_normal((n, n), dtype=np.float32)
        ta, tb = torch.tensor(a32, device="cuda"), torch.tensor(b32, device="cuda")
        ca, cb = cupy.asarray(a32), cupy.asarray(b32)
        torch.backends.cuda.matmul.allow_tf32 = False
        fp32 = time_ms(lambda: torch.matmul(ta, tb))
        torch.backends.cuda.matmul.allow_tf32 = True
        tf32 = time_ms(lambda: torch.matmul(ta, tb))
        torch.backends.cuda.matmul.allow_tf32 = False
        ta16, tb16 = ta.bfloat16(), tb.bfloat16()
        bf16 = time_ms(lambda: torch.matmul(ta16, tb16))
        ours_tf32 = time_ms(lambda: kernels.variant("matmul", "cuda", "wmma_tf32")(ca, cb))
        a16, b16 = to_bfloat16_bits(ca), to_bfloat16_bits(cb)
        ours_bf16 = time_ms(lambda: kernels.variant("matmul", "cuda", "wmma_bf16")(a16, b16))
        ours_fp32 = time_ms(lambda: kernels.variant("matmul", "cuda", "warptile")(ca, cb))
        row = {
            "size": n,
            "cublas_fp32_tflops": flops / fp32 / 1e9,
            "cublas_tf32_tflops": flops / tf32 / 1e9,
            "cublas_bf16_tflops": flops / bf16 / 1e9,
            "warptile_tflops": flops / ours_fp32 / 1e9,
            "wmma_tf32_tflops": flops / ours_tf32 / 1e9,
            "wmma_bf16_tflops": flops / ours_bf16 / 1e9,
        }
        rows.append(row)
        print(
            f"{n:5d}  cuBLAS fp32 {row['cublas_fp32_tflops']:6.1f}  warptile {row['warptile_tflops']:6.1f} ({ours_fp32 and fp32 / ours_fp32:.2f}x) | "
            f"cuBLAS tf32 {row['cublas_tf32_tflops']:6.1f}  wmma_tf32 {row['wmma_tf32_tflops']:6.1f} ({tf32 / ours_tf32:.2f}x) | "
            f"cuBLAS bf16 {row['cublas_bf16_tflops']:6.1f}  wmma_bf16 {row['wmma_bf16_tflops']:6.1f} ({bf16 / ours_bf16:.2f}x)",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine_info("cuda"), "torch": torch.__version__, "peak_tflops": PEAK_TFLOPS, "rows": rows},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
