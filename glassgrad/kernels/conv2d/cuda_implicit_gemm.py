"""conv2d, its input gradient and its weight gradient as implicit GEMMs in CUDA C (cuda/*.cu).

The operand loader computes im2col addresses on the fly (cuda/implicit_gemm.cuh has the index
math), so no column buffer is built. Per group, with x (N, C, H, W), weight (K, C/G, R, S) and
y (N, K, P, Q):

    forward        y  = A · B   A(m=(n,p,q), k=(c,r,s)) = x at (p·s − pad + r·d, ...),  B = weight
    input grad     dx = A · B   A(m=(n,h,w), k=(k_out,r,s)) = dy at ((h + pad − r·d)/s, ...) when exact,
                                B = weight: its own implicit GEMM over dy (a gather), not a scatter
    weight grad    dW = A · B   A(k_out, k=(n,p,q)) = dy, B(k=(n,p,q), (c,r,s)) = x; the N·P·Q
                                reduction is split (split-K) into fp32 slabs summed by a second kernel

Variants (each registered for the three ops on cuda, none the default: not yet run on a GPU):
``implicit_gemm_simt`` (FP32 FFMA, 2-D register blocking), ``implicit_gemm_tf32`` (mma.sync
m16n8k8 TF32 on float32 storage, ldmatrix, cp.async double buffering) and ``implicit_gemm_bf16``
(mma.sync m16n8k16 on bfloat16 storage: uint16 bit arrays as in kernels/cuda/bfloat16.py, as the
matmul ladder's wmma_bf16 takes them). Results are float32 NCHW-contiguous arrays.

Layouts: every tensor is read through its strides, so any strides are correct without a copy; a
channels_last input (NCHW shape, NHWC strides) additionally gets the kernel instance whose loader
walks channels fastest (``layout_of``). Tile shapes are written once, here (template arguments).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ...engine import backend
from ..cuda.compile import ceil_div, kernel
from ..registry import register
from .gemm import check_grad_output
from .geometry import ConvGeometry

SOURCES = Path(__file__).parent / "cuda"

#: SIMT: a BM x BN block tile, BK deep, each of THREADS = (BM/TM)·(BN/TN) threads owning TM x TN outputs
SIMT = {"BM": 128, "BN": 64, "BK": 8, "TM": 8, "TN": 4, "THREADS": 256}
#: tensor cores: a BM x BN block tile of THREADS/32 warps, each owning a WM x WN piece (the .cu derives BK)
MMA = {"BM": 128, "BN": 64, "WM": 32, "WN": 32, "THREADS": 256}
MMA_ELEMENTS = {"tf32": "float", "bf16": "bf16_bits"}
#: implicit_gemm.cuh's enumerators, passed by name
OPS = {"conv2d": "CONV_FPROP", "conv2d_grad_input": "CONV_DGRAD", "conv2d_grad_weight": "CONV_WGRAD"}
LAYOUTS = ("LAYOUT_NCHW", "LAYOUT_NHWC")
#: the kernels' integer arguments, in implicit_gemm.cuh's CONV_INT_ARGS order
PARAM_NAMES = (
    *("N", "C", "H", "W", "K", "R", "S", "P", "Q", "G", "sh", "sw", "ph", "pw", "dh", "dw"),
    *("xn", "xc", "xh", "xw", "wk", "wc", "wr", "ws", "yn", "yk", "yp", "yq", "k_per_split"),
)
#: a split-K slice's reduction length is a multiple of this (whole k-tiles of every variant)
SPLIT_K_GRANULE = 32
#: split-K aims at this many blocks per multiprocessor, and gives each slice at least MIN_SLICE of the reduction
SPLIT_K_WAVES, SPLIT_K_MIN_SLICE, SPLIT_K_MAX = 2, 256, 64
REDUCE_THREADS = 256
INT32_MAX = 2**31 - 1


def _simt_instance(op: str, layout: str) -> str:
    return f"conv2d_implicit_gemm_simt<{op},{layout},{','.join(map(str, SIMT.values()))}>"


def _mma_instance(element: str, op: str, layout: str) -> str:
    return f"conv2d_implicit_gemm_mma<{element},{op},{layout},{','.join(map(str, MMA.values()))}>"


def instances(file: str) -> list[str]:
    """Every template instance of ``file`` (a .cu in ``cuda/``) the launchers ask NVRTC for (none: extern "C")."""
    if file == "implicit_gemm_simt.cu":
        return [_simt_instance(op, layout) for op in OPS.values() for layout in LAYOUTS]
    if file == "implicit_gemm_mma.cu":
        return [
            _mma_instance(e, op, layout) for e in MMA_ELEMENTS.values() for op in OPS.values() for layout in LAYOUTS
        ]
    return []


def element_strides(a: Any) -> tuple[int, ...]:
    """Strides in elements (CuPy and NumPy report bytes)."""
    return tuple(s // a.itemsize for s in a.strides)


def layout_of(a: Any) -> str:
    """LAYOUT_NHWC when an (N, C, H, W) array's channels are its contiguous dim (channels_last), else NCHW."""
    _, c, _, w = a.shape
    s_n, s_c, s_h, s_w = element_strides(a)
    return "LAYOUT_NHWC" if c > 1 and s_c == 1 and (w == 1 or s_w != 1) else "LAYOUT_NCHW"


