"""conv2d with numba im2col/col2im over cache-sized chunks of the batch, each chunk's GEMMs in BLAS.

The reference builds the columns of the whole batch at once (a 75 MB matrix
for a 32×64×32×32 input with 3×3 taps) and BLAS then streams them back from
memory. Here the batch goes through in chunks of about ``CHUNK_BYTES`` of
columns (three images for that ResNet layer, 60 for mnist-cnn's second layer,
the whole batch for LeNet's first), and one buffer is reused, so BLAS reads
columns that were just written and are still in cache:

    forward        for each chunk:  cols = im2col(X[chunk]);  Y[chunk] = W · cols
    input grad     for each chunk:  cols = Wᵀ · dY[chunk];    dX[chunk] = col2im(cols)
    weight grad    for each chunk:  cols = im2col(X[chunk]);  dW += Σ dY[chunk] · colsᵀ

(per group, as in gemm.py). Where the columns have few rows and many positions
(a first layer on a 1- or 3-channel image) each image gets a GEMM of its own,
whose output lands in NCHW order as it is; otherwise the chunk's images sit side
by side in one wider GEMM, which BLAS runs faster, and a parallel copy moves the
output (adding the bias on the way) and dY between NCHW order and side by side
(measurements at ``PER_IMAGE_MAX_ROWS``). im2col and col2im are parallel numba
loops with one task per (image, channel) plane; a col2im task writes only its
own plane, so there are no races and no atomics. Their inner loops copy or add
one contiguous run of pixels per kernel tap and output row: the range of output
positions whose tap falls inside the image is computed first (``_inside``) and
only the padding around it is zeroed, so the loops have no per-pixel test. With
stride 1 and output rows as long as input rows (a 3×3 kernel with padding 1),
a tap's pixels are one run of the input shifted by a constant, so each tap is
one copy (or add) and strided stores fix the padding columns: short rows (16²
or 8² images) would otherwise pay a loop set-up per row. All indices into the
flattened arrays are unsigned: numba tests every signed index for a negative
value to wrap it around, and that test made these loops about 4× slower
(benchmarks/bench_conv2d.py has the measurements).

The chunk size was measured (forward + both gradients, min of 15, 2 cores):
    CHUNK_BYTES          1 MB    2 MB    4 MB    8 MB   16 MB   128 MB
    64×32×13×13 (ms)    12.6    12.4    11.4    10.4    10.0     9.7
    32×64×32×32 (ms)    88.6    82.5    79.3    72.4    75.1   132.8
Small chunks pay for many small GEMMs; a whole 75 MB batch falls out of cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np

from ..registry import register
from .gemm import check_dtypes, check_grad_output, grouped_output, grouped_weight
from .geometry import ConvGeometry

CHUNK_BYTES = 8 << 20
"""The size of one chunk's columns: well inside the 105 MB last-level cache of the benchmark's machine."""

PER_IMAGE_MAX_ROWS, PER_IMAGE_POSITIONS = 64, 256
"""One GEMM per image (its output already NCHW) when the columns have fewer than 64 rows, so that
BLAS has little to do per output element, and each image at least 256 positions; otherwise a chunk's
images side by side in one wider GEMM (see _Chunk). Forward + both gradients, best of 8:
9 rows × 676 positions (64×1×28×28, 3×3): 2.9 ms per image, 5.5 ms side by side;
576 rows × 1024 positions (32×64×32×32, 3×3): 87 ms per image, 82 ms side by side."""


@numba.njit(inline="always", cache=True)
def _inside(offset, step, size, count):  # pragma: no cover
    """The range [lo, hi) of output positions o < count whose input index o·step + offset lies in [0, size)."""
    lo = 0 if offset >= 0 else (step - 1 - offset) // step
    hi = min(count, (size - 1 - offset) // step + 1) if offset < size else 0
    return min(lo, hi), hi


@numba.njit(parallel=True, cache=True)
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, row_step, image_step):  # pragma: no cover
    """cols[r·row_step + n·image_step, oh·W_out + ow] = x[n, c, oh·sh − ph + i·dh, ow·sw − pw + j·dw], 0 in the
    padding, for column row r = (c·kh + i)·kw + j of image n.

    The copies run over the positions inside the image (``_inside``), the padding is zeroed around them, and
    every index is unsigned (see the module docstring)."""
    n_images, channels, height, width = x.shape
    source, target = x.reshape(-1), cols.reshape(-1)
    positions, step, one_run = out_h * out_w, numba.uintp(sw), sh == 1 and sw == 1 and out_w == width
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for i in range(kh):
            oh_lo, oh_hi = _inside(i * dh - ph, sh, height, out_h)
            for j in range(kw):
                row = numba.uintp((((c * kh + i) * kw + j) * row_step + n * image_step) * positions)
                ow_lo, ow_hi = _inside(j * dw - pw, sw, width, out_w)
                lo, hi, inside = numba.uintp(ow_lo), numba.uintp(ow_hi), numba.uintp(ow_hi - ow_lo)
                if one_run and inside > 0 and oh_lo < oh_hi:
                    # output and input rows have one length: the tap's pixels are one run of x, shifted by
                    # (i·dh − ph)·W + j·dw − pw; copy the run, then zero the padding columns it covered
                    begin, end = numba.uintp(oh_lo * out_w + ow_lo), numba.uintp((oh_hi - 1) * out_w + ow_hi)
                    ih, iw = oh_lo - ph + i * dh, ow_lo - pw + j * dw  # the run's first pixel
                    start = numba.uintp((plane * height + ih) * width + iw)
                    for p in range(begin):
                        target[row + p] = 0.0
                    for k in range(end - begin):
                        target[row + begin + k] = source[start + k]
                    for p in range(end, numba.uintp(positions)):
                        target[row + p] = 0.0
                    for ow in range(lo):  # the padding columns: a strided store down each
                        for oh in range(oh_lo, oh_hi):
                            target[row + numba.uintp(oh * out_w) + ow] = 0.0
                    for ow in range(hi, numba.uintp(out_w)):
                        for oh in range(oh_lo, oh_hi):
                            target[row + numba.uintp(oh * out_w) + ow] = 0.0
                    continue
                for p in range(numba.uintp(oh_lo * out_w)):
                    target[row + p] = 0.0
                for oh in range(oh_lo, oh_hi):
                    to = row + numba.uintp(oh * out_w)
                    start = numba.uintp(
                        plane * height * width + (oh * sh - ph + i * dh) * width + ow_lo * sw + j * dw - pw
                    )
                    for ow in range(lo):
                        target[to + ow] = 0.0
                    for k in range(inside):
                        target[to + lo + k] = source[start + k * step]
                    for ow in range(hi, numba.uintp(out_w)):
                        target[to + ow] = 0.0
                for p in range(numba.uintp(oh_hi * out_w), numba.uintp(positions)):
                    target[row + p] = 0.0


@numba.njit(parallel=True, cache=True)
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, grad, row_step, image_step):  # pragma: no cover
    """grad[n, c, ih, iw] = Σ of the column entries im2col copied from pixel (ih, iw): its adjoint.
    Each task owns one (image, channel) plane of grad, so no two tasks write the same pixel. The entries that
    fall in the padding are set to 0 in ``cols`` (the chunk's scratch buffer)."""
    n_images, channels, height, width = grad.shape
    source, target = cols.reshape(-1), grad.reshape(-1)
    positions, step, one_run = out_h * out_w, numba.uintp(sw), sh == 1 and sw == 1 and out_w == width
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        first = numba.uintp(plane * height * width)
        for p in range(numba.uintp(height * width)):
            target[first + p] = 0.0
        for i in range(kh):
            oh_lo, oh_hi = _inside(i * dh - ph, sh, height, out_h)
            for j in range(kw):
                row = numba.uintp((((c * kh + i) * kw + j) * row_step + n * image_step) * positions)
                ow_lo, ow_hi = _inside(j * dw - pw, sw, width, out_w)
                lo, hi, inside = numba.uintp(ow_lo), numba.uintp(ow_hi), numba.uintp(ow_hi - ow_lo)
                if one_run and inside > 0 and oh_lo < oh_hi:
                    # as in _im2col_kernel: one run of pixels, after zeroing the column entries that fall in the
                    # padding (they are discarded, and the run would add them onto the neighbouring row's pixels)
                    for ow in range(lo):  # the padding columns: a strided store down each
                        for oh in range(oh_lo, oh_hi):
                            source[row + numba.uintp(oh * out_w) + ow] = 0.0
                    for ow in range(hi, numba.uintp(out_w)):
                        for oh in range(oh_lo, oh_hi):
                            source[row + numba.uintp(oh * out_w) + ow] = 0.0
                    begin, end = numba.uintp(oh_lo * out_w + ow_lo), numba.uintp((oh_hi - 1) * out_w + ow_hi)
                    ih, iw = oh_lo - ph + i * dh, ow_lo - pw + j * dw  # the run's first pixel
                    start = first + numba.uintp(ih * width + iw)
                    for k in range(end - begin):
                        target[start + k] += source[row + begin + k]
                    continue
                for oh in range(oh_lo, oh_hi):
                    read = row + lo + numba.uintp(oh * out_w)
                    start = first + numba.uintp((oh * sh - ph + i * dh) * width + ow_lo * sw + j * dw - pw)
                    for k in range(inside):
                        target[start + k * step] += source[read + k]


@numba.njit(parallel=True, cache=True)
def _swap_blocks_kernel(source, target, bias, add_bias):  # pragma: no cover
    """target[b, a, :] = source[a, b, :] (+ bias[a] when add_bias), for C-contiguous (A, B, L) source and
    (B, A, L) target: a chunk's images between NCHW order and side by side, one task per block."""
    blocks_a, blocks_b, length = source.shape
    read, write, size = source.reshape(-1), target.reshape(-1), numba.uintp(length)
    for block in numba.prange(blocks_a * blocks_b):
        a, b = block // blocks_b, block % blocks_b
        start, to = numba.uintp(block) * size, numba.uintp(b * blocks_a + a) * size
        if add_bias:
            shift = bias[a]
            for k in range(size):
                write[to + k] = read[start + k] + shift
        else:
            for k in range(size):
                write[to + k] = read[start + k]


def _loop_args(geometry: ConvGeometry) -> tuple[int, ...]:
    return (
        *geometry.kernel,
        *geometry.stride,
        *geometry.padding,
        *geometry.dilation,
        geometry.out_height,
        geometry.out_width,
    )


@dataclass(frozen=True)
class _Chunk:
    """A slice of the batch and its columns in the reused buffer, laid out for one of two GEMM shapes.

    Per image: ``columns`` is (images, groups, rows, positions) and each image's GEMM writes its
    output straight into NCHW order. Side by side: ``columns`` is (groups, rows, images·positions),
    one wider GEMM per group, then a transpose.
    """

    images: slice
    columns: np.ndarray
    per_image: bool

    def kernel_args(self) -> tuple[np.ndarray, int, int]:
        """The buffer as the kernels' 2-D (rows·images, positions) array, with a column row's step and an image's."""
        if self.per_image:
            images, groups, rows, positions = self.columns.shape
            return self.columns.reshape(-1, positions), 1, groups * rows
        groups, rows, width = self.columns.shape
        images = self.images.stop - self.images.start
        return self.columns.reshape(-1, width // images), images, 1


def _chunks(geometry: ConvGeometry, dtype: np.dtype) -> Iterator[_Chunk]:
    """Consecutive slices of the batch of about CHUNK_BYTES of columns, sharing one buffer."""
    groups, rows, positions = geometry.groups, geometry.column_rows, geometry.positions
    per_image = geometry.column_rows < PER_IMAGE_MAX_ROWS and positions >= PER_IMAGE_POSITIONS
    step = max(1, min(geometry.batch, CHUNK_BYTES // max(groups * rows * positions * np.dtype(dtype).itemsize, 1)))
    buffer = np.empty(step * groups * rows * positions, dtype=dtype)
    for start in range(0, geometry.batch, step):
        images = min(start + step, geometry.batch) - start
        used = buffer[: images * groups * rows * positions]  # a prefix: still one contiguous block
        shape = (images, groups, rows, positions) if per_image else (groups, rows, images * positions)
        yield _Chunk(slice(start, start + images), used.reshape(shape), per_image)


def _im2col_into(chunk: _Chunk, x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """Fill the chunk's columns from its images of x (C-contiguous); returns the columns."""
    columns, row_step, image_step = chunk.kernel_args()
    _im2col_kernel(x[chunk.images], *_loop_args(geometry), columns, row_step, image_step)
    return chunk.columns


def _images_side_by_side(y: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """A C-contiguous (images, O, H_out, W_out) as (groups, O/groups, images·H_out·W_out), a new array."""
    images, channels, positions = len(y), geometry.out_channels, geometry.positions
    side = np.empty((channels, images, positions), dtype=y.dtype)
    _swap_blocks_kernel(y.reshape(images, channels, positions), side, np.empty(0, y.dtype), False)
    return side.reshape(geometry.groups, channels // geometry.groups, images * positions)


def _images_apart(side: np.ndarray, bias: np.ndarray | None, y: np.ndarray, geometry: ConvGeometry) -> None:
    """Write (groups, O/groups, images·H_out·W_out) into the C-contiguous (images, O, H_out, W_out) y, plus bias."""
    images, channels, positions = len(y), geometry.out_channels, geometry.positions
    shift = np.empty(0, side.dtype) if bias is None else np.ascontiguousarray(bias)
    _swap_blocks_kernel(
        side.reshape(channels, images, positions), y.reshape(images, channels, positions), shift, bias is not None
    )


@register(
    "conv2d",
    "cpu",
    "numba_im2col",
    "numba im2col of cache-sized chunks of the batch + BLAS W·cols per image or per chunk",
    default=True,
)
def conv2d(
    input: np.ndarray,  # PyTorch's name
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
    for chunk in _chunks(geometry, x.dtype):
        columns = _im2col_into(chunk, x, geometry)
        if chunk.per_image:
            np.matmul(w, columns, out=grouped_output(y[chunk.images], geometry))
            if bias is not None:
                y[chunk.images] += bias.reshape(1, -1, 1, 1)
        else:
            _images_apart(np.matmul(w, columns), bias, y[chunk.images], geometry)
    return y


@register(
    "conv2d_grad_input",
    "cpu",
    "numba_im2col",
    "BLAS Wᵀ·dY per image or per chunk into a cache-sized buffer + numba col2im",
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
    dy = np.ascontiguousarray(grad_output)
    weight_t = grouped_weight(np.ascontiguousarray(weight), geometry).transpose(0, 2, 1)
    grad = np.empty(geometry.input_shape, dtype=dy.dtype)
    for chunk in _chunks(geometry, dy.dtype):
        if chunk.per_image:
            np.matmul(weight_t, grouped_output(dy[chunk.images], geometry), out=chunk.columns)
        else:
            np.matmul(weight_t, _images_side_by_side(dy[chunk.images], geometry), out=chunk.columns)
        columns, row_step, image_step = chunk.kernel_args()
        _col2im_kernel(columns, *_loop_args(geometry), grad[chunk.images], row_step, image_step)
    return grad


@register(
    "conv2d_grad_weight",
    "cpu",
    "numba_im2col",
    "numba im2col of cache-sized chunks + BLAS dY·colsᵀ per image or per chunk, summed",
    default=True,
)
def conv2d_grad_weight(
    input: np.ndarray,  # PyTorch's name
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
    x, dy = np.ascontiguousarray(input), np.ascontiguousarray(grad_output)
    total, per_image = None, True
    for chunk in _chunks(geometry, x.dtype):
        columns, per_image = _im2col_into(chunk, x, geometry), chunk.per_image
        if per_image:  # (groups, O/groups, rows)
            part = np.matmul(grouped_output(dy[chunk.images], geometry), columns.swapaxes(-1, -2)).sum(axis=0)
        else:  # cols·dYᵀ = dWᵀ, (groups, rows, O/groups): 1.3× dY·colsᵀ in BLAS; transposed once at the end
            part = np.matmul(columns, _images_side_by_side(dy[chunk.images], geometry).transpose(0, 2, 1))
        if total is None:
            total = part
        else:
            total += part
    if total is None:  # an empty batch
        return np.zeros(geometry.weight_shape, x.dtype)
    grad = total if per_image else np.ascontiguousarray(total.transpose(0, 2, 1))
    return grad.reshape(geometry.weight_shape)
