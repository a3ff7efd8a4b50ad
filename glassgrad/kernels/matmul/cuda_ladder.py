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
9     mma_tf32/bf16/   inline-PTX mma.sync + ldmatrix, 4-stage cp.async,
      fp16 (+splitk)   XOR-swizzled shared memory, fused epilogue
====  ===============  ==================================================

bfloat16 arrives in two forms. The lab's cases and benchmarks (spec.py) hold bf16 as its bit
patterns in uint16 arrays (kernels/cuda/bfloat16.py); a bf16 variant takes those and returns the
FP32 accumulators. The engine's bfloat16 is ``ml_dtypes.bfloat16`` (CuPy >= 14 holds it); the
step-9 variants take such arrays too (read as their uint16 bits, no copy) and return bfloat16,
rounded once from the FP32 sum, as PyTorch's bf16 matmul does. Step 8's ``wmma_bf16`` takes the
bit form only. float16 is a real NumPy/CuPy dtype: float16 in, float16 out.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from ...engine import dtypes
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
#: step 9 (mma_sync.cu): template parameters in order, the block tiles, and the instances built.
#: Each tile is 4 warps (128x128) or 8 warps (128x256) of 64x64 warp tiles; BK gives 64-byte rows of k.
MMA_SYNC_PARAMS = ("ELEM", "BM", "BN", "BK", "WM", "WN", "STAGES", "THREADS", "A_KCONTIG", "B_NCONTIG")
MMA_SYNC_TILES = {
    "128x128": {"BM": 128, "BN": 128, "WM": 64, "WN": 64, "STAGES": 4, "THREADS": 128},
    "128x256": {"BM": 128, "BN": 256, "WM": 64, "WN": 64, "STAGES": 4, "THREADS": 256},
}
#: element -> (mma_sync.cu's MmaElement enumerator, BK, bytes per stored element)
MMA_SYNC_ELEMENTS = {"tf32": ("MMA_TF32", 16, 4), "bf16": ("MMA_BF16", 32, 2), "fp16": ("MMA_FP16", 32, 2)}
#: (element, tile) -> the (A_KCONTIG, B_NCONTIG) layouts instantiated (each instance costs CI compile
#: time): TF32 and BF16 128x128 read every layout as strides; FP16 takes a row-major A (its other
#: layouts copy A once, k-contiguous); 128x256 (BF16) only row-major A and B.
_EVERY_LAYOUT = ((True, True), (True, False), (False, True), (False, False))
MMA_SYNC_LAYOUTS = {
    ("tf32", "128x128"): _EVERY_LAYOUT,
    ("bf16", "128x128"): _EVERY_LAYOUT,
    ("fp16", "128x128"): ((True, True), (True, False)),
    ("bf16", "128x256"): ((True, True),),
}
#: the files that hold mma_sync.cu's enumerators (MmaElement, MmaActivation)
MMA_SYNC_ENUM_FILES = ("mma_sync_ptx.cuh", "mma_sync.cu")
#: the largest dynamic shared memory a block may opt into: sm_80 (A100) 163 KB, sm_90 (H100/H200) 227 KB
MAX_DYNAMIC_SMEM = {"sm_80": 163 * 1024, "sm_90": 227 * 1024}

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


def _mma_sync_instance(element: str, tile: str, a_kcontig: bool, b_ncontig: bool) -> str:
    enum, bk, _ = MMA_SYNC_ELEMENTS[element]
    t = MMA_SYNC_TILES[tile]
    values = (enum, t["BM"], t["BN"], bk, t["WM"], t["WN"], t["STAGES"], t["THREADS"], a_kcontig, b_ncontig)
    return _instance("mma_sync", *(str(v).lower() if isinstance(v, bool) else v for v in values))


def _mma_sync_instances() -> list[str]:
    """Every GEMM instance of mma_sync.cu, then the split-K reduce kernel of each element type."""
    gemms = [
        _mma_sync_instance(e, tile, *layout) for (e, tile), layouts in MMA_SYNC_LAYOUTS.items() for layout in layouts
    ]
    return gemms + [_instance("mma_sync_reduce", enum) for enum, _, _ in MMA_SYNC_ELEMENTS.values()]


