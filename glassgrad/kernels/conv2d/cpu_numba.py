"""conv2d with numba im2col/col2im over cache-sized chunks of the batch, each chunk's GEMMs in BLAS.

The reference builds the columns of the whole batch at once (a 75 MB matrix
for a 32×64×32×32 input with 3×3 taps) and BLAS then streams them back from
memory. Here the batch goes through in chunks of about ``CHUNK_BYTES`` of
columns (three images for that ResNet layer, the whole batch for the small
layers of LeNet or mnist-cnn), and one buffer is reused, so BLAS reads columns
that were just written and are still in cache:

    forward        for each chunk:  cols = im2col(X[chunk]);  Y[chunk] = W · cols
    input grad     for each chunk:  cols = Wᵀ · dY[chunk];    dX[chunk] = col2im(cols)
    weight grad    for each chunk:  cols = im2col(X[chunk]);  dW += Σ dY[chunk] · colsᵀ

(per group, as in gemm.py). im2col and col2im are parallel numba loops with
one task per (image, channel) plane; a col2im task writes only its own plane,
so there are no races and no atomics. Their inner loops are plain indexed
loads and stores with the padding test inline, which numba vectorises; array
slices inside a numba loop cost an allocation each and made the first version
of this file four times slower.

The chunk size was measured (forward + both gradients, min of 15, 2 cores):
    CHUNK_BYTES          1 MB    2 MB    4 MB    8 MB   16 MB   128 MB
    64×32×13×13 (ms)    12.6    12.4    11.4    10.4    10.0     9.7
    32×64×32×32 (ms)    88.6    82.5    79.3    72.4    75.1   132.8
Small chunks pay for many small GEMMs; a whole 75 MB batch falls out of cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import numba
import numpy as np

from ..registry import register
from .gemm import check_dtypes, check_grad_output, grouped_weight
from .geometry import ConvGeometry

CHUNK_BYTES = 8 << 20
"""The size of one chunk's columns: well inside the 105 MB last-level cache of the benchmark's machine."""


@numba.njit(parallel=True, cache=True)
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):  # pragma: no cover - compiled
    """cols[(c·kh + i)·kw + j, n, oh·W_out + ow] = x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw], 0 in the padding."""
    n_images, channels, height, width = x.shape
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for i in range(kh):
            for j in range(kw):
                row, offset = (c * kh + i) * kw + j, j * dw - pw
                for oh in range(out_h):
                    ih, base = oh * sh - ph + i * dh, oh * out_w
                    if ih < 0 or ih >= height:
                        for ow in range(out_w):
                            cols[row, n, base + ow] = 0.0
                    elif sw == 1:  # unit-stride loads: this loop vectorises (1.3-1.5× the general one)
                        for ow in range(out_w):
                            iw = ow + offset
                            cols[row, n, base + ow] = x[n, c, ih, iw] if iw >= 0 and iw < width else 0.0
                    else:
                        for ow in range(out_w):
                            iw = ow * sw + offset
                            cols[row, n, base + ow] = x[n, c, ih, iw] if iw >= 0 and iw < width else 0.0


@numba.njit(parallel=True, cache=True)
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, grad):  # pragma: no cover - compiled
    """grad[n, c, ih, iw] = Σ of the column entries im2col copied from pixel (ih, iw): its adjoint."""
    n_images, channels, height, width = grad.shape
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for ih in range(height):
            for iw in range(width):
                grad[n, c, ih, iw] = 0.0
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                offset = j * dw - pw
                for oh in range(out_h):
                    ih, base = oh * sh - ph + i * dh, oh * out_w
                    if ih < 0 or ih >= height:
                        continue
                    if sw == 1:
                        for ow in range(out_w):
                            iw = ow + offset
                            if iw >= 0 and iw < width:
                                grad[n, c, ih, iw] += cols[row, n, base + ow]
                    else:
                        for ow in range(out_w):
                            iw = ow * sw + offset
                            if iw >= 0 and iw < width:
                                grad[n, c, ih, iw] += cols[row, n, base + ow]


def _loop_args(geometry: ConvGeometry) -> tuple[int, ...]:
    return (
        *geometry.kernel,
        *geometry.stride,
        *geometry.padding,
        *geometry.dilation,
        geometry.out_height,
        geometry.out_width,
    )


def _chunks(geometry: ConvGeometry, dtype: np.dtype) -> Iterator[tuple[slice, np.ndarray]]:
    """Consecutive slices of the batch, each with the reused (groups, (C/groups)·kh·kw, images, H_out·W_out) buffer."""
    rows = geometry.groups * geometry.column_rows
    per_image = rows * geometry.positions * np.dtype(dtype).itemsize
    step = max(1, min(geometry.batch, CHUNK_BYTES // max(per_image, 1)))
    buffer = np.empty(rows * step * geometry.positions, dtype=dtype)
    for start in range(0, geometry.batch, step):
        stop = min(start + step, geometry.batch)
        used = buffer[: rows * (stop - start) * geometry.positions]  # a prefix: still one contiguous block
        yield slice(start, stop), used.reshape(geometry.groups, geometry.column_rows, stop - start, -1)


def _im2col_into(cols: np.ndarray, x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """Fill a chunk's buffer with the columns of its images x (C-contiguous); returns the buffer."""
    groups, rows, images, positions = cols.shape
    _im2col_kernel(x, *_loop_args(geometry), cols.reshape(groups * rows, images, positions))
    return cols


