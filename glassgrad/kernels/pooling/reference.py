"""Reference max pooling (NumPy or CuPy): the arg-max of each window, and its gradient.

The windows are a strided view of the input padded with −∞, of shape
(N, C, H_out, W_out, kh·kw); ``argmax`` over the taps picks the first largest,
and a window with NaNs picks its last NaN (PyTorch's rule: a NaN always takes
the place of the best so far). A window whose real pixels are all −∞ could pick a
padding tap, so such a window takes its first real pixel instead. The result
is PyTorch's index: the flat position h·W + w of the winner in its (H, W)
plane. The gradient adds each output's gradient onto its winner
(``np.add.at``, which sums the repeats of overlapping windows).
"""

from __future__ import annotations

from typing import Any

from ...engine.backend import scatter_add, strided_view, xp_of
from ..registry import register
from .geometry import pool2d_output_shape


def _windows(
    padded: Any, out: tuple[int, int], kernel: tuple[int, int], step: tuple[int, int], dilation: tuple[int, int]
) -> Any:
    """The (..., H_out, W_out, kh·kw) windows of the last two dims of ``padded``."""
    *lead, s_h, s_w = padded.strides
    view = strided_view(
        padded,
        shape=(*padded.shape[:-2], *out, *kernel),
        strides=(*lead, s_h * step[0], s_w * step[1], s_h * dilation[0], s_w * dilation[1]),
    )
    return view.reshape(*padded.shape[:-2], *out, kernel[0] * kernel[1])


@register(
    "max_pool2d_argmax",
    "cuda",
    "reference",
    "strided CuPy windows of the −∞-padded input, argmax",
    dtypes=("float32", "float64"),
    reference=True,
)
@register(
    "max_pool2d_argmax",
    "cpu",
    "reference",
    "strided NumPy windows of the −∞-padded input, argmax",
    dtypes=("float32", "float64"),
    reference=True,
)
def max_pool2d_argmax(
    input: Any,  # PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> Any:
    """int64 (N, C, H_out, W_out): the flat h·W + w index of each window's maximum."""
    _, _, out_h, out_w = pool2d_output_shape(
        "max_pool2d", input.shape, kernel_size, stride, padding, dilation, ceil_mode
    )
    height, width = input.shape[2:]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    after_h = max((out_h - 1) * sh + dh * (kh - 1) + 1 - ph - height, 0)  # ceil_mode windows may overhang
    after_w = max((out_w - 1) * sw + dw * (kw - 1) + 1 - pw - width, 0)
    widths = ((ph, after_h), (pw, after_w))
    xp = xp_of(input)
    padded = xp.pad(input, ((0, 0), (0, 0), *widths), constant_values=-float("inf"))
    real = xp.pad(xp.ones((height, width), dtype=bool), widths)
    windows = _windows(padded, (out_h, out_w), kernel_size, stride, dilation)
    nans = xp.isnan(windows)
    last_nan = kh * kw - 1 - nans[..., ::-1].argmax(axis=-1)
    tap = xp.where(nans.any(axis=-1), last_nan, windows.argmax(axis=-1))
    real_taps = _windows(real, (out_h, out_w), kernel_size, stride, dilation)
    picked_real = xp.take_along_axis(xp.broadcast_to(real_taps, (*tap.shape, kh * kw)), tap[..., None], axis=-1)[..., 0]
    tap = xp.where(picked_real, tap, real_taps.argmax(axis=-1))
    rows = xp.arange(out_h)[:, None] * sh - ph + (tap // kw) * dh
    cols = xp.arange(out_w)[None, :] * sw - pw + (tap % kw) * dw
    return (rows * width + cols).astype(xp.int64)


@register(
    "max_pool2d_grad", "cuda", "reference", "cupyx.scatter_add of each output gradient onto its arg-max", reference=True
)
@register("max_pool2d_grad", "cpu", "reference", "np.add.at of each output gradient onto its arg-max", reference=True)
def max_pool2d_grad(grad_output: Any, indices: Any, input_size: tuple[int, int, int, int]) -> Any:
    """dL/dx: zero except at each window's arg-max, which gets the sum of its windows' dL/dy."""
    n, c, h, w = input_size
    xp = xp_of(grad_output)
    grad = xp.zeros((n * c, h * w), dtype=grad_output.dtype)
    planes = xp.arange(n * c)[:, None]
    scatter_add(grad, (planes, indices.reshape(n * c, -1)), grad_output.reshape(n * c, -1))
    return grad.reshape(input_size)