def mma_sync_smem_bytes(element: str, tile: str) -> int:
    """Dynamic shared memory of one block: STAGES copies of the A and B tiles (the epilogue's strips fit inside)."""
    _, bk, size = MMA_SYNC_ELEMENTS[element]
    t = MMA_SYNC_TILES[tile]
    pipeline = t["STAGES"] * (t["BM"] + t["BN"]) * bk * size
    strips = (t["THREADS"] // 32) * 16 * (t["WN"] + 8) * 4  # LDS = WN + 8 floats per strip row
    return max(pipeline, strips)


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
        "mma_sync.cu": _mma_sync_instances(),
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
    # a dim of size 1 is never stepped, so its stride (reported as 1) cannot misalign a load
    lead_ok = lead % vec == 0 or x.shape[1 if row_major else 2] == 1
    vector_ok = x.data.ptr % 16 == 0 and lead_ok and (sb % vec == 0 or x.shape[0] == 1)
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
    """Step 8: tensor cores. ``element`` is "float" (TF32 math) or "__nv_bfloat16" (bf16 storage).

    bf16 operands are uint16 bit patterns or ml_dtypes.bfloat16 arrays (read as their bits);
    the result is FP32, rounded to bfloat16 when the operands were bfloat16 arrays.
    """
    want = "float32" if element == "float" else "uint16"
    rounded = element != "float" and str(a.dtype) == "bfloat16" == str(b.dtype)
    if rounded:
        a, b = _bits(a), _bits(b)
    if a.dtype != want or b.dtype != want:
        wanted = want if element == "float" else "bfloat16 (or its uint16 bits)"
        raise TypeError(f"matmul(cuda, wmma): expects {wanted} operands, got {a.dtype} and {b.dtype}")
    a3, b3, batch = _as_batched(a, b)
    m, k = a3.shape[1:]
    n = b3.shape[2]
    c = _output(a3, b3, batch, a, b)
    if c.size == 0 or k == 0:
        c.fill(0)
        return c.astype(_BFLOAT16) if rounded else c
    vec = 16 // a.itemsize
    a3, a_kcontig, lda, vec_a = _layout(a3, vec)
    b3, b_ncontig, ldb, vec_b = _layout(b3, vec)
    name = _instance("wmma", element, *WMMA.values(), str(a_kcontig).lower(), str(b_ncontig).lower())
    fn = kernel(SOURCES / "wmma.cu", name, _wmma_instances(element))
    grid = (ceil_div(n, WMMA["BN"]), ceil_div(m, WMMA["BM"]), batch)
    args = (a3, b3, c, *_int32(m, n, k), *_int64(_strides(a3)[0], lda, _strides(b3)[0], ldb), *_int32(vec_a, vec_b))
    fn(grid, (WMMA["THREADS"],), args)
    return c.astype(_BFLOAT16) if rounded else c


#: ml_dtypes' bfloat16, the engine's bfloat16 dtype
_BFLOAT16 = dtypes.bfloat16


def _bits(x: Any) -> Any:
    """A bfloat16 or float16 array as its 16-bit patterns (a view, any strides)."""
    import numpy as np

    return x.view(np.uint16)


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
    "matmul",
    "cuda",
    "wmma_bf16",
    "8. tensor cores (bf16: ml_dtypes.bfloat16 or its uint16 bits; FP32 acc), cp.async",
    dtypes=("bfloat16",),
)
def wmma_bf16(a: Any, b: Any) -> Any:
    return _launch_wmma("__nv_bfloat16", a, b)


# ---- step 9: mma.sync ---------------------------------------------------------------------------------------

#: activation name (None, or F.gelu's approximate="none"/"tanh" and relu) -> mma_sync.cu's MmaActivation name
ACTIVATIONS = {
    None: "ACT_NONE",
    "identity": "ACT_NONE",
    "relu": "ACT_RELU",
    "gelu": "ACT_GELU_ERF",
    "gelu_tanh": "ACT_GELU_TANH",
}
#: an absent pointer argument: 8 zero bytes by value (older CuPy releases mishandle None)
_NULL = 0


@functools.cache
def _enum_values(*files: str) -> dict[str, int]:
    """The enumerator values written in ``files`` (``NAME = 3``): the one place they are written."""
    text = "".join((SOURCES / file).read_text(encoding="utf-8") for file in files)
    return {name: int(value) for name, value in re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=\s*(\d+)\s*[,}]", text)}


_SM_COUNT: dict[str, int] = {}


def _sm_count() -> int:
    """Multiprocessors of the current GPU, read once (132, an H100/H200 SXM's, while CuPy cannot say)."""
    if "sm" not in _SM_COUNT:
        try:
            import cupy

            _SM_COUNT["sm"] = int(cupy.cuda.Device().attributes["MultiProcessorCount"])
        except Exception:  # no GPU (the launcher tests run on fake CuPy): not remembered
            return 132
    return _SM_COUNT["sm"]


