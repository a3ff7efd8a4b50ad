"""Max pooling as parallel numba loops: one (image, channel) plane per task.

The arg-max scans each window's real pixels only (the padding is never built)
and keeps the first largest value, a NaN beating any number; the gradient adds
each output's gradient onto its winner. A task writes only its own plane, so
the scatter needs no atomics.
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
                        if best_index < 0 or value > best or (np.isnan(value) and not np.isnan(best)):
                            best, best_index = value, ih * width + iw
                indices[n, c, oh, ow] = best_index


@numba.njit(parallel=True, cache=True)
def _scatter_kernel(grad_output, indices, grad):  # pragma: no cover - compiled
    planes, positions = grad_output.shape
    for plane in numba.prange(planes):
        for p in range(positions):
            grad[plane, indices[plane, p]] += grad_output[plane, p]


@register("max_pool2d_argmax", "cpu", "numba", "parallel numba window scan, one plane per task", default=True)
def max_pool2d_argmax(
    input: np.ndarray,  # noqa: A002 - PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> np.ndarray:
    """int64 (N, C, H_out, W_out): the flat h·W + w index of each window's maximum."""
    shape = pool2d_output_shape("max_pool2d", input.shape, kernel_size, stride, padding, dilation, ceil_mode)
    indices = np.empty(shape, dtype=np.int64)
    _argmax_kernel(np.ascontiguousarray(input), *kernel_size, *stride, *padding, *dilation, indices)
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