def _check_int32(op: str, *arrays: Any) -> None:
    """The kernels address elements with 32-bit offsets."""
    for a in arrays:
        reach = sum((n - 1) * abs(s) for n, s in zip(a.shape, element_strides(a), strict=True))
        if reach > INT32_MAX:
            raise ValueError(f"{op}(cuda, implicit_gemm): array {a.shape} spans {reach} elements, over 2**31 - 1")


def conv_params(
    geometry: ConvGeometry, x_strides: tuple, w_strides: tuple, y_strides: tuple, k_per_split: int
) -> tuple[int, ...]:
    """The kernels' integer arguments (PARAM_NAMES order) for this geometry and these element strides."""
    g = geometry
    return (
        *(g.batch, g.in_channels, g.height, g.width, g.out_channels, *g.kernel, g.out_height, g.out_width, g.groups),
        *(*g.stride, *g.padding, *g.dilation),
        *x_strides,
        *w_strides,
        *y_strides,
        k_per_split,
    )


def gemm_shape(op: str, g: ConvGeometry) -> tuple[int, int, int]:
    """(rows M, columns N, reduction K) of one group's GEMM (the table in implicit_gemm.cuh)."""
    cg, kg = g.in_channels // g.groups, g.out_channels // g.groups
    taps = g.kernel[0] * g.kernel[1]
    if op == "conv2d":
        return g.batch * g.positions, kg, cg * taps
    if op == "conv2d_grad_input":
        return g.batch * g.height * g.width, cg, kg * taps
    return kg, cg * taps, g.batch * g.positions


