"""numba.cuda teaching max pooling: the arg-max of each window and its gradient, float32, NCHW.

    arg-max     one thread per output (n, c, p, q) scans its window's real pixels
                (h, w) = (p·s_h − p_h + r·d_h, q·s_w − p_w + t·d_w) and writes the flat
                index h·W + w of the first largest; every NaN takes the place of the best
                so far, so the last NaN wins (PyTorch's rule). The padding is never read.
    gradient    dL/dx[n, c, h, w] = Σ_{p, q : index[n, c, p, q] = h·W + w} g[n, c, p, q], given g = dL/dy:
                one thread per output adds its g onto its winner with ``cuda.atomic.add``,
                since overlapping windows may share a winner.

The gradient op is given the indices but not the window geometry, so a thread
per input pixel could only find the outputs that picked it by scanning its
whole plane; the atomic scatter is the short way (the direct conv2d input
gradient, which knows its geometry, gathers instead). Atomics make the order
of a shared winner's sum vary from run to run, within float32 rounding.

CuPy arrays of any strides on the GPU; NumPy arrays (C- or F-contiguous) in
numba's CUDA simulator, which is how CI tests them. Compiled on first use;
registered on cuda as ``numba_direct``, not the default.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ...engine import backend
from ..numba_cuda_support import numba_cuda
from ..registry import register
from .geometry import check_indices, pool2d_output_shape

THREADS = 128  # threads per block; the grid covers the outputs in one dim


@functools.cache
def _kernels() -> tuple[Any, Any]:
    """(argmax, scatter_grad) kernels."""
    global cuda  # a module global, for the simulator (see numba_cuda_support)
    cuda = numba_cuda()

    @cuda.jit
    def argmax(x, indices, kh, kw, sh, sw, ph, pw, dh, dw):  # pragma: no cover - GPU or simulator
        i = cuda.grid(1)
        n_, channels, out_h, out_w = indices.shape
        if i >= n_ * channels * out_h * out_w:
            return
        q = i % out_w
        p = i // out_w % out_h
        c = i // (out_w * out_h) % channels
        n = i // (out_w * out_h * channels)
        height, width = x.shape[2], x.shape[3]
        best = np.float32(0.0)
        best_index = -1
        for r in range(kh):
            h = p * sh - ph + r * dh
            if 0 <= h < height:
                for t in range(kw):
                    w = q * sw - pw + t * dw
                    if 0 <= w < width:
                        value = x[n, c, h, w]
                        if best_index < 0 or value > best or math.isnan(value):
                            best, best_index = value, h * width + w
        indices[n, c, p, q] = best_index

    @cuda.jit
    def scatter_grad(g, indices, dx):  # pragma: no cover - GPU or simulator
        i = cuda.grid(1)
        n_, channels, out_h, out_w = g.shape
        if i >= n_ * channels * out_h * out_w:
            return
        q = i % out_w
        p = i // out_w % out_h
        c = i // (out_w * out_h) % channels
        n = i // (out_w * out_h * channels)
        winner, width = indices[n, c, p, q], dx.shape[3]
        cuda.atomic.add(dx, (n, c, winner // width, winner % width), g[n, c, p, q])

    return argmax, scatter_grad


def _blocks(count: int) -> int:
    return (count + THREADS - 1) // THREADS


@register(
    "max_pool2d_argmax",
    "cuda",
    "numba_direct",
    "numba.cuda: one thread per output scans its window",
    dtypes=("float32",),
)
def max_pool2d_argmax_direct(
    input: Any,  # PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> Any:
    """int64 (N, C, H_out, W_out): the flat h·W + w index of each window's maximum."""
    if str(input.dtype) != "float32":
        raise TypeError(f"max_pool2d_argmax(cuda, numba_direct): expects a float32 input, got {input.dtype}")
    shape = pool2d_output_shape("max_pool2d", input.shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp = backend.xp_of(input)
    indices = xp.empty(shape, dtype=xp.int64)
    if indices.size:
        _kernels()[0][_blocks(indices.size), THREADS](input, indices, *kernel_size, *stride, *padding, *dilation)
    return indices


@register(
    "max_pool2d_grad",
    "cuda",
    "numba_direct",
    "numba.cuda: one thread per output adds its gradient onto its arg-max (atomic)",
    dtypes=("float32",),
)
def max_pool2d_grad_direct(grad_output: Any, indices: Any, input_size: tuple[int, int, int, int]) -> Any:
    """dL/dx: zero except at each window's arg-max, which gets the sum of its windows' dL/dy."""
    if str(grad_output.dtype) != "float32":
        raise TypeError(f"max_pool2d_grad(cuda, numba_direct): expects a float32 grad_output, got {grad_output.dtype}")
    check_indices(grad_output, indices)
    xp = backend.xp_of(grad_output)
    dx = xp.zeros(tuple(input_size), dtype=xp.float32)
    if grad_output.size:
        _kernels()[1][_blocks(grad_output.size), THREADS](grad_output, indices, dx)
    return dx
