"""Batch, layer, group and RMS normalization, with their backward in closed form.

Batch, layer and group norm standardise x over some axes A and then scale and shift:

    μ = mean_A x,  σ = √(var_A x + ε),  x̂ = (x − μ)/σ,  y = γ x̂ + β

with ĝ = γ·dL/dy, the chain rule through μ and σ collapses to

    dL/dx = (1/σ)·(ĝ − mean_A ĝ − x̂ · mean_A(ĝ ⊙ x̂))
    dL/dγ = Σ dL/dy ⊙ x̂,   dL/dβ = Σ dL/dy      (summed over all but γ's axes)

They differ only in A: batch norm uses (N, H, W) per channel, layer norm the
trailing ``normalized_shape`` dims per sample, group norm each group of channels
per sample. In evaluation mode batch norm uses fixed running statistics, so μ and
σ are constants and dL/dx = ĝ/σ.

RMS norm (``rms_norm``) only rescales, over the trailing dims: x̂ = x/ρ with
ρ = √(mean_A x² + ε) and y = γ x̂, so the mean term drops out:
dL/dx = (1/ρ)(ĝ − x̂ · mean_A(ĝ ⊙ x̂)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ... import kernels
from .. import backend
from ..function import Context, Function
from ..tensor import Tensor
from .operands import promote


def float_operands(op: str, *tensors: Tensor | None) -> tuple[Tensor | None, ...]:
    """``promote`` the given tensors to one floating dtype and device, passing None through
    (optional weights and biases)."""
    promoted = iter(promote(op, *[t for t in tensors if t is not None], to_float=True))
    return tuple(None if t is None else next(promoted) for t in tensors)


def same_dtype(op: str, **tensors: Tensor | None) -> None:
    """PyTorch's rule for layers (conv, linear, the norms): the input, weight, bias (and running
    statistics) are not promoted to a common dtype; different dtypes raise RuntimeError naming
    ``op``, the tensors and their dtypes. None (no bias) is skipped."""
    given = {name: t for name, t in tensors.items() if t is not None}
    for name, t in given.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if len({t.dtype for t in given.values()}) > 1:
        names = ", ".join(given)
        shown = ", ".join(f"{name} {t.dtype}" for name, t in given.items())
        raise RuntimeError(f"{op}: expected {names} to have the same dtype, but got {shown}")


def same_float_dtype(op: str, **tensors: Tensor | None) -> None:
    """``same_dtype``, and then integer or bool tensors raise NotImplementedError (as PyTorch's
    floating-point-only kernels do), naming ``op`` and the dtype."""
    same_dtype(op, **tensors)
    dtype = next(t for t in tensors.values() if t is not None).dtype
    if dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {dtype} tensors (floating point only)")


def standardize(xp: Any, x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any]:
    """(x̂, 1/σ) with statistics over ``axes`` (kept as size-1 dims)."""
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1 / xp.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return (x - mean) * inv_std, inv_std


def standardized_backward(g_hat: Any, x_hat: Any, inv_std: Any, axes: tuple[int, ...]) -> Any:
    """dL/dx = (1/σ)(ĝ − mean ĝ − x̂·mean(ĝ x̂)) when μ and σ are statistics of x over ``axes``."""
    mean_g = g_hat.mean(axis=axes, keepdims=True)
    mean_gx = (g_hat * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (g_hat - mean_g - x_hat * mean_gx)


def _affine_grads(grad: Any, x_hat: Any, weight: Any, bias: Any, axes: tuple[int, ...], shape: Any) -> tuple[Any, Any]:
    """(dL/dγ, dL/dβ) summed over ``axes`` and reshaped to the parameters' ``shape``."""
    grad_weight = None if weight is None else (grad * x_hat).sum(axis=axes).reshape(shape)
    grad_bias = None if bias is None else grad.sum(axis=axes).reshape(shape)
    return grad_weight, grad_bias


def _channel_view(array: Any, ndim: int) -> Any:
    """A per-channel vector (C,) shaped (1, C, 1, ...) to broadcast over (N, C, ...)."""
    return None if array is None else array.reshape((1, -1) + (1,) * (ndim - 2))


