"""Step 10 (wgmma + TMA, sm_90a): the tensor-map arguments, the launcher on NumPy arrays posing as
CuPy ones (no GPU), and, on a compute capability 9.0 GPU, the results against cuBLAS.

The nvcc build for sm_90a (no spills, HGMMA in the SASS) is tests/kernels/test_cuda_compile.py's.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import ml_dtypes
import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.cuda import compile as cuda_compile
from glassgrad.kernels.cuda import tma
from glassgrad.kernels.matmul import cuda_hopper

SOURCE = cuda_hopper.SOURCE
BM, BN, BK = (cuda_hopper.WGMMA_TMA[x] for x in ("BM", "BN", "BK"))
BF16, FP16 = tma.CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, tma.CU_TENSOR_MAP_DATA_TYPE_FLOAT16


# ---- tensor maps (no libcuda) ------------------------------------------------------------------------


def test_tiled_map_of_a_row_major_bf16_matrix() -> None:
    """A (1000 x 4096) bf16, k contiguous: dims innermost first, strides in bytes, the K-major box."""
    m = tma.tiled_map(BF16, 0x7F0000000000, (4096, 1000, 1), (4096 * 2, 4096 * 2 * 1000), (64, 128, 1))
    assert m.dims == (4096, 1000, 1) and m.strides == (8192, 8192000) and m.box == (64, 128, 1)
    assert m.element_strides == (1, 1, 1)
    assert (m.data_type, m.interleave, m.swizzle) == (9, 0, 3)  # BFLOAT16, INTERLEAVE_NONE, SWIZZLE_128B
    assert (m.l2_promotion, m.oob_fill) == (3, 0)  # L2_256B, FLOAT_OOB_FILL_NONE (zeros)


@pytest.mark.parametrize(
    ("address", "dims", "strides", "box", "message"),
    [
        (8, (64, 64, 1), (128, 8192), (64, 64, 1), "16-byte aligned"),
        (0, (7, 64, 1), (14, 896), (64, 64, 1), "multiple of 16"),  # K = 7 in bf16: 14-byte rows
        (0, (64, 64, 1), (64, 8192), (64, 64, 1), ">= 128"),  # rows overlapping
        (0, (128, 64, 1), (256, 16384), (128, 64, 1), "at most 128"),  # 256-byte inner box > the swizzle span
        (0, (64, 512, 1), (128, 65536), (64, 512, 1), "1..256"),
        (0, (64, 0, 1), (128, 128), (64, 64, 1), "1..2^32"),
    ],
)
def test_tiled_map_rejects_what_the_driver_would(address, dims, strides, box, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        tma.tiled_map(BF16, address, dims, strides, box)


def test_map_buffer_is_one_aligned_128_byte_value() -> None:
    """CuPy passes a size-one NumPy array by value: the kernel gets its 128 bytes."""
    buffer = tma.aligned_map_buffer()
    assert buffer.size == 1 and buffer.nbytes == tma.TENSOR_MAP_BYTES == 128
    assert buffer.ctypes.data % tma.TENSOR_MAP_ALIGNMENT == 0
    assert buffer.__array_interface__["data"][0] == buffer.ctypes.data


def test_tma_enums_are_cuda_h_values() -> None:
    """The enum values written in tma.py are their positions in cuda.h's typedefs (where a toolkit is here)."""
    header = Path("/usr/local/cuda/include/cuda.h")
    if not header.exists():
        pytest.skip("no CUDA toolkit header here")
    values: dict[str, int] = {}
    for body in re.findall(r"typedef enum CUtensorMap\w*_enum \{(.*?)\}", header.read_text(errors="replace"), re.S):
        for i, name in enumerate(re.findall(r"\b(CU_TENSOR_MAP_\w+)", body)):
            values.setdefault(name, i)  # the first typedef is the declaration (doc comments repeat parts later)
    for name in ("DATA_TYPE_FLOAT16", "DATA_TYPE_BFLOAT16", "INTERLEAVE_NONE", "SWIZZLE_128B", "L2_PROMOTION_L2_256B"):
        assert values[f"CU_TENSOR_MAP_{name}"] == getattr(tma, f"CU_TENSOR_MAP_{name}"), name
    assert values["CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE"] == tma.CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE


# ---- the launcher without a GPU ------------------------------------------------------------------------


class _DeviceArray(np.ndarray):
    """A NumPy array that answers ``.data.ptr`` as a CuPy array does."""

    @property
    def data(self) -> SimpleNamespace:  # type: ignore[override]
        return SimpleNamespace(ptr=self.__array_interface__["data"][0])


