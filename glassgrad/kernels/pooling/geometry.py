"""Output sizes of a pooling window sliding over one dim (PyTorch's rule).

With input size H, window k, stride s, padding p and dilation d:

    H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1        (ceil_mode: ⌈·⌉ instead of ⌊·⌋)

and in ceil_mode a last window that would start inside the right padding is
dropped. Padding may be at most half the window.

Also the shape check the max_pool2d_grad kernels share (``check_indices``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def pool_output_size(op: str, size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """Output positions along one dim, or ValueError naming ``op`` and the sizes."""
    if padding > kernel // 2:
        raise ValueError(f"{op}: padding {padding} should be at most half the kernel size {kernel}")
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    rounded = math.ceil(span / stride) if ceil_mode else span // stride
    out = rounded + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:
        raise ValueError(
            f"{op}: a window of {kernel} (dilation {dilation}) does not fit an input of size {size} with padding {padding}"
        )
    return out


def pool2d_output_shape(
    op: str,
    input_shape: tuple[int, ...],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
) -> tuple[int, int, int, int]:
    """(N, C, H_out, W_out) of 2-D pooling over an (N, C, H, W) input."""
    if len(input_shape) != 4:
        raise ValueError(f"{op}: expected an (N, C, H, W) input, got shape {tuple(input_shape)}")
    n, c, h, w = input_shape
    sizes = (
        pool_output_size(op, size, *args, ceil_mode)
        for size, args in zip((h, w), zip(kernel_size, stride, padding, dilation, strict=True), strict=True)
    )
    return (n, c, *sizes)


def check_indices(grad_output: Any, indices: Any) -> None:
    """max_pool2d_grad's arg-max indices have its output gradient's shape, or ValueError."""
    if tuple(indices.shape) != tuple(grad_output.shape):
        raise ValueError(f"max_pool2d_grad: indices {indices.shape} and grad_output {grad_output.shape} differ")


def average_weights(
    op: str, size: int, kernel: int, stride: int, padding: int, ceil_mode: bool, count_include_pad: bool
) -> np.ndarray:
    """(out, size): row i holds 1/divisor over window i's real pixels (PyTorch's divisor per dim), so that
    average pooling of an (H, W) plane is A · x · Bᵀ with A, B these weights of H and W."""
    out = pool_output_size(op, size, kernel, stride, padding, 1, ceil_mode)
    weights = np.zeros((out, size))
    for i in range(out):
        start = i * stride - padding
        end = min(start + kernel, size + padding)  # a ceil_mode window stops at the padding's end
        padded_count = end - start
        start, end = max(start, 0), min(end, size)
        weights[i, start:end] = 1 / (padded_count if count_include_pad else end - start)
    return weights
