"""The CUDA C matmul ladder: eight steps from a naive kernel towards cuBLAS.

Each step is one .cu file in ``cuda/`` and one registered variant of
("matmul", "cuda"). The launchers only read shapes and strides and pick the
grid; all arithmetic is in the .cu files. Operands may be transposed views
(the engine's backward passes ``swapaxes`` views): steps 1-5 take any strides,
steps 6-8 need one of the two matrix dims contiguous per operand and choose
their load path from the strides (anything else is copied once, contiguous).
The shapes in the table are the template arguments set below.

====  ===============  ==================================================
step  variant          idea
====  ===============  ==================================================
1     naive            one thread per output, uncoalesced
2     coalesced        warp threads own consecutive columns
3     smem_tiled       32x32 tiles staged in shared memory
4     blocktile_1d     8 outputs per thread (a column strip)
5     blocktile_2d     8x8 outputs per thread, 128x128 block tile
6     vectorized       float4 global and shared-memory accesses
7     warptile         block -> warp -> thread tiling (H100-tuned)
8     wmma_tf32/bf16   tensor cores, cp.async double buffering
====  ===============  ==================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..cuda.compile import ceil_div, kernel
from ..registry import register

SOURCES = Path(__file__).parent / "cuda"

# Tile shapes are template arguments of the kernels, written here once: the .cu files
# take them as template parameters (of the same names) and static_assert that they fit
# together; the launchers size the grid and block from them. The nvcc compile test
# builds every instance that ``instances`` lists.

#: step 3: the shared-memory tile is TILE x TILE, one thread per element
SMEM_TILED = {"TILE": 32}
#: step 4: a BM x BN block tile, each of THREADS = BM·BN/TM threads owns TM outputs of a column
BLOCKTILE_1D = {"BM": 64, "BN": 64, "BK": 8, "TM": 8, "THREADS": 512}
#: steps 5 and 6: a BM x BN block tile, each of THREADS = (BM/TM)·(BN/TN) threads owns TM x TN outputs
BLOCKTILE_2D = {"BM": 128, "BN": 128, "BK": 8, "TM": 8, "TN": 8, "THREADS": 256}
VECTORIZED = BLOCKTILE_2D
#: step 7's template parameters, in order; WARPTILE_CONFIGS gives their values
WARPTILE_PARAMS = ("BM", "BN", "BK", "WM", "WN", "WNITER", "TM", "TN", "THREADS")
#: warptile tile shapes; the sweep in benchmarks/gpu/tune_warptile.py times each on the GPU,
#: and WARPTILE_DEFAULT is the winner there (8 warps, each a 64x32 piece of a 128x128 tile).
WARPTILE_CONFIGS = {
    "128x128x16_w64x64_t128": (128, 128, 16, 64, 64, 4, 8, 4, 128),
    "128x128x16_w64x32_t256": (128, 128, 16, 64, 32, 2, 8, 4, 256),
    "128x256x16_w64x64_t256": (128, 256, 16, 64, 64, 4, 8, 4, 256),
    "256x128x16_w64x64_t256": (256, 128, 16, 64, 64, 4, 8, 4, 256),
    "128x128x8_w64x32_t256": (128, 128, 8, 64, 32, 2, 8, 4, 256),
    "64x128x16_w32x64_t128": (64, 128, 16, 32, 64, 2, 8, 4, 128),
    "128x128x32_w64x64_t128": (128, 128, 32, 64, 64, 4, 8, 4, 128),
}
WARPTILE_DEFAULT = "128x128x16_w64x32_t256"
#: step 8: a BM x BN block tile of THREADS / 32 warps, each owning a WARP_M x WARP_N piece
WMMA = {"BM": 128, "BN": 128, "WARP_M": 64, "WARP_N": 32, "THREADS": 256}
WMMA_ELEMENTS = ("float", "__nv_bfloat16")

#: common.cuh's LoadMode enumerators, passed to the templates by name (their values live in common.cuh)
LOAD_T_CONTIG, LOAD_K_CONTIG = "LOAD_T_CONTIG", "LOAD_K_CONTIG"
LOAD_MODES = (LOAD_T_CONTIG, LOAD_K_CONTIG)


def _instance(name: str, *args: object) -> str:
    """The NVRTC name expression of ``matmul_<name>`` with these template arguments."""
    return f"matmul_{name}<{','.join(map(str, args))}>"


def _mode_instances(name: str, shape: tuple[int, ...]) -> list[str]:
    """The four instances of a kernel templated on a tile shape and then (MODE_A, MODE_B)."""
    return [_instance(name, *shape, a, b) for a in LOAD_MODES for b in LOAD_MODES]


def _wmma_instances(element: str) -> list[str]:
    """The four instances of wmma.cu for one element type: (A_KCONTIG, B_NCONTIG) in {true, false}²."""
    return [_instance("wmma", element, *WMMA.values(), a, b) for a in ("true", "false") for b in ("true", "false")]


def instances(file: str) -> list[str]:
    """Every template instance of ``file`` (a .cu in ``cuda/``) that the launchers can ask NVRTC for.

    Files of extern "C" kernels have none. The nvcc compile test builds exactly these.
    """
    per_file = {
        "smem_tiled.cu": [_instance("smem_tiled", *SMEM_TILED.values())],
        "blocktile_1d.cu": [_instance("blocktile_1d", *BLOCKTILE_1D.values())],
        "blocktile_2d.cu": [_instance("blocktile_2d", *BLOCKTILE_2D.values())],
        "vectorized.cu": _mode_instances("vectorized", tuple(VECTORIZED.values())),
        "warptile.cu": [x for shape in WARPTILE_CONFIGS.values() for x in _mode_instances("warptile", shape)],
        "wmma.cu": [x for element in WMMA_ELEMENTS for x in _wmma_instances(element)],
    }
    return per_file.get(file, [])


def _as_batched(a: Any, b: Any) -> tuple[Any, Any, int]:
    """3-D views of both operands (a 2-D operand gets batch stride 0) and the batch."""
    import cupy

    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise ValueError(f"matmul(cuda): expected 2-D or 3-D operands, got {a.shape} and {b.shape}")
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    a3 = a if a.ndim == 3 else cupy.broadcast_to(a, (batch, *a.shape))
    b3 = b if b.ndim == 3 else cupy.broadcast_to(b, (batch, *b.shape))
    if a3.shape[0] != batch or b3.shape[0] != batch or a3.shape[2] != b3.shape[1]:
        raise ValueError(f"matmul(cuda): shapes {a.shape} and {b.shape} cannot be multiplied")
    return a3, b3, batch


def _strides(x: Any) -> tuple[int, int, int]:
    """Element strides (batch, row, col); a dim of size 1 reports stride 1 (it is never stepped)."""
    return tuple(1 if n == 1 else s // x.itemsize for n, s in zip(x.shape, x.strides, strict=True))


def _output(a3: Any, b3: Any, batch: int, a: Any, b: Any) -> Any:
    import cupy

    shape = (batch, a3.shape[1], b3.shape[2]) if max(a.ndim, b.ndim) == 3 else (a3.shape[1], b3.shape[2])
    return cupy.empty(shape, dtype=cupy.float32)


def _check_float32(name: str, a: Any, b: Any) -> None:
    if a.dtype != "float32" or b.dtype != "float32":
        raise TypeError(f"matmul(cuda, {name}): expects float32 operands, got {a.dtype} and {b.dtype}")


def _launch_simple(
    name: str, block: tuple[int, int], tile: tuple[int, int], swap: bool, a: Any, b: Any, template: dict | None = None
) -> Any:
    """Steps 1-5: any strides. ``tile`` is the (rows, cols) of C one block covers.

    ``template`` holds the kernel's template arguments (steps 3-5); steps 1-2 are extern "C".
    """
    _check_float32(name, a, b)
    a3, b3, batch = _as_batched(a, b)
    m, k = a3.shape[1:]
    n = b3.shape[2]
    c = _output(a3, b3, batch, a, b)
    if c.size == 0:
        return c
    if k == 0:
        c.fill(0)
        return c
    rows, cols = tile
    grid = (ceil_div(m, rows), ceil_div(n, cols), batch) if swap else (ceil_div(n, cols), ceil_div(m, rows), batch)
    if template is None:
        fn = kernel(SOURCES / f"{name}.cu", f"matmul_{name}")
    else:
        instance = _instance(name, *template.values())
        fn = kernel(SOURCES / f"{name}.cu", instance, [instance])
    fn(grid, block, (a3, b3, c, *_int32(m, n, k), *_int64(*_strides(a3), *_strides(b3))))
    return c


def _int32(*values: int) -> list[Any]:
    import numpy as np

    return [np.int32(v) for v in values]


def _int64(*values: int) -> list[Any]:
    import numpy as np

    return [np.int64(v) for v in values]


def _layout(x: Any, vec: int) -> tuple[Any, bool, int, bool]:
    """How a 3-D operand (batch, rows, cols) is read by steps 6-8.

    Returns (array, row_major, leading_dim, vector_ok): row_major when the
    columns are contiguous (else the rows are, i.e. a transposed view); the
    leading dim is the other stride; vector_ok when 16-byte loads are aligned.
    An operand with neither dim contiguous is copied to C order once.
    """
    import cupy

    sb, s1, s2 = _strides(x)
    if s1 != 1 and s2 != 1:
        x = cupy.ascontiguousarray(x)
        sb, s1, s2 = _strides(x)
    row_major = s2 == 1
    lead = s1 if row_major else s2
    vector_ok = x.data.ptr % 16 == 0 and lead % vec == 0 and sb % vec == 0
    return x, row_major, lead, vector_ok


def _launch_tiled_vec(name: str, a: Any, b: Any, shape: dict[str, int]) -> Any:
    """Steps 6-7: templated on the tile ``shape`` (BM, BN, ..., THREADS), then on each operand's contiguous dim."""
    _check_float32(name, a, b)
    a3, b3, batch = _as_batched(a, b)
    c = _output(a3, b3, batch, a, b)
    m, k = a3.shape[1:]
    n = b3.shape[2]
    if c.size == 0:
        return c
    if k == 0:
        c.fill(0)
        return c
    a3, a_kcontig, _, vec_a = _layout(a3, 4)
    b3, b_ncontig, _, vec_b = _layout(b3, 4)
    # A is read as X(k, t=m): contiguous along k is LOAD_K_CONTIG; B as X(k, t=n): along n is LOAD_T_CONTIG.
    mode_a = LOAD_K_CONTIG if a_kcontig else LOAD_T_CONTIG
    mode_b = LOAD_T_CONTIG if b_ncontig else LOAD_K_CONTIG
    values = tuple(shape.values())
    fn = kernel(SOURCES / f"{name}.cu", _instance(name, *values, mode_a, mode_b), _mode_instances(name, values))
    grid = (ceil_div(n, shape["BN"]), ceil_div(m, shape["BM"]), batch)
    args = (a3, b3, c, *_int32(m, n, k), *_int64(*_strides(a3), *_strides(b3)), *_int32(vec_a, vec_b))
    fn(grid, (shape["THREADS"],), args)
    return c


