"""conv2d with im2col and col2im as parallel numba loops and the whole batch in one GEMM.

Unlike the reference (one GEMM per image), the columns put every image side by
side, (groups, (C/groups)·kh·kw, N·H_out·W_out), so each pass is one large BLAS
GEMM per group (BLAS runs far nearer its peak on a 64×576×32768 product than on
32 of 64×576×1024), at the price of an (N, O) ↔ (O, N) transpose of the output.

im2col: one task per (image, channel) plane (``prange``) copies that plane's
pixels into its kh·kw rows of the column matrix; the in-bounds output columns
of each row are computed once, so the inner loop is a plain strided copy and
the padded input is never built. col2im: one task per
plane adds every column entry back onto its pixel; a task only writes its own
plane, so there are no races and no atomics. The input is made C-contiguous first (a copy only for a strided view).
"""

from __future__ import annotations

import numba
import numpy as np

from ..registry import register
from .gemm import check_dtypes, check_grad_output, grouped_weight
from .geometry import ConvGeometry


@numba.njit(cache=True, inline="always")
def _valid_range(out_w, width, sw, offset):  # pragma: no cover - compiled
    """The output columns ow with 0 ≤ ow·sw + offset < width, as [lo, hi)."""
    lo = 0 if offset >= 0 else (-offset + sw - 1) // sw
    hi = 0 if width - offset <= 0 else min(out_w, (width - offset + sw - 1) // sw)
    return lo, max(lo, hi)


@numba.njit(parallel=True, cache=True)
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):  # pragma: no cover - compiled
    n_images, channels, height, width = x.shape
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                lo, hi = _valid_range(out_w, width, sw, j * dw - pw)
                for oh in range(out_h):
                    ih = oh * sh - ph + i * dh
                    out = cols[row, n, oh * out_w : (oh + 1) * out_w]
                    if ih < 0 or ih >= height:
                        out[:] = 0.0
                        continue
                    out[:lo] = 0.0
                    out[hi:] = 0.0
                    start = lo * sw + j * dw - pw
                    for ow in range(lo, hi):
                        out[ow] = x[n, c, ih, start + (ow - lo) * sw]


@numba.njit(parallel=True, cache=True)
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, grad):  # pragma: no cover - compiled
    n_images, channels, height, width = grad.shape
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                lo, hi = _valid_range(out_w, width, sw, j * dw - pw)
                for oh in range(out_h):
                    ih = oh * sh - ph + i * dh
                    if ih < 0 or ih >= height:
                        continue
                    start = lo * sw + j * dw - pw
                    for ow in range(lo, hi):
                        grad[n, c, ih, start + (ow - lo) * sw] += cols[row, n, oh * out_w + ow]


def _loop_args(geometry: ConvGeometry) -> tuple[int, ...]:
    return (
        *geometry.kernel,
        *geometry.stride,
        *geometry.padding,
        *geometry.dilation,
        geometry.out_height,
        geometry.out_width,
    )


def im2col(x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(groups, (C/groups)·kh·kw, N·H_out·W_out) columns of x: every image side by side."""
    rows = geometry.in_channels * geometry.kernel[0] * geometry.kernel[1]
    cols = np.empty((rows, geometry.batch, geometry.positions), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), *_loop_args(geometry), cols)
    return cols.reshape(geometry.groups, geometry.column_rows, geometry.batch * geometry.positions)


def col2im(cols: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """Every column entry summed back onto its input pixel, one plane per task."""
    grad = np.zeros(geometry.input_shape, dtype=cols.dtype)
    flat = np.ascontiguousarray(cols).reshape(-1, geometry.batch, geometry.positions)
    _col2im_kernel(flat, *_loop_args(geometry), grad)
    return grad


def _outputs_side_by_side(y: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(N, O, H_out, W_out) as (groups, O/groups, N·H_out·W_out): the layout of W · cols."""
    side = y.reshape(geometry.batch, geometry.out_channels, geometry.positions).transpose(1, 0, 2)
    return np.ascontiguousarray(side).reshape(geometry.groups, -1, geometry.batch * geometry.positions)


def _as_nchw(y: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(groups, O/groups, N·H_out·W_out) back to (N, O, H_out, W_out)."""
    y = y.reshape(geometry.out_channels, geometry.batch, geometry.positions).transpose(1, 0, 2)
    return np.ascontiguousarray(y).reshape(geometry.output_shape)


@register("conv2d", "cpu", "numba_im2col", "parallel numba im2col of the whole batch + one BLAS GEMM per group")
def conv2d(
    input: np.ndarray,  # noqa: A002 - PyTorch's name
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Y = W · cols with the batch side by side in the columns (one large GEMM), then NCHW."""
    check_dtypes("conv2d", input, weight, bias)
    geometry = ConvGeometry.of(input.shape, weight.shape, stride, padding, dilation, groups)
    y = _as_nchw(np.matmul(grouped_weight(weight, geometry), im2col(input, geometry)), geometry)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


@register("conv2d_grad_input", "cpu", "numba_im2col", "one BLAS GEMM Wᵀ·dY per group + parallel numba col2im")
def conv2d_grad_input(
    grad_output: np.ndarray,
    weight: np.ndarray,
    input_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """dX = col2im(Wᵀ · dY) with the batch side by side."""
    check_dtypes("conv2d_grad_input", grad_output, weight)
    geometry = ConvGeometry.of(input_size, weight.shape, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_input", grad_output, geometry)
    weight_t = grouped_weight(weight, geometry).transpose(0, 2, 1)
    return col2im(np.matmul(weight_t, _outputs_side_by_side(grad_output, geometry)), geometry)


@register(
    "conv2d_grad_weight",
    "cpu",
    "numba_im2col",
    "parallel numba im2col + one BLAS GEMM dY·colsᵀ per group",
)
def conv2d_grad_weight(
    input: np.ndarray,  # noqa: A002 - PyTorch's name
    grad_output: np.ndarray,
    weight_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """dW = dY · colsᵀ: the sum over the batch happens inside the GEMM's inner dim."""
    check_dtypes("conv2d_grad_weight", input, grad_output)
    geometry = ConvGeometry.of(input.shape, weight_size, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_weight", grad_output, geometry)
    cols = im2col(input, geometry)
    grad_t = np.matmul(
        cols, _outputs_side_by_side(grad_output, geometry).transpose(0, 2, 1)
    )  # (dY·colsᵀ)ᵀ: BLAS splits it better
    return grad_t.transpose(0, 2, 1).reshape(geometry.weight_shape)
