"""Hopper's wgmma step (and any other 16-bit matmul variant) against cuBLAS BF16/FP16, in one run.

    python benchmarks/gpu/bench_matmul_bf16.py --json OUT.json [--sizes 4096 8192] [--variants wgmma_tma]

Both sides take the same rounded operands and return the operands' dtype: cuBLAS through PyTorch
(torch.matmul on bfloat16 / float16 tensors: cuBLAS GEMM with FP32 accumulation), ours on CuPy
arrays of ml_dtypes.bfloat16 / float16. Time: CUDA events, median of 10 after 3 warm-ups
(vendor_matmul.time_ms). Error: max |ours - cuBLAS| / max |cuBLAS| (both round once from FP32, so
a few bf16/fp16 ulps). A variant's first call (NVRTC compile) is made, and reported, before timing.
"""

from __future__ import annotations

import argparse
import json
import time

import cupy
import ml_dtypes
import torch
from vendor_matmul import time_ms

from glassgrad import kernels
from glassgrad.kernels.harness import machine_info

DTYPES = {"bfloat16": (ml_dtypes.bfloat16, torch.bfloat16), "float16": (cupy.float16, torch.float16)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[4096, 8192])
    parser.add_argument("--variants", nargs="+", default=["wgmma_tma"])
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    for dtype in args.dtypes:
        ours_dtype, torch_dtype = DTYPES[dtype]
        for n in args.sizes:
            flops = 2 * n**3
            rng = cupy.random.RandomState(n)
            a32 = rng.standard_normal((n, n), dtype=cupy.float32)
            b32 = rng.standard_normal((n, n), dtype=cupy.float32)
            ta, tb = (torch.from_dlpack(x).to(torch_dtype) for x in (a32, b32))
            # the very same 16-bit values on our side (torch rounds float32 to nearest even)
            a, b = (cupy.from_dlpack(t.view(torch.int16)).view(cupy.uint16).view(ours_dtype) for t in (ta, tb))
            want = torch.matmul(ta, tb)
            cublas_ms = time_ms(lambda ta=ta, tb=tb: torch.matmul(ta, tb))
            row = {"dtype": dtype, "size": n, "cublas_tflops": flops / cublas_ms / 1e9}
            for name in args.variants:
                fn = kernels.variant("matmul", "cuda", name)
                start = time.perf_counter()
                got = fn(a, b)
                cupy.cuda.Device().synchronize()
                first = time.perf_counter() - start
                ours_ms = time_ms(lambda fn=fn: fn(a, b))
                got32 = cupy.asarray(got.astype(cupy.float32))
                want32 = cupy.from_dlpack(want.float())
                err = float(cupy.abs(got32 - want32).max() / max(float(cupy.abs(want32).max()), 1e-30))
                row |= {
                    f"{name}_tflops": flops / ours_ms / 1e9,
                    f"{name}_vs_cublas": cublas_ms / ours_ms,
                    f"{name}_max_rel_err": err,
                    f"{name}_first_call_s": first,
                }
            rows.append(row)
            shares = "  ".join(
                f"{name} {row[f'{name}_tflops']:6.1f} ({row[f'{name}_vs_cublas']:.2f}x, err {row[f'{name}_max_rel_err']:.1e})"
                for name in args.variants
            )
            print(f"{dtype:8s} {n:5d}  cuBLAS {row['cublas_tflops']:6.1f} TFLOP/s  {shares}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_info("cuda"), "torch": torch.__version__, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