def warptile_with(config_name: str, a: Any, b: Any) -> Any:
    """Step 7 with a named tile shape from WARPTILE_CONFIGS (for the tuning sweep)."""
    return _launch_tiled_vec("warptile", a, b, dict(zip(WARPTILE_PARAMS, WARPTILE_CONFIGS[config_name], strict=True)))


def _launch_wmma(element: str, a: Any, b: Any) -> Any:
    """Step 8: tensor cores. ``element`` is "float" (TF32 math) or "__nv_bfloat16" (uint16 bit storage)."""
    want = "float32" if element == "float" else "uint16"
    if a.dtype != want or b.dtype != want:
        raise TypeError(f"matmul(cuda, wmma): expects {want} operands, got {a.dtype} and {b.dtype}")
    a3, b3, batch = _as_batched(a, b)
    m, k = a3.shape[1:]
    n = b3.shape[2]
    c = _output(a3, b3, batch, a, b)
    if c.size == 0:
        return c
    if k == 0:
        c.fill(0)
        return c
    vec = 16 // a.itemsize
    a3, a_kcontig, lda, vec_a = _layout(a3, vec)
    b3, b_ncontig, ldb, vec_b = _layout(b3, vec)
    name = _instance("wmma", element, *WMMA.values(), str(a_kcontig).lower(), str(b_ncontig).lower())
    fn = kernel(SOURCES / "wmma.cu", name, _wmma_instances(element))
    grid = (ceil_div(n, WMMA["BN"]), ceil_div(m, WMMA["BM"]), batch)
    args = (a3, b3, c, *_int32(m, n, k), *_int64(_strides(a3)[0], lda, _strides(b3)[0], ldb), *_int32(vec_a, vec_b))
    fn(grid, (WMMA["THREADS"],), args)
    return c