def _fake_cupy() -> ModuleType:
    module = ModuleType("cupy")
    module.broadcast_to = lambda *a, **k: np.broadcast_to(*a, **k).view(_DeviceArray)
    module.empty = lambda *a, **k: np.empty(*a, **k).view(_DeviceArray)
    return module


def _device(shape: tuple[int, ...], dtype, align: int = 256) -> _DeviceArray:
    """A zeroed array whose data starts on ``align`` bytes (CuPy's allocations are 256-aligned)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.zeros(nbytes + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start : start + nbytes].view(dtype).reshape(shape).view(_DeviceArray)


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list:
    """Launches recorded instead of run; tensor maps kept as their TiledMap arguments (no libcuda)."""
    record: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(cuda_hopper.tma, "encode", lambda m: m)
    monkeypatch.setattr(
        cuda_hopper,
        "_compiled",
        lambda element: lambda grid, block, args, shared_mem=0: record.append((element, grid, block, args, shared_mem)),
    )
    return record


def _kernel_parameters() -> list[str]:
    text = SOURCE.read_text(encoding="utf-8")
    match = re.search(r"matmul_wgmma_tma\(([^)]*)\)", text)
    assert match
    return [p.split()[-1].lstrip("*") for p in match.group(1).split(",")]


def _launch(launches: list, a, b) -> dict:
    cuda_hopper.wgmma_tma_matmul(a, b)
    [(element, grid, block, args, shared_mem)] = launches
    params = _kernel_parameters()
    assert len(args) == len(params), (params, len(args))
    named = dict(zip(params, args, strict=True))
    return {"element": element, "grid": grid, "block": block, "smem": shared_mem, **named}


def test_template_parameters_are_the_launchers() -> None:
    text = SOURCE.read_text(encoding="utf-8")
    match = re.search(r"template\s*<([^>]*)>\s*__global__\s+void\s+__launch_bounds__\([^)]*\)\s*matmul_wgmma_tma", text)
    assert match
    assert [p.split()[-1] for p in match.group(1).split(",")] == ["T", *cuda_hopper.WGMMA_TMA]
    assert cuda_hopper.instances() == [
        "matmul_wgmma_tma<__half,128,256,64,4>",
        "matmul_wgmma_tma<__nv_bfloat16,128,256,64,4>",
    ]


def test_shared_memory_and_threads_fit_hopper() -> None:
    stages = cuda_hopper.WGMMA_TMA["STAGES"]
    assert cuda_hopper.SMEM_BYTES == stages * (128 + 256) * 64 * 2 + 1024 <= 227 * 1024
    assert cuda_hopper.THREADS == 384  # producer warpgroup + 2 consumer warpgroups


@pytest.mark.parametrize("a_t", [False, True], ids=["A", "At"])
@pytest.mark.parametrize("b_t", [False, True], ids=["B", "Bt"])
def test_launcher_maps_each_layout_without_copies(launches, a_t: bool, b_t: bool) -> None:
    """Row-major or transposed operands: the map's inner dim is the contiguous one, no copy."""
    m, k, n = 304, 456, 520  # 912-byte rows of k, 608 / 1040-byte rows of m / n: all multiples of 16
    a = _device((k, m) if a_t else (m, k), np.float16)
    b = _device((n, k) if b_t else (k, n), np.float16)
    a, b = (a.T if a_t else a), (b.T if b_t else b)
    got = _launch(launches, a, b)
    assert got["element"] == "fp16" and got["block"] == (384,) and got["smem"] == cuda_hopper.SMEM_BYTES
    assert got["grid"] == (min(132, 3 * 3),)  # ceil(304/128) x ceil(520/256) tiles, at most one block per SM
    map_a, map_b = got["map_a"], got["map_b"]
    assert map_a.address == a.data.ptr and map_b.address == b.data.ptr  # the operands themselves: no copy
    assert map_a.data_type == map_b.data_type == FP16
    if a_t:  # MN-major A: m innermost, 64 x 64 boxes
        assert (map_a.dims, map_a.strides, map_a.box) == ((m, k, 1), (m * 2, m * k * 2), (BK, BK, 1))
    else:
        assert (map_a.dims, map_a.strides, map_a.box) == ((k, m, 1), (k * 2, m * k * 2), (BK, BM, 1))
    if b_t:  # K-major B (a transposed view of an n x k matrix)
        assert (map_b.dims, map_b.strides, map_b.box) == ((k, n, 1), (k * 2, n * k * 2), (BK, BN, 1))
    else:
        assert (map_b.dims, map_b.strides, map_b.box) == ((n, k, 1), (n * 2, n * k * 2), (BK, BK, 1))
    assert (got["a_mn_major"], got["b_mn_major"]) == (a_t, not b_t)
    assert (got["M"], got["N"], got["K"], got["batch"]) == (m, n, k, 1)
    assert (got["a_batched"], got["b_batched"], got["c_is_float"]) == (0, 0, 0)
    assert got["group_m"] == cuda_hopper.GROUP_M
    assert got["C"].shape == (m, n) and got["C"].dtype == np.uint16  # float16 results, stored as bits