def _element(a: Any, b: Any, name: str) -> tuple[str, Any, Any, str]:
    """(element, A, B, output dtype name) for step 9: float32 -> TF32, float16 -> FP16, bfloat16 or its
    uint16 bits -> BF16 (bits give the FP32 result; bfloat16 and float16 give their own dtype)."""
    da, db = str(a.dtype), str(b.dtype)
    if da != db:
        raise TypeError(f"matmul(cuda, {name}): operands must share a dtype, got {da} and {db}")
    if da == "float32":
        return "tf32", a, b, "float32"
    if da == "uint16":
        return "bf16", a, b, "float32"
    if da == "bfloat16":
        return "bf16", _bits(a), _bits(b), "bfloat16"
    if da == "float16":
        return "fp16", _bits(a), _bits(b), "float16"
    raise TypeError(f"matmul(cuda, {name}): expects float32, bfloat16 (or its uint16 bits) or float16, got {da}")


def choose_splits(m: int, n: int, k: int, batch: int, tile: str, element: str) -> int:
    """Split-K factor that fills the GPU when the M x N grid alone is too small for it.

    splits = ceil(SMs / blocks) when the grid has fewer blocks than SMs, capped so that each split
    keeps at least 4 K tiles, and at 16; 1 when the grid already fills the SMs.
    """
    t, bk = MMA_SYNC_TILES[tile], MMA_SYNC_ELEMENTS[element][1]
    blocks = ceil_div(m, t["BM"]) * ceil_div(n, t["BN"]) * batch
    k_tiles = ceil_div(k, bk)
    if blocks >= _sm_count():
        return 1
    return max(1, min(ceil_div(_sm_count(), blocks), k_tiles // 4, 16))


def _pick_tile(element: str, a_kcontig: bool, b_ncontig: bool, m: int, n: int, batch: int) -> str:
    """128x256 where it is built and the grid still has a block per SM; else 128x128."""
    wide = (element, "128x256")
    if wide in MMA_SYNC_LAYOUTS and (a_kcontig, b_ncontig) in MMA_SYNC_LAYOUTS[wide]:
        if ceil_div(m, 128) * ceil_div(n, 256) * batch >= _sm_count():
            return "128x256"
    return "128x128"


def _aligned(x: Any, vec: int) -> tuple[Any, bool, int]:
    """(array, row_major, leading dim) of a 3-D operand for step 9, whose 16-byte cp.async copies need
    the base, the leading dim and the batch stride to be multiples of ``vec`` elements (16 bytes).

    Strides that already are (a transposed view included) are read as they are; otherwise the
    operand is copied once, in its own orientation, into a buffer whose leading dim is rounded up.
    """
    import cupy

    x, row_major, lead, ok = _layout(x, vec)
    if ok:
        return x, row_major, lead
    stored = x if row_major else x.swapaxes(1, 2)  # (batch, rows, cols), cols contiguous
    batch, rows, cols = stored.shape
    padded = cupy.zeros((batch, rows, ceil_div(cols, vec) * vec), dtype=x.dtype)
    padded[:, :, :cols] = stored
    view = padded[:, :, :cols]
    return (view if row_major else view.swapaxes(1, 2)), row_major, padded.shape[2]


_opted_in: dict[int, int] = {}  # CUfunction handle -> the dynamic shared memory it was allowed


def mma_sync_matmul(
    a: Any,
    b: Any,
    *,
    bias: Any = None,
    activation: str | None = None,
    residual: Any = None,
    splits: int | None = 1,
    tile: str | None = None,
    name: str = "mma_sync",
) -> Any:
    """Step 9: C = act(A @ B + bias) + residual on the tensor cores (mma.sync), FP32 accumulation.

    ``splits``: split-K factor (None: ``choose_splits``); ``tile``: "128x128" or "128x256" (None:
    ``_pick_tile``). The output has the operands' dtype (FP32 for bf16 bits); ``residual`` must have
    the output's dtype and broadcast to its shape; ``bias`` has N elements (read as float32).
    """
    import cupy
    import numpy as np

    if activation not in ACTIVATIONS:
        raise ValueError(f"matmul(cuda, {name}): activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
    element, a, b, out_dtype = _element(a, b, name)
    a3, b3, batch = _as_batched(a, b)
    m, k = a3.shape[1:]
    n = b3.shape[2]
    shape = (batch, m, n) if max(a.ndim, b.ndim) == 3 else (m, n)
    out_low = out_dtype != "float32"
    c = cupy.empty(shape, dtype=np.dtype(dtypes.to_dtype(out_dtype)))
    if bias is not None:
        if bias.shape != (n,):
            raise ValueError(f"matmul(cuda, {name}): bias must have shape ({n},), got {tuple(bias.shape)}")
        bias = cupy.ascontiguousarray(bias, dtype=np.float32)
    if residual is not None:
        if str(residual.dtype) != str(c.dtype):
            raise TypeError(f"matmul(cuda, {name}): residual must be {c.dtype} like the output, got {residual.dtype}")
        residual = cupy.ascontiguousarray(cupy.broadcast_to(residual, shape))
        if out_low:
            residual = _bits(residual)
    if c.size == 0:
        return c
    store = _bits(c) if out_low else c
    vec = 16 // a.itemsize
    a3, a_kcontig, lda = _aligned(a3, vec)
    b3, b_ncontig, ldb = _aligned(b3, vec)
    if (a_kcontig, b_ncontig) not in MMA_SYNC_LAYOUTS[(element, "128x128")]:  # FP16: A copied, k-contiguous
        a3, a_kcontig, lda = _aligned(cupy.ascontiguousarray(a3), vec)
    tile = tile or _pick_tile(element, a_kcontig, b_ncontig, m, n, batch)
    if (a_kcontig, b_ncontig) not in MMA_SYNC_LAYOUTS.get((element, tile), ()):
        raise ValueError(f"matmul(cuda, {name}): no {element} {tile} instance for this layout")
    splits = (
        choose_splits(m, n, k, batch, tile, element)
        if splits is None
        else max(1, min(splits, ceil_div(k, MMA_SYNC_ELEMENTS[element][1])))
    )
    enums = _enum_values(*MMA_SYNC_ENUM_FILES)
    t = MMA_SYNC_TILES[tile]
    smem = mma_sync_smem_bytes(element, tile)
    instance = _mma_sync_instance(element, tile, a_kcontig, b_ncontig)
    fn = kernel(SOURCES / "mma_sync.cu", instance, _mma_sync_instances())
    handle = getattr(fn, "ptr", id(fn))  # the CUfunction: the attribute lives with it
    if _opted_in.get(handle, 0) < smem:  # past 48 KB a block must opt in (cudaFuncSetAttribute)
        fn.max_dynamic_shared_size_bytes = smem
        _opted_in[handle] = smem
    partial = cupy.empty((splits, c.size), dtype=np.float32) if splits > 1 else None
    bias_arg, residual_arg = (np.uint64(_NULL) if x is None else x for x in (bias, residual))
    epilogue = (bias_arg, residual_arg, np.int32(enums[ACTIVATIONS[activation]]), np.int32(out_low))
    grid = (ceil_div(n, t["BN"]), ceil_div(m, t["BM"]), batch * splits)
    strides = _int64(_strides(a3)[0], lda, _strides(b3)[0], ldb)
    workspace = np.uint64(_NULL) if partial is None else partial
    args = (a3, b3, store, *_int32(m, n, k), *strides, *epilogue, np.int32(splits), workspace)
    fn(grid, (t["THREADS"],), args, shared_mem=smem)
    if splits > 1:
        enum = MMA_SYNC_ELEMENTS[element][0]
        reduce = kernel(SOURCES / "mma_sync.cu", _instance("mma_sync_reduce", enum), _mma_sync_instances())
        threads = 256
        blocks = min(ceil_div(c.size, threads), 8 * _sm_count())
        reduce((blocks,), (threads,), (partial, store, np.int64(c.size), np.int32(n), np.int32(splits), *epilogue))
    return c


def _mma_variant(element: str, split_k: bool) -> Any:
    """The registered function of step 9 for ``element``: without split-K, or with ``choose_splits``."""
    name = f"mma_{element}{'_splitk' if split_k else ''}"

    def run(a: Any, b: Any) -> Any:
        if _element(a, b, name)[0] != element:
            raise TypeError(f"matmul(cuda, {name}): expects {MMA_DTYPES[element][0]} operands, got {a.dtype}")
        return mma_sync_matmul(a, b, splits=None if split_k else 1, name=name)

    run.__name__ = run.__qualname__ = name
    return run


#: element -> the registry dtypes of its variants
MMA_DTYPES = {"tf32": F32, "bf16": ("bfloat16",), "fp16": ("float16",)}
#: relative tolerance against the FP32 reference: TF32 and FP16 keep 10 mantissa bits, bf16 the spec's 3e-2
MMA_TOLERANCE = {"tf32": 5e-3, "bf16": None, "fp16": 5e-3}
_MMA_WHAT = {
    "tf32": "float32 rounded to TF32, m16n8k8",
    "bf16": "bf16 (ml_dtypes.bfloat16 or its uint16 bits), m16n8k16",
    "fp16": "float16, m16n8k16",
}
for _element_name in MMA_SYNC_ELEMENTS:
    for _split in (False, True):
        _fn = _mma_variant(_element_name, _split)
        _how = (
            "split-K over the SMs, FP32 partials + reduce kernel" if _split else "ldmatrix, 4-stage cp.async, swizzle"
        )
        register(
            "matmul",
            "cuda",
            _fn.__name__,
            f"9. mma.sync tensor cores ({_MMA_WHAT[_element_name]}; FP32 acc), {_how}",
            dtypes=MMA_DTYPES[_element_name],
            tolerance=MMA_TOLERANCE[_element_name],
        )(_fn)