class BatchNorm(Function):
    """y = γ(x − μ)/σ + β per channel, statistics over (N, *spatial).
    Batch statistics: dL/dx = (1/σ)(ĝ − mean ĝ − x̂·mean(ĝ x̂));  running statistics: dL/dx = ĝ/σ."""

    @staticmethod
    def forward(
        ctx: Context, x: Any, weight: Any, bias: Any, mean: Any, var: Any, eps: float, batch_stats: bool
    ) -> Any:
        xp = ctx.xp
        inv_std = 1 / xp.sqrt(_channel_view(var, x.ndim) + eps)
        x_hat = (x - _channel_view(mean, x.ndim)) * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight, bias)
        ctx.batch_stats = batch_stats
        w, b = _channel_view(weight, x.ndim), _channel_view(bias, x.ndim)
        y = x_hat if w is None else x_hat * w
        return y if b is None else y + b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x_hat, inv_std, weight, bias = ctx.saved_arrays
        axes = (0, *range(2, grad.ndim))
        g_hat = grad if weight is None else grad * _channel_view(weight, grad.ndim)
        if ctx.batch_stats:
            grad_x = standardized_backward(g_hat, x_hat, inv_std, axes)
        else:
            grad_x = g_hat * inv_std
        grad_weight, grad_bias = _affine_grads(grad, x_hat, weight, bias, axes, (-1,))
        return grad_x, grad_weight, grad_bias, None, None


class LayerNorm(Function):
    """y = γ(x − μ)/σ + β, statistics over the last ``normalized_ndim`` dims of each sample;
    dL/dx = (1/σ)(ĝ − mean ĝ − x̂·mean(ĝ x̂))"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, normalized_ndim: int, eps: float) -> Any:
        ctx.fused = normalized_ndim == 1 and x.dtype == "float32" and backend.device_of(x) == "cuda"
        if ctx.fused:  # float32 on cuda over the last dim: the fused kernels (kernels/fused/)
            y, mean, rstd = kernels.get("layer_norm", "cuda", x.dtype)(x, weight, bias, eps)
            ctx.save_for_backward(x, mean, rstd, weight, bias)
            return y
        axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        x_hat, inv_std = standardize(ctx.xp, x, axes, eps)
        ctx.save_for_backward(x_hat, inv_std, weight, bias)
        ctx.axes = axes
        y = x_hat if weight is None else x_hat * weight
        return y if bias is None else y + bias

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        if ctx.fused:
            x, mean, rstd, weight, bias = ctx.saved_arrays
            dx, dw, db = kernels.get("layer_norm_backward", "cuda", x.dtype)(grad, x, mean, rstd, weight)
            return dx, None if weight is None else dw, None if bias is None else db
        x_hat, inv_std, weight, bias = ctx.saved_arrays
        g_hat = grad if weight is None else grad * weight
        grad_x = standardized_backward(g_hat, x_hat, inv_std, ctx.axes)
        lead = tuple(range(grad.ndim - len(ctx.axes)))
        shape = grad.shape[grad.ndim - len(ctx.axes) :]
        return (grad_x, *_affine_grads(grad, x_hat, weight, bias, lead, shape))


class RMSNorm(Function):
    """y = γ ⊙ x/ρ,  ρ = √(mean_A x² + ε) over the last ``normalized_ndim`` dims (no centring, no β);
    with x̂ = x/ρ and ĝ = γ·g:  dL/dx = (1/ρ)(ĝ − x̂·mean_A(ĝ ⊙ x̂)),  dL/dγ = Σ g ⊙ x̂"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, normalized_ndim: int, eps: float | None) -> Any:
        xp = ctx.xp
        axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        wide = x.astype(xp.float32) if x.dtype == xp.float16 else x  # as PyTorch: float16 computes in float32
        if eps is None:
            eps = float(xp.finfo(wide.dtype).eps)
        inv_rms = 1 / xp.sqrt((wide * wide).mean(axis=axes, keepdims=True) + eps)
        x_hat = wide * inv_rms
        ctx.save_for_backward(x_hat, inv_rms, weight)
        ctx.axes = axes
        y = x_hat if weight is None else x_hat * weight
        return y.astype(x.dtype, copy=False)  # the input's dtype, whatever the weight's

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x_hat, inv_rms, weight = ctx.saved_arrays
        axes = ctx.axes
        g_hat = grad if weight is None else grad * weight
        grad_x = inv_rms * (g_hat - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True))
        lead = tuple(range(grad.ndim - len(axes)))
        grad_weight = None if weight is None else (grad * x_hat).sum(axis=lead)
        return grad_x, grad_weight


