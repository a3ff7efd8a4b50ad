"""Step 10 of the CUDA matmul ladder: Hopper's wgmma fed by TMA (cuda/wgmma_tma.cu), sm_90a only.

The launcher describes each operand to the copy engine as a 3-D tensor map (inner, outer,
batch), innermost the operand's contiguous dimension: K for a K-major operand (A row-major,
B a transposed view), M or N for an MN-major one. The kernel reads both kinds without copies
(wgmma's transpose bits). A copy is made only when TMA cannot address the operand: no dimension
contiguous, a base address off 16 bytes, or a row stride that is not a multiple of 16 bytes
(K = 7 in bf16: 14-byte rows); the copy's rows are padded to 16 bytes and the map still names the
true sizes, so the padding is never read. Out-of-bounds boxes are zero-filled by TMA.

dtypes as in steps 8-9 (cuda_ladder's ``_element``): float16 in, float16 out; bfloat16 as
``ml_dtypes.bfloat16`` in, bfloat16 out; bfloat16 as its uint16 bits (the lab's form) in, the FP32
accumulators out. Every result is rounded once from the FP32 sum.

Registered only where the device is compute capability 9.0 (``when=``), never the default. Not
yet run on a GPU: compiled by nvcc for sm_90a in CI (HGMMA in its SASS, no spills); correctness
and speed are unmeasured.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..cuda import tma
from ..cuda.compile import ceil_div, kernel
from ..registry import register
from .cuda_ladder import _as_batched, _element, _int32, _sm_count, _strides

SOURCE = Path(__file__).parent / "cuda" / "wgmma_tma.cu"
ARCH = "sm_90a"
#: the kernel's template arguments after the element type, in order: a 128 x 256 block tile (two
#: consumer warpgroups of 64 rows, wgmma n256), BK = 64 elements = one 128-byte swizzle row, 4 stages
WGMMA_TMA = {"BM": 128, "BN": 256, "BK": 64, "STAGES": 4}
#: tile-rows per group of the persistent scheduler's walk (blocks at work together share L2 lines)
GROUP_M = 8
#: one producer warpgroup + BM / 64 consumer warpgroups of 128 threads
THREADS = 128 * (1 + WGMMA_TMA["BM"] // 64)
ELEMENT_BYTES = 2
#: dynamic shared memory: STAGES x (A tile + B tile) + 1024 bytes to align the ring to 1024
SMEM_BYTES = WGMMA_TMA["STAGES"] * (WGMMA_TMA["BM"] + WGMMA_TMA["BN"]) * WGMMA_TMA["BK"] * ELEMENT_BYTES + 1024
#: _element's name -> (the kernel's element type, the tensor-map data type)
ELEMENTS = {
    "fp16": ("__half", tma.CU_TENSOR_MAP_DATA_TYPE_FLOAT16),
    "bf16": ("__nv_bfloat16", tma.CU_TENSOR_MAP_DATA_TYPE_BFLOAT16),
}
CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8  # cuda.h's CUfunction_attribute


def instance(element: str) -> str:
    """The NVRTC name expression of the kernel for ``element`` ("fp16" or "bf16")."""
    return f"matmul_wgmma_tma<{','.join(map(str, (ELEMENTS[element][0], *WGMMA_TMA.values())))}>"


def instances() -> list[str]:
    """Every instance the launcher can ask NVRTC for (the nvcc compile test builds these)."""
    return [instance(e) for e in ELEMENTS]


@functools.cache
def _compiled(element: str) -> Any:
    """The kernel for ``element``, compiled for sm_90a and allowed SMEM_BYTES of dynamic shared memory."""
    import cupy

    name = instance(element)
    fn = kernel(SOURCE, name, instances(), arch=ARCH)
    cupy.cuda.driver.funcSetAttribute(fn.ptr, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, SMEM_BYTES)
    return fn


def _round16(nbytes: int) -> int:
    return -(-nbytes // 16) * 16


def _map_geometry(x: Any, batched: bool) -> tuple[int, int, tuple[int, int, int], tuple[int, int]] | None:
    """How TMA reads a (batch, rows, cols) view: (inner axis, outer axis, dims, byte strides), or None.

    The inner axis is one whose stride is 1; a stride that is never stepped (its dimension has
    size 1, or the batch of a broadcast operand) is replaced by the dense one. None when no axis
    works: the strides must be multiples of 16 bytes that do not overlap the dimensions inside them.
    """
    if x.data.ptr % 16:
        return None
    size = x.itemsize
    _, s1, s2 = _strides(x)
    for inner, outer in ((2, 1), (1, 2)):
        if (s1, s2)[inner - 1] != 1:
            continue
        row = x.strides[outer] if x.shape[outer] > 1 else _round16(x.shape[inner] * size)
        plane = x.strides[0] if batched else _round16(row * x.shape[outer])
        dense_enough = row >= x.shape[inner] * size and plane >= row * x.shape[outer]
        if row % 16 == 0 and plane % 16 == 0 and dense_enough:
            dims = (x.shape[inner], x.shape[outer], x.shape[0] if batched else 1)
            return inner, outer, dims, (row, plane)
    return None


def _padded_copy(x: Any) -> Any:
    """A C-ordered copy of a (batch, rows, cols) view, each row padded to a multiple of 16 bytes (a view of cols)."""
    import cupy

    cols = x.shape[2]
    padded = _round16(cols * x.itemsize) // x.itemsize
    buffer = cupy.empty((x.shape[0], x.shape[1], padded), dtype=x.dtype)
    buffer[:, :, :cols] = x
    return buffer[:, :, :cols]


def operand_map(x: Any, k_axis: int, tile_rows: int, data_type: int) -> tuple[tma.TiledMap, bool, bool]:
    """The tensor map of one operand (batch, rows, cols) and (mn_major, batched).

    ``k_axis`` is 2 for A (batch, M, K) and 1 for B (batch, K, N); ``tile_rows`` is BM or BN. The box:
    K-major (BK, tile_rows, 1), one copy per stage; MN-major (BK, BK, 1), tile_rows / BK copies (the
    kernel's column blocks: 64 elements = 128 bytes, the swizzle row).
    """
    batched = x.shape[0] > 1 and x.strides[0] != 0
    if not batched:
        x = x[:1]  # a broadcast operand: the kernel reads batch 0 for every product
    geometry = _map_geometry(x, batched)
    if geometry is None:
        x = _padded_copy(x)
        geometry = _map_geometry(x, batched)
    if geometry is None:  # a padded C-ordered copy always qualifies
        raise RuntimeError(f"matmul(cuda, wgmma_tma): no tensor map for shape {x.shape}, strides {x.strides}")
    inner, _, dims, strides = geometry
    mn_major = inner != k_axis
    bk = WGMMA_TMA["BK"]
    box = (bk, bk, 1) if mn_major else (bk, tile_rows, 1)
    return tma.tiled_map(data_type, x.data.ptr, dims, strides, box), mn_major, batched


def wgmma_tma_matmul(a: Any, b: Any, name: str = "wgmma_tma") -> Any:
    """C = A @ B on Hopper's tensor cores (wgmma, TMA), FP32 accumulation; see the module docstring."""
    import cupy
    import numpy as np

    element, a, b, out_dtype = _element(a, b, name)
    if element not in ELEMENTS:
        raise TypeError(f"matmul(cuda, {name}): expects float16 or bfloat16 (or its uint16 bits), got {a.dtype}")
    kernel_element, data_type = ELEMENTS[element]
    a3, b3, batch = _as_batched(a, b)
    m, k = a3.shape[1:]
    n = b3.shape[2]
    shape = (batch, m, n) if max(a.ndim, b.ndim) == 3 else (m, n)
    c = cupy.empty(shape, dtype=out_dtype)
    c_is_float = out_dtype == "float32"
    store = c if c_is_float else c.view(np.uint16)  # the kernel writes 16-bit results as their bits
    if c.size == 0 or k == 0:
        store.fill(0)
        return c
    map_a, a_mn_major, a_batched = operand_map(a3, 2, WGMMA_TMA["BM"], data_type)
    map_b, b_mn_major, b_batched = operand_map(b3, 1, WGMMA_TMA["BN"], data_type)
    tiles = batch * ceil_div(m, WGMMA_TMA["BM"]) * ceil_div(n, WGMMA_TMA["BN"])
    grid = (min(tiles, _sm_count()),)
    flags = (a_batched, b_batched, a_mn_major, b_mn_major, c_is_float)
    args = (tma.encode(map_a), tma.encode(map_b), store, *_int32(m, n, k, batch, *flags, GROUP_M))
    _compiled(element)(grid, (THREADS,), args, shared_mem=SMEM_BYTES)
    return c


@functools.cache
def _compute_capability(device_id: int) -> str:
    import cupy

    return str(cupy.cuda.Device(device_id).compute_capability)


def on_hopper(*args: Any, **kwargs: Any) -> bool:
    """Whether the current CUDA device is compute capability 9.0 (H100/H200), cached per device."""
    try:
        import cupy

        return _compute_capability(cupy.cuda.Device().id) == "90"
    except Exception:  # no CuPy or no device: this variant cannot run
        return False


@register(
    "matmul",
    "cuda",
    "wgmma_tma",
    "10. Hopper wgmma fed by TMA (mbarrier ring, producer/consumer warpgroups, persistent); FP32 acc",
    dtypes=("float16", "bfloat16"),
    tolerance=3e-2,  # the spec's bf16 tolerance (8 mantissa bits per input); fp16 (10 bits) also within it
    when=on_hopper,
    condition="a compute capability 9.0 GPU (H100/H200), built for sm_90a",
)
def wgmma_tma(a: Any, b: Any) -> Any:
    return wgmma_tma_matmul(a, b)