def split_k(depth: int, blocks: int, multiprocessors: int) -> tuple[int, int]:
    """(splits, reduction length per split) for a wgrad GEMM of ``blocks`` output tiles.

    Enough slices that the grid fills SPLIT_K_WAVES blocks per multiprocessor, each slice at least
    SPLIT_K_MIN_SLICE long and a multiple of SPLIT_K_GRANULE; every slice is non-empty.
    """
    if depth <= 0:
        return 1, 0
    wanted = ceil_div(SPLIT_K_WAVES * multiprocessors, max(blocks, 1))
    splits = max(1, min(wanted, depth // SPLIT_K_MIN_SLICE, SPLIT_K_MAX))
    per_split = ceil_div(ceil_div(depth, splits), SPLIT_K_GRANULE) * SPLIT_K_GRANULE
    return ceil_div(depth, per_split), per_split


def _multiprocessors() -> int:
    import cupy

    return int(cupy.cuda.Device().attributes["MultiProcessorCount"])


def _tile(variant: str) -> tuple[int, int, int]:
    """(BM, BN, THREADS) of a variant."""
    shape = SIMT if variant == "simt" else MMA
    return shape["BM"], shape["BN"], shape["THREADS"]


def _kernel_for(variant: str, op: str, layout: str) -> Any:
    if variant == "simt":
        return kernel(
            SOURCES / "implicit_gemm_simt.cu", _simt_instance(OPS[op], layout), instances("implicit_gemm_simt.cu")
        )
    name = _mma_instance(MMA_ELEMENTS[variant], OPS[op], layout)
    return kernel(SOURCES / "implicit_gemm_mma.cu", name, instances("implicit_gemm_mma.cu"))


def _check_storage(op: str, variant: str, *arrays: Any) -> None:
    want = "uint16" if variant == "bf16" else "float32"
    if any(str(a.dtype) != want for a in arrays if a is not None):
        shown = ", ".join(f"{a.shape}:{a.dtype}" for a in arrays if a is not None)
        what = "uint16 arrays of bfloat16 bits" if variant == "bf16" else "float32 arrays"
        raise TypeError(f"{op}(cuda, implicit_gemm_{variant}): expects {what}, got {shown}")


def launch_gemm(
    variant: str,
    op: str,
    g: ConvGeometry,
    a_src: Any,
    b_src: Any,
    out: Any,
    strides: tuple[tuple, tuple, tuple],
    layout: str,
    splits: int = 1,
    k_per_split: int | None = None,
) -> None:
    """One implicit-GEMM launch: grid (N tiles, M tiles, groups · splits), block THREADS."""
    bm, bn, threads = _tile(variant)
    rows, cols, depth = gemm_shape(op, g)
    grid = (ceil_div(cols, bn), ceil_div(rows, bm), g.groups * splits)
    if grid[1] > 65535 or grid[2] > 65535:
        raise ValueError(f"{op}(cuda, implicit_gemm_{variant}): grid {grid} is over CUDA's 65535 in y or z")
    params = conv_params(g, *strides, depth if k_per_split is None else k_per_split)
    fn = _kernel_for(variant, op, layout)
    fn(grid, (threads,), (a_src, b_src, out, *(np.int32(v) for v in params)))


def conv2d_forward(
    variant: str,
    input: Any,  # PyTorch's name
    weight: Any,
    bias: Any | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Any:
    """y = conv2d(x, W) (+ bias): rows (n, p, q), columns k_out, reduction (c, r, s)."""
    _check_storage("conv2d", variant, input, weight)
    g = ConvGeometry.of(input.shape, weight.shape, stride, padding, dilation, groups)
    _check_int32("conv2d", input, weight)
    xp = backend.xp_of(input)
    y = xp.empty(g.output_shape, dtype=xp.float32)
    _check_int32("conv2d", y)
    if y.size:
        strides = (element_strides(input), element_strides(weight), element_strides(y))
        launch_gemm(variant, "conv2d", g, input, weight, y, strides, layout_of(input))
        if bias is not None:
            y += _as_float32(bias).reshape(1, -1, 1, 1)
    return y


def _as_float32(a: Any) -> Any:
    if str(a.dtype) == "uint16":
        from ..cuda.bfloat16 import from_bfloat16_bits

        return from_bfloat16_bits(a)
    return a.astype("float32", copy=False)


def conv2d_grad_input(
    variant: str,
    grad_output: Any,
    weight: Any,
    input_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Any:
    """dL/dx: rows (n, h, w), columns c, reduction (k_out, r, s) over dy's taps (a gather)."""
    _check_storage("conv2d_grad_input", variant, grad_output, weight)
    g = ConvGeometry.of(input_size, weight.shape, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_input", grad_output, g)
    _check_int32("conv2d_grad_input", grad_output, weight)
    xp = backend.xp_of(grad_output)
    dx = xp.empty(g.input_shape, dtype=xp.float32)
    _check_int32("conv2d_grad_input", dx)
    if dx.size:
        strides = (element_strides(dx), element_strides(weight), element_strides(grad_output))
        launch_gemm(variant, "conv2d_grad_input", g, grad_output, weight, dx, strides, layout_of(grad_output))
    return dx


def conv2d_grad_weight(
    variant: str,
    input: Any,  # PyTorch's name
    grad_output: Any,
    weight_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Any:
    """dL/dW: rows k_out, columns (c, r, s), reduction (n, p, q), split-K with an fp32 reduction."""
    _check_storage("conv2d_grad_weight", variant, input, grad_output)
    g = ConvGeometry.of(input.shape, weight_size, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_weight", grad_output, g)
    _check_int32("conv2d_grad_weight", input, grad_output)
    xp = backend.xp_of(input)
    rows, cols, depth = gemm_shape("conv2d_grad_weight", g)
    if math.prod(g.weight_shape) == 0 or depth == 0:
        return xp.zeros(g.weight_shape, dtype=xp.float32)
    bm, bn, _ = _tile(variant)
    blocks = ceil_div(rows, bm) * ceil_div(cols, bn) * g.groups
    splits, per_split = split_k(depth, blocks, _multiprocessors())
    if splits * math.prod(g.weight_shape) > INT32_MAX:
        raise ValueError(
            f"conv2d_grad_weight(cuda, implicit_gemm_{variant}): {splits} split-K slabs of "
            f"{g.weight_shape} are over 2**31 - 1 elements"
        )
    dw = xp.empty(g.weight_shape, dtype=xp.float32)  # every element is written (by the GEMM or the reduce)
    out = dw if splits == 1 else xp.empty((splits, *g.weight_shape), dtype=xp.float32)
    strides = (element_strides(input), (0, 0, 0, 0), element_strides(grad_output))
    launch_gemm(variant, "conv2d_grad_weight", g, grad_output, input, out, strides, layout_of(input), splits, per_split)
    if splits > 1:
        reduce = kernel(SOURCES / "splitk_reduce.cu", "conv2d_splitk_reduce")
        reduce((ceil_div(dw.size, REDUCE_THREADS),), (REDUCE_THREADS,), (out, dw, np.int32(dw.size), np.int32(splits)))
    return dw


def _register(variant: str, description: str, dtypes: tuple[str, ...], tolerance: float | None) -> None:
    options = {"dtypes": dtypes, "tolerance": tolerance}
    name = f"implicit_gemm_{variant}"
    register("conv2d", "cuda", name, f"implicit GEMM forward, {description}", **options)(
        lambda *a, **k: conv2d_forward(variant, *a, **k)
    )
    register("conv2d_grad_input", "cuda", name, f"implicit GEMM input gradient over dy, {description}", **options)(
        lambda *a, **k: conv2d_grad_input(variant, *a, **k)
    )
    register("conv2d_grad_weight", "cuda", name, f"implicit GEMM weight gradient, split-K, {description}", **options)(
        lambda *a, **k: conv2d_grad_weight(variant, *a, **k)
    )


_register("simt", "FP32 SIMT 2-D register tiles (not yet run on a GPU)", ("float32",), None)
# TF32 keeps 10 mantissa bits: ~1e-3 relative error per product, as the matmul ladder's wmma_tf32
_register("tf32", "TF32 mma.sync m16n8k8, ldmatrix, cp.async (not yet run on a GPU)", ("float32",), 5e-3)
_register("bf16", "BF16 mma.sync m16n8k16 on bf16 bits (not yet run on a GPU)", ("bfloat16",), 2e-2)