def _side_by_side(cols: np.ndarray) -> np.ndarray:
    """A chunk's (groups, rows, images, positions) array as the (groups, rows, images·positions) GEMM operand."""
    return cols.reshape(*cols.shape[:2], -1)


def _images_side_by_side(y: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(images, O, H_out, W_out) as a C-contiguous (groups, O/groups, images·H_out·W_out)."""
    per_group = geometry.out_channels // geometry.groups
    grouped = y.reshape(len(y), geometry.groups, per_group, geometry.positions).transpose(1, 2, 0, 3)
    return np.ascontiguousarray(grouped).reshape(geometry.groups, per_group, -1)


@register(
    "conv2d",
    "cpu",
    "numba_im2col",
    "numba im2col of cache-sized chunks of the batch + one BLAS GEMM per chunk and group",
    default=True,
)
def conv2d(
    input: np.ndarray,  # noqa: A002 - PyTorch's name
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Y[chunk] = W · im2col(X[chunk]) (+ bias), chunk by chunk."""
    check_dtypes("conv2d", input, weight, bias)
    geometry = ConvGeometry.of(input.shape, weight.shape, stride, padding, dilation, groups)
    x = np.ascontiguousarray(input)
    w = grouped_weight(np.ascontiguousarray(weight), geometry)
    y = np.empty(geometry.output_shape, dtype=x.dtype)
    for chunk, cols in _chunks(geometry, x.dtype):
        y_chunk = np.matmul(w, _side_by_side(_im2col_into(cols, x[chunk], geometry)))
        y_chunk = y_chunk.reshape(geometry.out_channels, -1, geometry.positions).transpose(1, 0, 2)
        y[chunk] = y_chunk.reshape(-1, *geometry.output_shape[1:])
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


@register(
    "conv2d_grad_input",
    "cpu",
    "numba_im2col",
    "one BLAS GEMM Wᵀ·dY per chunk and group into a cache-sized buffer + numba col2im",
    default=True,
)
def conv2d_grad_input(
    grad_output: np.ndarray,
    weight: np.ndarray,
    input_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """dX[chunk] = col2im(Wᵀ · dY[chunk]), chunk by chunk."""
    check_dtypes("conv2d_grad_input", grad_output, weight)
    geometry = ConvGeometry.of(input_size, weight.shape, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_input", grad_output, geometry)
    weight_t = grouped_weight(np.ascontiguousarray(weight), geometry).transpose(0, 2, 1)
    grad = np.empty(geometry.input_shape, dtype=grad_output.dtype)
    for chunk, cols in _chunks(geometry, grad_output.dtype):
        np.matmul(weight_t, _images_side_by_side(grad_output[chunk], geometry), out=_side_by_side(cols))
        groups, rows, images, positions = cols.shape
        _col2im_kernel(cols.reshape(groups * rows, images, positions), *_loop_args(geometry), grad[chunk])
    return grad


@register(
    "conv2d_grad_weight",
    "cpu",
    "numba_im2col",
    "numba im2col of cache-sized chunks + one BLAS GEMM dY·colsᵀ per chunk and group, summed",
    default=True,
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
    """dW = Σ over chunks of dY[chunk] · im2col(X[chunk])ᵀ (the columns rebuilt, not saved from forward)."""
    check_dtypes("conv2d_grad_weight", input, grad_output)
    geometry = ConvGeometry.of(input.shape, weight_size, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_weight", grad_output, geometry)
    x = np.ascontiguousarray(input)
    grad = np.zeros((geometry.groups, geometry.out_channels // geometry.groups, geometry.column_rows), x.dtype)
    for chunk, cols in _chunks(geometry, x.dtype):
        cols = _side_by_side(_im2col_into(cols, x[chunk], geometry))
        dy = _images_side_by_side(grad_output[chunk], geometry)
        grad += np.matmul(cols, dy.transpose(0, 2, 1)).transpose(0, 2, 1)  # (cols·dYᵀ)ᵀ: 1.3× dY·colsᵀ in BLAS
    return grad.reshape(geometry.weight_shape)
