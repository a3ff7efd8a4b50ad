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
# Relative tolerance per variant: FP32 FMA order differs from cuBLAS by rounding only; the TF32 variants
# (10 mantissa bits) register their own looser tolerance.
TOLERANCE = {v.name: v.tolerance for v in kernels.list("matmul", "cuda") if v.tolerance}


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


# ---- step 9: mma.sync (tensor cores through inline PTX), split-K, the fused epilogue -------------------------

MMA_SHAPES = [
    (1, 1, 1),
    (7, 7, 7),
    (33, 33, 33),
    (127, 127, 127),
    (1000, 1000, 1000),
    (4097, 33, 65),
    (65, 4097, 33),
    (33, 65, 4097),
    (1000, 4096, 333),
    (129, 257, 130),
    (256, 8, 256),
]
MMA_LAYOUTS = ["", "At", "Bt", "At Bt", "slice", "batched", "batched At Bt"]
MMA_ELEMENTS = ["tf32", "bf16", "fp16"]


def _mma_inputs(element: str, a32, b32):
    """The operands of one element type and their exact values in float64 (after rounding to that type)."""
    import cupy

    if element == "tf32":
        return a32, b32, a32.astype(cupy.float64), b32.astype(cupy.float64)
    if element == "bf16":
        a, b = to_bfloat16_bits(a32), to_bfloat16_bits(b32)
        return a, b, from_bfloat16_bits(a).astype(cupy.float64), from_bfloat16_bits(b).astype(cupy.float64)
    a, b = a32.astype(cupy.float16), b32.astype(cupy.float16)
    return a, b, a.astype(cupy.float64), b.astype(cupy.float64)


#: TF32 rounds each input to 10 mantissa bits inside the kernel; bf16 bits give the FP32 sum of exact
#: products; fp16 results are rounded once to float16 (2^-11 relative)
MMA_TOL = {"tf32": 5e-3, "bf16": 1e-5, "fp16": 2e-3}


@pytest.mark.parametrize("split_k", [False, True], ids=["plain", "splitk"])
@pytest.mark.parametrize("element", MMA_ELEMENTS)
@pytest.mark.parametrize("shape", MMA_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_mma_sync_shapes(element: str, split_k: bool, shape: tuple[int, int, int]) -> None:
    import cupy

    a32, b32 = _operands(*shape, layout="")
    a, b, a64, b64 = _mma_inputs(element, a32, b32)
    c = kernels.variant("matmul", "cuda", f"mma_{element}{'_splitk' if split_k else ''}")(a, b)
    cupy.cuda.runtime.deviceSynchronize()
    assert c.shape == (shape[0], shape[2])
    assert _rel_err(c.astype(cupy.float64), cupy.matmul(a64, b64)) < MMA_TOL[element]


@pytest.mark.parametrize("element", MMA_ELEMENTS)
@pytest.mark.parametrize("layout", MMA_LAYOUTS)
def test_mma_sync_layouts(element: str, layout: str) -> None:
    import cupy

    batch = 3 if "batched" in layout else None
    a32, b32 = _operands(67, 45, 93, layout, batch)
    a, b, a64, b64 = _mma_inputs(element, a32, b32)
    c = kernels.variant("matmul", "cuda", f"mma_{element}")(a, b)
    assert _rel_err(c.astype(cupy.float64), cupy.matmul(a64, b64)) < MMA_TOL[element]


@pytest.mark.parametrize("tile", ["128x128", "128x256"])
@pytest.mark.parametrize("splits", [1, 3, 16])
def test_mma_sync_tiles_and_splits(tile: str, splits: int) -> None:
    """Every tile shape and a forced split-K factor (more splits than K tiles leaves some splits empty)."""
    import cupy

    from glassgrad.kernels.matmul.cuda_ladder import mma_sync_matmul

    a32, b32 = _operands(300, 1000, 520, layout="")
    a, b, a64, b64 = _mma_inputs("bf16", a32, b32)
    c = mma_sync_matmul(a, b, tile=tile, splits=splits)
    assert _rel_err(c.astype(cupy.float64), cupy.matmul(a64, b64)) < 1e-5


def test_mma_sync_engine_bfloat16_arrays_give_bfloat16() -> None:
    """ml_dtypes.bfloat16 CuPy arrays (the engine's bf16) are read as their bits; the result is bf16."""
    import cupy
    import ml_dtypes

    a32, b32 = _operands(70, 90, 110, layout="")
    try:
        a, b = a32.astype(ml_dtypes.bfloat16), b32.astype(ml_dtypes.bfloat16)
    except Exception as err:  # CuPy < 14 has no bfloat16 arrays
        pytest.skip(f"CuPy {cupy.__version__} has no bfloat16 arrays: {err}")
    c = kernels.variant("matmul", "cuda", "mma_bf16")(a, b)
    assert str(c.dtype) == "bfloat16"
    want = cupy.matmul(a.astype(cupy.float64), b.astype(cupy.float64))
    assert _rel_err(c.astype(cupy.float64), want) < 1e-2


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_matmul_epilogue_validates(dtype: str) -> None:
    report = kernels.validate("matmul_epilogue", "mma_sync", "cuda", dtypes=(dtype,))
    assert report.passed, str(report)


@pytest.mark.parametrize("variant", [f"mma_{e}{s}" for e in MMA_ELEMENTS for s in ("", "_splitk")])
def test_mma_sync_lab_validation(variant: str) -> None:
    v = kernels.variant("matmul", "cuda", variant)
    report = kernels.validate("matmul", variant, "cuda", dtypes=v.dtypes[:1])
    assert report.passed, str(report)


@pytest.mark.parametrize("variant", ["mma_tf32", "mma_bf16_splitk"])
def test_mma_sync_every_output_is_written(variant: str) -> None:
    import cupy

    cupy.get_default_memory_pool().free_all_blocks()
    junk = cupy.full((4097 * 129,), cupy.nan, dtype=cupy.float32)
    del junk
    a, b = _operands(4097, 31, 129, layout="")
    if "bf16" in variant:
        a, b = to_bfloat16_bits(a), to_bfloat16_bits(b)
    c = kernels.variant("matmul", "cuda", variant)(a, b)
    assert not bool(cupy.isnan(c).any())


def test_mma_sync_sass_for_this_gpu_has_hmma() -> None:
    """mma_sync.cu built for this GPU's own compute capability (nvcc on the GPU machine) runs the
    tensor cores: every GEMM kernel's SASS has HMMA."""
    import shutil

    import cupy
    from test_cuda_compile import MATMUL, test_tensor_core_kernels_show_their_opcode_in_sass

    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed on this GPU machine")
    major, minor = cupy.cuda.Device().compute_capability
    test_tensor_core_kernels_show_their_opcode_in_sass(MATMUL / "mma_sync.cu", f"sm_{major}{minor}")
