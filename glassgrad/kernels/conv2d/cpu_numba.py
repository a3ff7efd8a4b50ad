"""conv2d with im2col and col2im as parallel numba loops, products in BLAS (see gemm.py).

im2col: one task per (image, channel) plane (``prange``) copies that plane's
pixels into its kh·kw rows of the column matrix, writing zeros where a tap
falls in the padding, so the padded input is never built. col2im: one task per
plane adds every column entry back onto its pixel; a task only writes its own
plane, so there are no races and no atomics. The input is made C-contiguous first (a copy only for a strided view).
"""

from __future__ import annotations

import numba
import numpy as np

from .gemm import register_variants
from .geometry import ConvGeometry


@numba.njit(parallel=True, cache=True)
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):  # pragma: no cover - compiled
    n_images, channels, height, width = x.shape
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for oh in range(out_h):
                    ih = oh * sh - ph + i * dh
                    base = oh * out_w
                    if ih < 0 or ih >= height:
                        for ow in range(out_w):
                            cols[n, row, base + ow] = 0.0
                        continue
                    for ow in range(out_w):
                        iw = ow * sw - pw + j * dw
                        cols[n, row, base + ow] = x[n, c, ih, iw] if 0 <= iw < width else 0.0


@numba.njit(parallel=True, cache=True)
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, grad):  # pragma: no cover - compiled
    n_images, channels, height, width = grad.shape
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for oh in range(out_h):
                    ih = oh * sh - ph + i * dh
                    if ih < 0 or ih >= height:
                        continue
                    base = oh * out_w
                    for ow in range(out_w):
                        iw = ow * sw - pw + j * dw
                        if 0 <= iw < width:
                            grad[n, c, ih, iw] += cols[n, row, base + ow]


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
    """(N, groups, (C/groups)·kh·kw, H_out·W_out) columns of x, built in parallel."""
    rows = geometry.in_channels * geometry.kernel[0] * geometry.kernel[1]
    cols = np.empty((geometry.batch, rows, geometry.positions), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), *_loop_args(geometry), cols)
    return cols.reshape(geometry.batch, geometry.groups, geometry.column_rows, geometry.positions)


def col2im(cols: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """Every column entry summed back onto its input pixel, one plane per task."""
    grad = np.zeros(geometry.input_shape, dtype=cols.dtype)
    flat = np.ascontiguousarray(cols).reshape(geometry.batch, -1, geometry.positions)
    _col2im_kernel(flat, *_loop_args(geometry), grad)
    return grad


register_variants(
    "numba_im2col",
    im2col,
    col2im,
    forward="im2col in parallel numba (prange over planes, padding never materialised) + BLAS W·cols",
    grad_input="BLAS Wᵀ·dY, then col2im in parallel numba (one plane per task, no atomics)",
    grad_weight="im2col in parallel numba + BLAS dY·colsᵀ summed over the batch",
    default=True,
)
