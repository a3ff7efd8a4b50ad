"""Every CUDA matmul variant against cuBLAS (float64 on the host for bf16) on the
lab's awkward sizes: 1, 7, 33, 127, 1000, 4097, non-square, transposed, batched."""

from __future__ import annotations

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits

pytestmark = pytest.mark.gpu

FP32_VARIANTS = [v.name for v in kernels.list("matmul", "cuda") if v.supports_dtype("float32") and not v.reference]
SHAPES = [
    (1, 1, 1),
    (7, 7, 7),
    (33, 33, 33),
    (127, 127, 127),
    (1000, 1000, 1000),
    (4097, 33, 65),
    (65, 4097, 33),
    (33, 65, 4097),
    (128, 128, 128),
    (129, 257, 130),
    (256, 8, 256),
]
# Relative tolerance per variant: FP32 FMA order differs from cuBLAS by rounding only; TF32 keeps 10 mantissa bits.
TOLERANCE = {"wmma_tf32": 5e-3}


def _rel_err(got, want) -> float:
    import cupy

    return float(cupy.linalg.norm(got - want) / max(float(cupy.linalg.norm(want)), 1e-30))


def _operands(m: int, k: int, n: int, layout: str, batch: int | None = None):
    import cupy

    rng = np.random.default_rng(m * 7 + k * 3 + n)
    shape_a = (m, k) if batch is None else (batch, m, k)
    shape_b = (k, n) if batch is None else (batch, k, n)
    a = cupy.asarray(rng.standard_normal(shape_a, dtype=np.float32))
    b = cupy.asarray(rng.standard_normal(shape_b, dtype=np.float32))
    if "At" in layout:  # the same values, stored transposed
        a = cupy.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)
    if "Bt" in layout:
        b = cupy.ascontiguousarray(b.swapaxes(-1, -2)).swapaxes(-1, -2)
    if "slice" in layout:  # non-unit strides in both dims: the launcher must copy or stride
        big = cupy.asarray(rng.standard_normal((*shape_a[:-2], 2 * m, 2 * k), dtype=np.float32))
        big[..., ::2, ::2] = a
        a = big[..., ::2, ::2]
    return a, b


@pytest.mark.parametrize("variant", FP32_VARIANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_variant_matches_cublas(variant: str, shape: tuple[int, int, int]) -> None:
    import cupy

    a, b = _operands(*shape, layout="")
    c = kernels.variant("matmul", "cuda", variant)(a, b)
    cupy.cuda.runtime.deviceSynchronize()
    assert c.shape == (shape[0], shape[2]) and c.dtype == cupy.float32
    assert _rel_err(c, cupy.matmul(a, b)) < TOLERANCE.get(variant, 1e-5)


@pytest.mark.parametrize("variant", FP32_VARIANTS)
@pytest.mark.parametrize("layout", ["At", "Bt", "At Bt", "slice", "batched", "batched At Bt"])
def test_variant_layouts(variant: str, layout: str) -> None:
    import cupy

    batch = 3 if "batched" in layout else None
    a, b = _operands(67, 45, 93, layout, batch)
    c = kernels.variant("matmul", "cuda", variant)(a, b)
    assert _rel_err(c, cupy.matmul(a, b)) < TOLERANCE.get(variant, 1e-5)


@pytest.mark.parametrize("shape", [(7, 7, 7), (127, 33, 65), (1000, 1000, 1000), (4097, 40, 24)], ids=str)
@pytest.mark.parametrize("layout", ["", "At", "Bt"])
def test_wmma_bf16(shape: tuple[int, int, int], layout: str) -> None:
    """bf16 storage, FP32 accumulation: compared with float64 math on the same bf16 values."""
    import cupy

    a32, b32 = _operands(*shape, layout=layout)
    a, b = to_bfloat16_bits(a32), to_bfloat16_bits(b32)
    c = kernels.variant("matmul", "cuda", "wmma_bf16")(a, b)
    want = cupy.matmul(from_bfloat16_bits(a).astype(cupy.float64), from_bfloat16_bits(b).astype(cupy.float64))
    assert _rel_err(c.astype(cupy.float64), want) < 1e-5


@pytest.mark.parametrize("variant", FP32_VARIANTS)
def test_every_output_is_written(variant: str) -> None:
    """Poison the output pool: a variant that skips an element shows NaN."""
    import cupy

    cupy.get_default_memory_pool().free_all_blocks()
    junk = cupy.full((4097 * 129,), cupy.nan, dtype=cupy.float32)
    del junk
    a, b = _operands(4097, 31, 129, layout="")
    c = kernels.variant("matmul", "cuda", variant)(a, b)
    assert not bool(cupy.isnan(c).any())
