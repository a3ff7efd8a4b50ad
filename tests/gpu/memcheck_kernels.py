"""Run every custom CUDA kernel once on awkward sizes, for compute-sanitizer (not a pytest module).

    compute-sanitizer --tool memcheck python tests/gpu/memcheck_kernels.py

CuPy's memory pool is switched off, so every array is its own cudaMalloc and
the sanitizer sees an access one element past an array's end (inside a pooled
block it would not). Each variant is also validated against its reference.
"""

from __future__ import annotations

import sys

import cupy

from glassgrad import kernels

FUSED = [
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "layer_norm",
    "layer_norm_backward",
    "cross_entropy",
    "cross_entropy_backward",
]


def main() -> int:
    cupy.cuda.set_allocator(None)
    failed = []
    checks = [(op, "fused") for op in FUSED]
    checks += [("matmul", v.name) for v in kernels.list("matmul", "cuda") if not v.reference]
    for op, name in checks:
        dtypes = ("bfloat16",) if name.endswith("bf16") else ("float32",)
        try:
            report = kernels.validate(op, name, "cuda", dtypes=dtypes)
            cupy.cuda.Device().synchronize()
            print(f"{op}/{name}: {'PASS' if report.passed else 'FAIL'}", flush=True)
            if not report.passed:
                print(report, flush=True)
                failed.append(f"{op}/{name}")
        except Exception as exc:  # report every variant, then fail
            print(f"{op}/{name}: ERROR {exc!r}", flush=True)
            failed.append(f"{op}/{name}")
    print("failed:", failed or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
