"""Convolution: conv2d, conv1d (a conv2d of height 1) and conv_transpose2d.

    z[n, o] = b[o] + Σ_{c ∈ group(o)} Σ_{i,j} W[o, c, i, j] · x_pad[n, c, oh·s + i·d, ow·s + j·d]

Every output is a dot product of a weight filter with a window of the input,
so each input pixel and each weight gets back the output gradients it touched
(g = dL/dz):

    dL/dx = conv_transpose2d(g, W)      (each window scattered back, weighted by W)
    dL/dW = Σₙ g ⋆ x                    (output gradient correlated with the input)
    dL/db = Σ_{n, oh, ow} g

The three run in the kernel lab (``conv2d``, ``conv2d_grad_input``,
``conv2d_grad_weight``; ``glassgrad.kernels.use("conv2d", name)`` picks a
variant). conv_transpose2d *is* conv2d's input gradient, so its own gradients
are conv2d (for its input) and conv2d's weight gradient (for its weight).

A recorded backward (``create_graph``) differentiates each op's ``decomposition`` instead: conv2d
as unfold (im2col) and a matmul, conv_transpose2d as a matmul and fold (col2im).
"""

from __future__ import annotations

from typing import Any

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from ...kernels.conv2d.geometry import ConvGeometry
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .fold import Fold, Unfold
from .normalization import same_float_dtype
from .operands import conv_padding, int_tuple
from .shape import pad, squeeze, unsqueeze