F32 = ("float32",)


@register("matmul", "cuda", "naive", "1. one thread per output; warps walk rows (uncoalesced)", dtypes=F32)
def naive(a: Any, b: Any) -> Any:
    return _launch_simple("naive", (16, 16), (16, 16), True, a, b)


@register("matmul", "cuda", "coalesced", "2. warp threads own consecutive columns (coalesced)", dtypes=F32)
def coalesced(a: Any, b: Any) -> Any:
    return _launch_simple("coalesced", (32, 8), (8, 32), False, a, b)


@register(
    "matmul",
    "cuda",
    "smem_tiled",
    f"3. {SMEM_TILED['TILE']}x{SMEM_TILED['TILE']} tiles staged in shared memory",
    dtypes=F32,
)
def smem_tiled(a: Any, b: Any) -> Any:
    tile = SMEM_TILED["TILE"]
    return _launch_simple("smem_tiled", (tile, tile), (tile, tile), False, a, b, SMEM_TILED)


@register(
    "matmul", "cuda", "blocktile_1d", f"4. 1-D register blocking, {BLOCKTILE_1D['TM']} outputs per thread", dtypes=F32
)
def blocktile_1d(a: Any, b: Any) -> Any:
    shape = BLOCKTILE_1D
    return _launch_simple("blocktile_1d", (shape["THREADS"], 1), (shape["BM"], shape["BN"]), False, a, b, shape)