def test_launcher_pads_rows_tma_cannot_address(launches) -> None:
    """K = 7 in bf16 gives 14-byte rows: copied once into 16-byte rows; the map names the true K."""
    a, b = _device((33, 7), np.uint16), _device((7, 65), np.uint16)
    got = _launch(launches, a, b)
    map_a, map_b = got["map_a"], got["map_b"]
    assert map_a.address != a.data.ptr and (map_a.dims, map_a.strides) == ((7, 33, 1), (16, 16 * 33))
    assert map_b.address != b.data.ptr and (map_b.dims, map_b.strides) == ((65, 7, 1), (144, 144 * 7))
    assert map_a.data_type == BF16 and got["element"] == "bf16"
    assert got["c_is_float"] == 1 and got["C"].dtype == np.float32  # bf16 bits in: the FP32 accumulators out


def test_launcher_batches_and_broadcasts(launches) -> None:
    """A batched A with a 2-D B: B's map has batch 1 and the kernel reads its batch 0 for every product."""
    a, b = _device((5, 130, 64), np.float16), _device((64, 300), np.float16)
    got = _launch(launches, a, b)
    assert (got["batch"], got["a_batched"], got["b_batched"]) == (5, 1, 0)
    assert got["map_a"].dims == (64, 130, 5) and got["map_a"].strides == (128, 130 * 128)
    assert got["map_b"].dims == (300, 64, 1)
    assert got["grid"] == (5 * 2 * 2,) and got["C"].shape == (5, 130, 300)


def test_launcher_bfloat16_arrays_give_bfloat16(launches) -> None:
    a = _device((40, 64), np.uint16).view(ml_dtypes.bfloat16).view(_DeviceArray)
    b = _device((64, 48), np.uint16).view(ml_dtypes.bfloat16).view(_DeviceArray)
    got = _launch(launches, a, b)
    assert got["element"] == "bf16" and got["c_is_float"] == 0 and got["C"].dtype == np.uint16


def test_launcher_rejects_float32_and_mixed_dtypes(launches) -> None:
    with pytest.raises(TypeError, match="wgmma_tma"):
        cuda_hopper.wgmma_tma_matmul(_device((8, 8), np.float32), _device((8, 8), np.float32))
    with pytest.raises(TypeError, match="wgmma_tma"):
        cuda_hopper.wgmma_tma_matmul(_device((8, 8), np.float16), _device((8, 8), np.uint16))
    assert not launches


def test_empty_and_k0_products_launch_nothing(launches) -> None:
    c = cuda_hopper.wgmma_tma_matmul(_device((3, 0), np.float16), _device((0, 5), np.float16))
    assert c.shape == (3, 5) and not c.any() and not launches


def test_registered_for_hopper_only_and_not_default() -> None:
    v = kernels.variant("matmul", "cuda", "wgmma_tma")
    assert v.dtypes == ("float16", "bfloat16") and v.when is cuda_hopper.on_hopper
    assert kernels.default_name("matmul", "cuda") != "wgmma_tma"