class Conv2d(Function):
    """z = conv2d(x, W) + b;  dL/dx = conv2d_grad_input(g, W),  dL/dW = conv2d_grad_weight(x, g),
    dL/db = Σ_{n,h,w} g"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, **options: Any) -> Any:
        y = kernels.run("conv2d", x, weight, bias, **options)
        ctx.save_for_backward(x, weight)
        ctx.options = options
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_arrays
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = kernels.run("conv2d_grad_input", grad, weight, x.shape, **ctx.options) if need_x else None
        gw = kernels.run("conv2d_grad_weight", x, grad, weight.shape, **ctx.options) if need_w else None
        gb = dtypes.summed(grad, (0, 2, 3)) if need_b else None
        return gx, gw, gb

    @staticmethod
    def decomposition(
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> Tensor:
        """z[n, g·O/G + o] = W_g[o] · unfold(x)[n, g] + b per group g (im2col and a batched matmul; the
        columns' rows are (c, i, j), so a group's channels are one contiguous run of rows)."""
        n, c, h, w = x.shape
        out, per_group, kh, kw = weight.shape
        geometry = ConvGeometry(n, c, h, w, 1, (kh, kw), stride, padding, dilation, 1)
        cols = Unfold.apply(x, geometry=geometry).reshape(n, groups, per_group * kh * kw, geometry.positions)
        z = weight.reshape(groups, out // groups, per_group * kh * kw) @ cols
        z = z.reshape(n, out, geometry.out_height, geometry.out_width)
        return z if bias is None else z + bias.reshape(1, out, 1, 1)


class ConvTranspose2d(Function):
    """z = conv2d_grad_input(x, W) + b (the adjoint of conv2d);  dL/dx = conv2d(g, W),
    dL/dW = conv2d_grad_weight(g, x),  dL/db = Σ_{n,h,w} g

    ``window`` is set when output_padding ≥ stride (allowed while it is below the dilation):
    conv2d over the output then has more positions than x, so the kernels run unpadded over
    the full (H − 1)·s + d·(k − 1) + 1 rows and z is rows p … p + H_out of that (zeros past its end):
    dL/dx and dL/dW then take g placed back into those rows."""

    @staticmethod
    def forward(
        ctx: Context, x: Any, weight: Any, bias: Any, output_size: tuple[int, ...], window: Any, **options: Any
    ) -> Any:
        if window is None:
            y = kernels.run("conv2d_grad_input", x, weight, output_size, **options)
        else:
            start, full = window
            z = kernels.run("conv2d_grad_input", x, weight, (*output_size[:2], *full), **options)
            y = _crop(ctx.xp, z, start, output_size)
        ctx.save_for_backward(x, weight)
        ctx.options, ctx.window = options, window
        return y if bias is None else y + bias.reshape(1, -1, 1, 1)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_arrays
        need_x, need_w, need_b = ctx.needs_input_grad
        gb = dtypes.summed(grad, (0, 2, 3)) if need_b else None
        if ctx.window is not None:  # g back into the rows of the full output it was cropped from
            start, full = ctx.window
            grad = _uncrop(ctx.xp, grad, start, (*grad.shape[:2], *full))
        gx = kernels.run("conv2d", grad, weight, None, **ctx.options) if need_x else None
        gw = kernels.run("conv2d_grad_weight", grad, x, weight.shape, **ctx.options) if need_w else None
        return gx, gw, gb

    @staticmethod
    def decomposition(
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        output_size: tuple[int, ...],
        window: Any,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> Tensor:
        """z = fold(W_gᵀ · x_g) + b per group g (col2im of each input pixel's weighted filter taps;
        the adjoint of conv2d's im2col form), cropped to ``window`` when one is set."""
        n, c, h, w = x.shape
        per_group, kh, kw = weight.shape[1:]
        out = per_group * groups
        taps = weight.reshape(groups, c // groups, per_group * kh * kw).transpose(-1, -2)
        cols = (taps @ x.reshape(n, groups, c // groups, h * w)).reshape(n, out * kh * kw, h * w)
        size = output_size[2:] if window is None else window[1]
        z = Fold.apply(cols, geometry=ConvGeometry(n, out, *size, 1, (kh, kw), stride, padding, dilation, 1))
        if window is not None:  # rows start … start + H_out of the full output, zeros past its end
            (p0, p1), (f0, f1) = window
            (s0, s1) = output_size[2:]
            z = pad(z, (-p1, s1 - (f1 - p1), -p0, s0 - (f0 - p0)))
        return z if bias is None else z + bias.reshape(1, out, 1, 1)


def _overlap(start: tuple[int, int], size: tuple[int, ...], full: tuple[int, ...]) -> tuple[Any, Any]:
    """The slices of a (.., size) window starting at ``start`` in (.., full) rows, and of the window itself."""
    inner = tuple(slice(p, min(f, p + n)) for p, n, f in zip(start, size[2:], full[2:], strict=True))
    outer = tuple(slice(0, s.stop - s.start) for s in inner)
    return (..., *inner), (..., *outer)


def _crop(xp: Any, z: Any, start: tuple[int, int], size: tuple[int, ...]) -> Any:
    """Rows start … start + size of z, zeros where they run past z's end."""
    y = xp.zeros(size, dtype=z.dtype)
    inner, outer = _overlap(start, size, z.shape)
    y[outer] = z[inner]
    return y


def _uncrop(xp: Any, y: Any, start: tuple[int, int], full: tuple[int, ...]) -> Any:
    """The adjoint of ``_crop``: y placed at ``start`` in zeros of shape ``full``."""
    z = xp.zeros(full, dtype=y.dtype)
    inner, outer = _overlap(start, y.shape, full)
    z[inner] = y[outer]
    return z


def _check_shapes(op: str, input: Tensor, weight: Tensor, bias: Tensor | None, dims: int) -> None:
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D input, got shape {input.shape}")
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 2}-D weight, got shape {weight.shape}")
    if bias is not None and bias.shape != (weight.shape[0],) and op != "conv_transpose2d":
        raise RuntimeError(f"{op}: bias of shape {bias.shape} should be ({weight.shape[0]},) for weight {weight.shape}")


def conv2d(
    input: Tensor,  # PyTorch's name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: str | int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of an (N, C, H, W) or (C, H, W) input
    with an (O, C/groups, kh, kw) weight; ``padding`` is ints, "same" or "valid"."""
    if autocast_state.enabled:
        input, weight, bias = autocast_args("conv2d", input, weight, bias)
    same_float_dtype("conv2d", input=input, weight=weight, bias=bias)
    _check_shapes("conv2d", input, weight, bias, 2)
    if not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f"conv2d: groups must be a positive int, got {groups!r}")
    stride, dilation = int_tuple("conv2d", "stride", stride, 2, 1), int_tuple("conv2d", "dilation", dilation, 2, 1)
    before, after = conv_padding("conv2d", padding, weight.shape[2:], dilation, stride)
    unbatched = input.ndim == 3
    x = unsqueeze(input, 0) if unbatched else input
    if before != after:  # "same" with an odd total: the extra zero after goes in first (the kernels pad evenly)
        x = pad(x, (0, after[1] - before[1], 0, after[0] - before[0]))
    options = {"stride": stride, "padding": before, "dilation": dilation, "groups": groups}
    ConvGeometry.of(x.shape, weight.shape, **options)  # shape errors before any work
    y = Conv2d.apply(x, weight, bias, **options)
    return squeeze(y, 0) if unbatched else y


def conv1d(
    input: Tensor,  # PyTorch's name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int] = 1,
    padding: str | int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of an (N, C, L) or (C, L) input with an (O, C/groups, k) weight,
    computed as a conv2d over a height-1 image."""
    if autocast_state.enabled:
        input, weight, bias = autocast_args("conv1d", input, weight, bias)
    op = "conv1d"
    same_float_dtype(op, input=input, weight=weight, bias=bias)
    _check_shapes(op, input, weight, bias, 1)
    (s,), (d,) = int_tuple(op, "stride", stride, 1, 1), int_tuple(op, "dilation", dilation, 1, 1)
    (before,), (after,) = conv_padding(op, padding, weight.shape[2:], (d,), (s,))
    if isinstance(groups, int) and groups >= 1:  # conv2d's checks, with the 1-d shapes the user passed
        channels, (out, per_group, k) = input.shape[-2], weight.shape
        if out % groups:
            raise RuntimeError(f"conv1d: groups={groups} must divide weight.shape[0], got weight {weight.shape}")
        if per_group * groups != channels:
            raise RuntimeError(
                f"conv1d: input {input.shape} has {channels} channels but weight {weight.shape} "
                f"expects {per_group} × groups ({groups}) = {per_group * groups}"
            )
        if input.shape[-1] + before + after < d * (k - 1) + 1:
            raise RuntimeError(
                f"conv1d: kernel of size {k} (dilated span {d * (k - 1) + 1}) is larger than the padded "
                f"input ({input.shape[-1] + before + after}) (input {input.shape}, padding {padding!r})"
            )
    padding2 = (0, before) if before == after else padding  # an uneven "same" is padded by conv2d
    y = conv2d(unsqueeze(input, -2), unsqueeze(weight, 2), bias, (1, s), padding2, (1, d), groups)
    return squeeze(y, -2)


def conv_transpose2d(
    input: Tensor,  # PyTorch's name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Transposed convolution of an (N, C, H, W) input with a (C, O/groups, kh, kw) weight:
    the gradient of conv2d with respect to its input. Output size per dim:
    (H − 1)·s − 2p + d·(k − 1) + output_padding + 1."""
    if autocast_state.enabled:
        input, weight, bias = autocast_args("conv_transpose2d", input, weight, bias)
    op = "conv_transpose2d"
    same_float_dtype(op, input=input, weight=weight, bias=bias)
    _check_shapes(op, input, weight, None, 2)
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: groups={groups!r} must be a positive int dividing weight.shape[0] ({weight.shape[0]})"
        )
    out_channels = weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise RuntimeError(f"{op}: bias of shape {bias.shape} should be ({out_channels},) for weight {weight.shape}")
    stride, padding = int_tuple(op, "stride", stride, 2, 1), int_tuple(op, "padding", padding, 2, 0)
    dilation, output_padding = (
        int_tuple(op, "dilation", dilation, 2, 1),
        int_tuple(op, "output_padding", output_padding, 2, 0),
    )
    if any(extra >= max(s, d) for extra, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise RuntimeError(
            f"{op}: output_padding {output_padding} must be smaller than either stride {stride} or dilation {dilation}"
        )
    unbatched = input.ndim == 3
    x = unsqueeze(input, 0) if unbatched else input
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"{op}: input {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects {weight.shape[0]}"
        )
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for n, s, p, d, k, extra in zip(
            x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding, strict=True
        )
    )
    if min(size) < 1:
        raise RuntimeError(
            f"{op}: input {x.shape} with weight {weight.shape} and padding {padding} gives output size {size}"
        )
    window = None
    if any(extra >= s for extra, s in zip(output_padding, stride, strict=True)):  # see ConvTranspose2d
        full = tuple(
            (n - 1) * s + d * (k - 1) + 1
            for n, s, d, k in zip(x.shape[2:], stride, dilation, weight.shape[2:], strict=True)
        )
        window, padding = (padding, full), (0, 0)
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    y = ConvTranspose2d.apply(x, weight, bias, output_size=(x.shape[0], out_channels, *size), window=window, **options)
    return squeeze(y, 0) if unbatched else y
