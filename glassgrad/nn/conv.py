"""Convolution modules: Conv1d, Conv2d, ConvTranspose2d, and Unfold / Fold (the convolution itself
is ``F.conv1d`` / ``F.conv2d`` / ``F.conv_transpose2d``, the sliding blocks ``F.unfold`` / ``F.fold``).

Weight layout is PyTorch's: (out_channels, in_channels / groups, *kernel_size), and for the
transposed convolution (in_channels, out_channels / groups, *kernel_size).
Initialisation as PyTorch: W ~ kaiming_uniform_(a=√5) = U(±1/√fan_in), b ~ U(±1/√fan_in),
fan_in = weight.shape[1] · ∏ kernel_size (in_channels / groups, or out_channels / groups when transposed).

``padding="same"`` keeps the spatial size (stride 1): each dim gets d(k − 1) zeros,
half before and the rest after — one more after when the total is odd, as PyTorch.
"""

from __future__ import annotations

from typing import Any

from ..amp.autocast_mode import autocast_state
from ..engine import creation
from ..engine.ops.checks import named
from ..engine.ops.normalization import same_float_dtype
from ..engine.ops.operands import conv_padding, int_tuple
from ..engine.tensor import Tensor
from . import functional as F
from . import init
from .linear import check_positive_int
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    dims: int
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: str | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self.dims
        check_positive_int(name, in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: padding_mode must be 'zeros' (the only mode glassgrad has), got {padding_mode!r}"
            )
        # checked here (ValueError, as PyTorch's layers for padding strings), where PyTorch waits for forward
        self.kernel_size = int_tuple(name, "kernel_size", kernel_size, n, 1, error=ValueError)
        self.stride = int_tuple(name, "stride", stride, n, 1, error=ValueError)
        self.dilation = int_tuple(name, "dilation", dilation, n, 1, error=ValueError)
        before, _ = conv_padding(name, padding, self.kernel_size, self.dilation, self.stride, error=ValueError)
        self.padding: str | tuple[int, ...] = padding if isinstance(padding, str) else before
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(creation.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=5**0.5)
        if self.bias is not None:
            init.fan_in_bias_(self.bias, self.weight)

    def _check_input(self, input: Tensor) -> None:
        name, n = type(self).__name__, self.dims
        if not isinstance(input, Tensor) or input.ndim not in (n + 1, n + 2):
            raise RuntimeError(
                f"{name}: expected a {n + 2}-d (batched) or {n + 1}-d (unbatched) input, got {getattr(input, 'shape', input)}"
            )
        channels = input.shape[-n - 1]
        if channels != self.in_channels:
            raise RuntimeError(f"{name}: expected input with {self.in_channels} channels, got shape {input.shape}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        if not autocast_state.enabled:  # under autocast the functional form checks the operands it casts
            same_float_dtype(type(self).__name__, input=input, weight=self.weight, bias=self.bias)
        with named(type(self).__name__, "conv1d", "conv2d"):
            return self._conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0,) * self.dims) != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-d convolution (cross-correlation) over (N, C_in, L) → (N, C_out, L_out)."""

    dims = 1

    @staticmethod
    def _conv(*args: Any) -> Tensor:
        return F.conv1d(*args)


class Conv2d(_ConvNd):
    """2-d convolution (cross-correlation) over (N, C_in, H, W) → (N, C_out, H_out, W_out)."""

    dims = 2

    @staticmethod
    def _conv(*args: Any) -> Tensor:
        return F.conv2d(*args)


class ConvTranspose2d(_ConvNd):
    """2-d transposed convolution (conv2d's input gradient) over (N, C_in, H, W) → (N, C_out, H_out, W_out),
    H_out = (H − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1;
    weight (in_channels, out_channels / groups, kh, kw)."""

    dims = 2
    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        int_tuple("ConvTranspose2d", "padding", padding, 2, 0, error=ValueError)  # no "same" for a transposed conv
        self.output_padding = int_tuple("ConvTranspose2d", "output_padding", output_padding, 2, 0, error=ValueError)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """output_padding, or the one that gives ``output_size`` ((H, W), or with the leading dims)."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)
        leading = input.ndim - 2
        if len(size) == leading + 2:
            size = size[leading:]
        if len(size) != 2:
            raise ValueError(
                f"ConvTranspose2d: for {input.ndim}D input, output_size must have 2 or {leading + 2} elements "
                f"(got {len(size)})"
            )
        smallest = tuple(
            (n - 1) * s - 2 * p + d * (k - 1) + 1
            for n, s, p, d, k in zip(
                input.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size, strict=True
            )
        )
        largest = tuple(m + s - 1 for m, s in zip(smallest, self.stride, strict=True))
        if any(not lo <= n <= hi for n, lo, hi in zip(size, smallest, largest, strict=True)):
            raise ValueError(
                f"ConvTranspose2d: requested an output size of {list(size)}, but valid sizes range from "
                f"{list(smallest)} to {list(largest)} (for an input of {tuple(input.shape[-2:])})"
            )
        return tuple(n - m for n, m in zip(size, smallest, strict=True))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        self._check_input(input)
        if not autocast_state.enabled:
            same_float_dtype("ConvTranspose2d", input=input, weight=self.weight, bias=self.bias)
        output_padding = self._output_padding(input, output_size)
        with named("ConvTranspose2d", "conv_transpose2d", "conv2d"):
            return F.conv_transpose2d(
                input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation
            )


class Unfold(Module):
    """Sliding blocks of an image as columns, (N, C, H, W) → (N, C·∏kernel_size, L); see ``F.unfold``."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        dilation: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns summed back into an image, (N, C·∏kernel_size, L) → (N, C, *output_size); see ``F.fold``."""

    def __init__(
        self,
        output_size: int | tuple[int, int],
        kernel_size: int | tuple[int, int],
        dilation: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )
