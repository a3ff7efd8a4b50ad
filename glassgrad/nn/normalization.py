"""Normalization modules: BatchNorm1d/2d (with running statistics), LayerNorm, GroupNorm, RMSNorm.
The math and the closed-form backward are in ``engine/ops/normalization.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine import creation, dtypes
from ..engine.ops.checks import named
from ..engine.ops.normalization import norm_dtypes
from ..engine.tensor import Tensor
from . import functional as F
from . import init
from .linear import check_positive_int
from .module import Module
from .parameter import Parameter


def _affine_parameters(
    module: Module, affine: bool, bias: bool, shape: tuple[int, ...], device: Any, dtype: Any
) -> None:
    """Register γ (ones) and β (zeros) of ``shape``, or None placeholders without affine/bias."""
    if affine:
        module.weight = Parameter(creation.ones(*shape, device=device, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(creation.zeros(*shape, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


class _BatchNorm(Module):
    """Per-channel normalisation with batch statistics while training and running
    statistics in eval mode. ``momentum=None`` makes the running statistics a plain
    cumulative average over the batches seen (momentum = 1/num_batches_tracked)."""

    input_dims: tuple[int, ...]

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int(type(self).__name__, num_features=num_features)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, affine, bias, (num_features,), device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in self.input_dims:
            dims = " or ".join(f"{d}D" for d in self.input_dims)
            raise ValueError(f"{name}: expected {dims} input, got shape {getattr(input, 'shape', input)}")
        if input.shape[1] != self.num_features:
            raise RuntimeError(
                f"{name}: expected {self.num_features} channels (dim 1), got input of shape {input.shape}"
            )
        norm_dtypes(
            name,
            input,
            weight=self.weight,
            bias=self.bias,
            running_mean=self.running_mean,
            running_var=self.running_var,
        )
        counting = self.training and self.track_running_stats
        momentum = self.momentum
        if counting and momentum is None:
            momentum = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        with named(name, "batch_norm"):
            out = F.batch_norm(
                input,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                self.training or self.running_mean is None,
                0.0 if momentum is None else momentum,
                self.eps,
            )
        if counting:  # only after F.batch_norm has accepted the input
            self.num_batches_tracked.array[...] += 1
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input: statistics over N (and L) per channel."""

    input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input: statistics over N, H, W per channel."""

    input_dims = (4,)


class LayerNorm(Module):
    """Normalise each sample over its trailing ``normalized_shape`` dims; γ = 1, β = 0 initially."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, shape, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        norm_dtypes("LayerNorm", input, weight=self.weight, bias=self.bias)
        with named("LayerNorm", "layer_norm"):
            return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalise each group of num_channels/num_groups channels per sample; γ = 1, β = 0 initially."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int("GroupNorm", num_groups=num_groups, num_channels=num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, affine, bias, (num_channels,), device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        norm_dtypes("GroupNorm", input, weight=self.weight, bias=self.bias)
        with named("GroupNorm", "group_norm"):
            return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class RMSNorm(Module):
    """Rescale each sample by the root mean square of its trailing ``normalized_shape`` dims;
    γ = 1 initially, no β. ``eps=None`` is ``finfo(input.dtype).eps`` (see ``F.rms_norm``)."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in shape):
            raise ValueError(f"RMSNorm: normalized_shape must be non-negative ints, got {normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        if isinstance(input, Tensor) and not dtypes.is_floating(input.dtype):
            raise NotImplementedError(f"RMSNorm: not implemented for {input.dtype} input (floating point only)")
        with named("RMSNorm", "rms_norm"):
            return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