def test_kernel_compiles_for_sm_90a_through_compile_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """compile.kernel(arch=...) reaches raw_module; the launcher asks for sm_90a (cupy not needed)."""
    calls = []
    module = SimpleNamespace(get_function=lambda name: SimpleNamespace(name=name, ptr=1))
    monkeypatch.setattr(cuda_compile, "raw_module", lambda *args: calls.append(args) or module)
    fake = ModuleType("cupy")
    attributes: list = []
    fake.cuda = SimpleNamespace(driver=SimpleNamespace(funcSetAttribute=lambda *a: attributes.append(a)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    cuda_hopper._compiled.cache_clear()
    try:
        fn = cuda_hopper._compiled("bf16")
    finally:
        cuda_hopper._compiled.cache_clear()
    [(path, expressions, options, arch)] = calls
    assert path == str(SOURCE) and expressions == tuple(cuda_hopper.instances()) and options == ()
    assert arch == "sm_90a" and fn.name == cuda_hopper.instance("bf16")
    assert attributes == [(1, 8, cuda_hopper.SMEM_BYTES)]  # CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES


# ---- on a Hopper GPU ----------------------------------------------------------------------------------


@pytest.fixture
def hopper():
    import cupy

    cc = cupy.cuda.Device().compute_capability
    if cc != "90":
        pytest.skip(f"wgmma_tma needs compute capability 9.0 (sm_90a); this GPU is {cc}")
    return cupy


def _operands(cupy, m: int, k: int, n: int, dtype: str, layout: str = "", batch: int | None = None):
    """Normal operands in ``dtype`` ("float16" or "bf16bits"), optionally stored transposed or batched."""
    from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits

    rng = cupy.random.RandomState(m * 7 + k * 3 + n)
    lead = () if batch is None else (batch,)
    a32 = rng.standard_normal((*lead, m, k), dtype=np.float32)
    b32 = rng.standard_normal((*lead, k, n), dtype=np.float32)
    if "Bbroadcast" in layout:
        b32 = b32[0]
    a, b = (
        (to_bfloat16_bits(a32), to_bfloat16_bits(b32))
        if dtype == "bf16bits"
        else (a32.astype(dtype), b32.astype(dtype))
    )
    if "At" in layout:  # the same values, stored transposed
        a = cupy.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)
    if "Bt" in layout:
        b = cupy.ascontiguousarray(b.swapaxes(-1, -2)).swapaxes(-1, -2)
    return a, b


def _as_float64(cupy, x, dtype: str):
    from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits

    return (from_bfloat16_bits(x) if dtype == "bf16bits" else x).astype(cupy.float64)


def _check(cupy, a, b, dtype: str) -> None:
    c = kernels.variant("matmul", "cuda", "wgmma_tma")(a, b)
    cupy.cuda.runtime.deviceSynchronize()
    want = cupy.matmul(_as_float64(cupy, a, dtype), _as_float64(cupy, b, dtype))
    assert c.shape == want.shape and str(c.dtype) == ("float32" if dtype == "bf16bits" else dtype)
    got = c.astype(cupy.float64)
    err = float(cupy.linalg.norm(got - want) / max(float(cupy.linalg.norm(want)), 1e-30))
    # FP32 accumulation of exact 16-bit products: ~1e-6; a float16 result adds its own rounding (2^-11)
    assert err < (1e-4 if dtype == "bf16bits" else 2e-3), err


SHAPES = [
    (1, 1, 1),
    (7, 7, 7),
    (33, 33, 33),
    (127, 127, 127),
    (1000, 1000, 1000),
    (4097, 4097, 4097),
    (4096, 4096, 4096),
    (8192, 8192, 8192),
    (1000, 4096, 333),
    (4097, 33, 65),
    (65, 4097, 33),
    (33, 65, 4097),
    (129, 257, 130),
]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float16", "bf16bits"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matches_cublas(hopper, shape: tuple[int, int, int], dtype: str) -> None:
    _check(hopper, *_operands(hopper, *shape, dtype), dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float16", "bf16bits"])
@pytest.mark.parametrize("layout", ["At", "Bt", "At Bt", "batched", "batched At Bt", "batched Bbroadcast"])
def test_layouts_match_cublas(hopper, layout: str, dtype: str) -> None:
    batch = 3 if "batched" in layout else None
    _check(hopper, *_operands(hopper, 300, 520, 700, dtype, layout, batch), dtype)
    _check(hopper, *_operands(hopper, 67, 45, 93, dtype, layout, batch), dtype)  # 90-byte rows: padded copies


@pytest.mark.gpu
def test_bfloat16_arrays_round_once(hopper) -> None:
    """ml_dtypes.bfloat16 in, bfloat16 out: the FP32 result rounded once (equal to rounding the bits' result)."""
    a, b = _operands(hopper, 257, 300, 129, "bf16bits")
    c32 = kernels.variant("matmul", "cuda", "wgmma_tma")(a, b)
    c16 = kernels.variant("matmul", "cuda", "wgmma_tma")(a.view(ml_dtypes.bfloat16), b.view(ml_dtypes.bfloat16))
    assert str(c16.dtype) == "bfloat16"
    assert bool((c16.astype(hopper.float32) == c32.astype(ml_dtypes.bfloat16).astype(hopper.float32)).all())


@pytest.mark.gpu
def test_every_output_is_written(hopper) -> None:
    """Poison the pool: an element the epilogue skips shows NaN."""
    hopper.get_default_memory_pool().free_all_blocks()
    junk = hopper.full((4097 * 300,), hopper.nan, dtype=hopper.float32)
    del junk
    a, b = _operands(hopper, 4097, 31, 300, "bf16bits")
    c = kernels.variant("matmul", "cuda", "wgmma_tma")(a, b)
    assert not bool(hopper.isnan(c).any())


@pytest.mark.gpu
def test_lab_validation_passes(hopper) -> None:
    """The lab's own cases (odd sizes, transposed and strided views, batches) in both dtypes."""
    report = kernels.validate("matmul", "wgmma_tma", "cuda", dtypes=("bfloat16", "float16"))
    assert report.passed, report