class GroupNorm(Function):
    """y = γ(x − μ)/σ + β per channel, statistics over each group of C/G channels (and
    all spatial positions) of each sample; dL/dx = (1/σ)(ĝ − mean ĝ − x̂·mean(ĝ x̂)) per group"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, num_groups: int, eps: float) -> Any:
        grouped = x.reshape(x.shape[0], num_groups, -1)
        x_hat, inv_std = standardize(ctx.xp, grouped, (2,), eps)
        x_hat = x_hat.reshape(x.shape)
        ctx.save_for_backward(x_hat, inv_std, weight, bias)
        ctx.num_groups = num_groups
        w, b = _channel_view(weight, x.ndim), _channel_view(bias, x.ndim)
        y = x_hat if w is None else x_hat * w
        return y if b is None else y + b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x_hat, inv_std, weight, bias = ctx.saved_arrays
        g_hat = grad if weight is None else grad * _channel_view(weight, grad.ndim)
        groups = (grad.shape[0], ctx.num_groups, -1)
        grad_x = standardized_backward(g_hat.reshape(groups), x_hat.reshape(groups), inv_std, (2,))
        axes = (0, *range(2, grad.ndim))
        return (grad_x.reshape(grad.shape), *_affine_grads(grad, x_hat, weight, bias, axes, (-1,)))


# ------------------------------------------------------------ functional forms
def _check_vector(op: str, name: str, value: Tensor | None, shape: tuple[int, ...]) -> None:
    if value is None:
        return
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(value).__name__}")
    if value.shape != shape:
        raise RuntimeError(f"{op}: {name} must have shape {shape}, got {value.shape}")


def batch_norm(
    input: Tensor,  # noqa: A002
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of (N, C, ...) input.

    Training: batch statistics, and the running ones (when given) move by
    ``r ← (1 − momentum)·r + momentum·batch`` — the variance in its unbiased form
    (·n/(n−1)). Evaluation: the running statistics.
    """
    op = "batch_norm"
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise RuntimeError(
            f"{op}: expected input of shape (N, C, ...) with at least 2 dims, got {getattr(input, 'shape', input)}"
        )
    channels = (input.shape[1],)
    for name, value in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _check_vector(op, name, value, channels)
    if (running_mean is None) != (running_var is None):
        raise RuntimeError(f"{op}: running_mean and running_var must both be given or both be None")
    if not training and running_mean is None:
        raise RuntimeError(f"{op}: evaluation (training=False) needs running_mean and running_var")
    same_float_dtype(op, input=input, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    x, w, b = input, weight, bias
    if not training:
        return BatchNorm.apply(x, w, b, running_mean.array, running_var.array, eps=eps, batch_stats=False)

    count = x.numel() // channels[0]
    if count <= 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got input size {input.shape}")
    axes = (0, *range(2, x.ndim))
    mean, var = x.array.mean(axis=axes), x.array.var(axis=axes)
    out = BatchNorm.apply(x, w, b, mean, var, eps=eps, batch_stats=True)
    if running_mean is not None:
        running_mean.array[...] = (1 - momentum) * running_mean.array + momentum * mean
        running_var.array[...] = (1 - momentum) * running_var.array + momentum * var * (count / (count - 1))
    return out


def layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of each sample."""
    op = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not isinstance(input, Tensor) or not shape or input.shape[input.ndim - len(shape) :] != shape:
        raise RuntimeError(
            f"{op}: input of shape {getattr(input, 'shape', input)} does not end in normalized_shape {shape}"
        )
    _check_vector(op, "weight", weight, shape)
    _check_vector(op, "bias", bias, shape)
    same_float_dtype(op, input=input, weight=weight, bias=bias)
    return LayerNorm.apply(input, weight, bias, normalized_ndim=len(shape), eps=eps)


def rms_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / √(mean x² + eps) · weight over the trailing ``normalized_shape`` dims;
    ``eps=None`` is ``finfo(input.dtype).eps``. The result has the input's dtype (as PyTorch)."""
    op = "rms_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not shape or input.shape[input.ndim - len(shape) :] != shape:
        raise RuntimeError(
            f"{op}: given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size {list(input.shape)}"
        )
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape != shape):
        raise RuntimeError(
            f"{op}: expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(getattr(weight, 'shape', ()))} and normalized_shape = {list(shape)}"
        )
    for name, t in (("input", input), ("weight", weight)):
        if t is not None and t.dtype.kind != "f":
            raise NotImplementedError(f"{op}: not implemented for {name} of dtype {t.dtype} (floating point only)")
    return RMSNorm.apply(input, weight, normalized_ndim=len(shape), eps=eps)


def group_norm(
    input: Tensor,  # noqa: A002
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each group of C/num_groups channels of each sample of (N, C, ...) input."""
    op = "group_norm"
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise RuntimeError(f"{op}: expected input of shape (N, C, ...), got {getattr(input, 'shape', input)}")
    channels = input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(f"{op}: num_channels {channels} must be divisible by num_groups {num_groups}")
    _check_vector(op, "weight", weight, (channels,))
    _check_vector(op, "bias", bias, (channels,))
    if math.prod(input.shape) == 0:
        raise RuntimeError(f"{op}: input of shape {input.shape} is empty")
    same_float_dtype(op, input=input, weight=weight, bias=bias)
    return GroupNorm.apply(input, weight, bias, num_groups=num_groups, eps=eps)