@register(
    "matmul",
    "cuda",
    "blocktile_2d",
    f"5. 2-D register blocking, {BLOCKTILE_2D['TM']}x{BLOCKTILE_2D['TN']} outputs per thread",
    dtypes=F32,
)
def blocktile_2d(a: Any, b: Any) -> Any:
    shape = BLOCKTILE_2D
    return _launch_simple("blocktile_2d", (shape["THREADS"], 1), (shape["BM"], shape["BN"]), False, a, b, shape)


@register("matmul", "cuda", "vectorized", "6. float4 global/shared loads, no copies for transposes", dtypes=F32)
def vectorized(a: Any, b: Any) -> Any:
    return _launch_tiled_vec("vectorized", a, b, VECTORIZED)


@register("matmul", "cuda", "warptile", "7. block/warp/thread tiling tuned for sm_90", dtypes=F32)
def warptile(a: Any, b: Any) -> Any:
    return warptile_with(WARPTILE_DEFAULT, a, b)


@register(
    "matmul",
    "cuda",
    "wmma_tf32",
    "8. tensor cores (TF32 in, FP32 acc), cp.async double buffer",
    dtypes=F32,
    tolerance=5e-3,  # TF32 keeps 10 mantissa bits: ~1e-3 relative error per product
)
def wmma_tf32(a: Any, b: Any) -> Any:
    return _launch_wmma("float", a, b)


@register(
    "matmul", "cuda", "wmma_bf16", "8. tensor cores (bf16 bits in uint16, FP32 acc), cp.async", dtypes=("bfloat16",)
)
def wmma_bf16(a: Any, b: Any) -> Any:
    return _launch_wmma("__nv_bfloat16", a, b)
