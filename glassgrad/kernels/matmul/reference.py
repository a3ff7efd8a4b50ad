"""Reference matmul: the vendor library through the array module.

On the cpu NumPy calls BLAS; on cuda CuPy calls cuBLAS (true FP32: CuPy does
not use TF32 unless CUPY_TF32=1 is set).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register


@register("matmul", "cpu", "numpy", "NumPy's matmul (BLAS sgemm/dgemm)", reference=True)
def numpy_matmul(a: Any, b: Any) -> Any:
    return np.matmul(a, b)


@register("matmul", "cuda", "cublas", "CuPy's matmul (cuBLAS SGEMM/DGEMM, FP32 math)", reference=True)
def cublas_matmul(a: Any, b: Any) -> Any:
    import cupy

    return cupy.matmul(a, b)
