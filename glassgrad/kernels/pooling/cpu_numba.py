"""Max pooling as parallel numba loops: one (image, channel) plane per task.

The arg-max scans each window's real pixels only (the padding is never built)
and keeps the first largest value, except that every NaN takes the place (so the
last NaN wins, as in PyTorch's kernel); the gradient adds
each output's gradient onto its winner. A task writes only its own plane, so
the scatter needs no atomics.

The ubiquitous 2×2 window with stride 2 and no padding has a kernel of its
own: with the window size known when numba compiles and no bounds to test,
the scan unrolls and ran 15× faster than the general loop (0.3 ms against
4.6 ms for a 64×32×26×26 input on 2 cores); numba's ``literally`` would
specialise the general kernel too, but its dispatch cost 26 ms a call.
"""

from __future__ import annotations

import numba
import numpy as np

from ..registry import register
from .geometry import pool2d_output_shape


@numba.njit(parallel=True, cache=True)
def _argmax_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, indices):  # pragma: no cover - compiled
    n_images, channels, height, width = x.shape
    out_h, out_w = indices.shape[2], indices.shape[3]
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for oh in range(out_h):
            for ow in range(out_w):
                best = x[n, c, 0, 0]
                best_index = -1
                for i in range(kh):
                    ih = oh * sh - ph + i * dh
                    if ih < 0 or ih >= height:
                        continue
                    for j in range(kw):
                        iw = ow * sw - pw + j * dw
                        if iw < 0 or iw >= width:
                            continue
                        value = x[n, c, ih, iw]
                        if best_index < 0 or value > best or np.isnan(value):
                            best, best_index = value, ih * width + iw
                indices[n, c, oh, ow] = best_index


@numba.njit(parallel=True, cache=True)
def _argmax_2x2_kernel(x, indices):  # pragma: no cover - compiled
    """The general kernel for kernel 2, stride 2, padding 0, dilation 1 and windows inside the input."""
    n_images, channels, height, width = x.shape
    out_h, out_w = indices.shape[2], indices.shape[3]
    for plane in numba.prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for oh in range(out_h):
            for ow in range(out_w):
                h, w = 2 * oh, 2 * ow
                best, best_index = x[n, c, h, w], h * width + w
                for i in range(2):
                    for j in range(2):
                        value = x[n, c, h + i, w + j]
                        if value > best or np.isnan(value):
                            best, best_index = value, (h + i) * width + w + j
                indices[n, c, oh, ow] = best_index


@numba.njit(parallel=True, cache=True)
def _scatter_kernel(grad_output, indices, grad):  # pragma: no cover - compiled
    planes, positions = grad_output.shape
    for plane in numba.prange(planes):
        for p in range(positions):
            grad[plane, indices[plane, p]] += grad_output[plane, p]


@register("max_pool2d_argmax", "cpu", "numba", "parallel numba window scan, one plane per task", default=True)
def max_pool2d_argmax(
    input: np.ndarray,  # PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> np.ndarray:
    """int64 (N, C, H_out, W_out): the flat h·W + w index of each window's maximum."""
    shape = pool2d_output_shape("max_pool2d", input.shape, kernel_size, stride, padding, dilation, ceil_mode)
    indices = np.empty(shape, dtype=np.int64)
    x = np.ascontiguousarray(input)
    windows_inside = 2 * shape[2] <= x.shape[2] and 2 * shape[3] <= x.shape[3]  # ceil_mode may overhang
    if (kernel_size, stride, padding, dilation) == ((2, 2), (2, 2), (0, 0), (1, 1)) and windows_inside:
        _argmax_2x2_kernel(x, indices)
    else:
        _argmax_kernel(x, *kernel_size, *stride, *padding, *dilation, indices)
    return indices


@register(
    "max_pool2d_grad", "cpu", "numba", "parallel numba scatter onto the arg-max, one plane per task", default=True
)
def max_pool2d_grad(grad_output: np.ndarray, indices: np.ndarray, input_size: tuple[int, int, int, int]) -> np.ndarray:
    """dL/dx: zero except at each window's arg-max, which gets the sum of its windows' dL/dy."""
    n, c, h, w = input_size
    grad = np.zeros((n * c, h * w), dtype=grad_output.dtype)
    flat = (a.reshape(n * c, -1) for a in (np.ascontiguousarray(grad_output), np.ascontiguousarray(indices)))
    _scatter_kernel(*flat, grad)
    return grad.reshape(input_size)
