"""Reference conv2d: im2col with a strided view, then a GEMM (see gemm.py); NumPy or CuPy.

The columns are a 6-D view of the zero-padded input, (N, C, kh, kw, H_out, W_out):
element [n, c, i, j, oh, ow] is padded pixel (oh·s + i·d, ow·s + j·d) of
channel c. Reshaping it copies it into the im2col matrix. col2im is the
adjoint: each kernel tap (i, j) adds its slab of columns back onto the strided
pixels it came from. Short and clear; everything else is validated against it.
"""

from __future__ import annotations

import numpy as np

from ...engine.backend import strided_view, xp_of
from .gemm import register_variants
from .geometry import ConvGeometry


def _tap_slices(geometry: ConvGeometry, i: int, j: int) -> tuple[slice, slice]:
    """The padded-input pixels kernel tap (i, j) reads, one per output position."""
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    rows = slice(i * dh, i * dh + sh * (geometry.out_height - 1) + 1, sh)
    cols = slice(j * dw, j * dw + sw * (geometry.out_width - 1) + 1, sw)
    return rows, cols


def im2col(x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(N, groups, (C/groups)·kh·kw, H_out·W_out) columns of x."""
    ph, pw = geometry.padding
    padded = xp_of(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    s_n, s_c, s_h, s_w = padded.strides
    windows = strided_view(
        padded,
        shape=(geometry.batch, geometry.in_channels, *geometry.kernel, geometry.out_height, geometry.out_width),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
    )
    return windows.reshape(geometry.batch, geometry.groups, geometry.column_rows, geometry.positions)


def col2im(cols: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """Sum every column entry back onto the input pixel it was copied from."""
    (ph, pw), (kh, kw) = geometry.padding, geometry.kernel
    n, c, h, w = geometry.input_shape
    taps = cols.reshape(n, c, kh, kw, geometry.out_height, geometry.out_width)
    xp = xp_of(cols)
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _tap_slices(geometry, i, j)
            padded[:, :, rows, columns] += taps[:, :, i, j]
    return xp.ascontiguousarray(padded[:, :, ph : ph + h, pw : pw + w])


register_variants(
    "reference",
    im2col,
    col2im,
    forward="im2col as a strided view + BLAS/cuBLAS W·cols",
    grad_input="BLAS Wᵀ·dY, then col2im by strided NumPy slices (one per kernel tap)",
    grad_weight="im2col as a strided NumPy view + BLAS dY·colsᵀ",
    reference=True,
    devices=("cpu", "cuda"),
)
