"""Batch, layer, group and RMS normalization, with their backward in closed form.

Batch, layer and group norm standardise x over some axes A and then scale and shift:

    μ = mean_A x,  rstd = 1/√(var_A x + ε),  x̂ = (x − μ)·rstd,  z = γ x̂ + β

with ĝ = γ ⊙ g (g = dL/dz), the chain rule through μ and rstd collapses to

    dL/dx = rstd·(ĝ − mean_A ĝ − x̂ · mean_A(ĝ ⊙ x̂))
    dL/dγ = Σ g ⊙ x̂,   dL/dβ = Σ g      (summed over all but γ's axes)

They differ only in A, and all three reach the ``layer_norm`` kernels (forward and
backward, over the last dim of a 2-D view; glassgrad/kernels/fused/): layer norm
uses the trailing ``normalized_shape`` dims of each sample, group norm each group
of channels of each sample (the (N·G, C/G·HW) view, γ and β applied per channel
here), batch norm the (N, *spatial) positions of each channel (its backward runs
on the channel-major (C, N·HW) view). Batch norm normalises with statistics it is
given — the batch's (its public function computes them, as it also updates the
running averages) or, in evaluation mode, the fixed running statistics, where μ
and rstd are constants and dL/dx = rstd·ĝ.

RMS norm (``rms_norm``, the ``rms_norm`` kernels) only rescales, over the trailing
dims: x̂ = x·rstd with rstd = 1/√(mean_A x² + ε) and z = γ x̂, so the mean term
drops out: dL/dx = rstd·(ĝ − x̂ · mean_A(ĝ ⊙ x̂)).

Each Function's ``decomposition`` is the same forward in engine ops (mean, rsqrt, ...), what a
recorded backward (``create_graph=True``) differentiates in place of the kernels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor


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
    if not dtypes.is_floating(dtype):
        raise NotImplementedError(f"{op}: not implemented for {dtype} tensors (floating point only)")


def norm_dtypes(op: str, input: Tensor, **params: Tensor | None) -> bool:
    """``same_float_dtype`` for a norm, which also takes a bfloat16/float16 input with float32 parameters
    and statistics (what a float32 layer receives under autocast): PyTorch's mixed-type norms, which
    normalise in float32 and return the input's dtype. True for such a mixed call."""
    given = [t for t in params.values() if t is not None]
    if input.dtype in dtypes.LOW_PRECISION and given and all(t.dtype == dtypes.float32 for t in given):
        return True
    same_float_dtype(op, input=input, **params)
    return False


def _affine_grads(grad: Any, x_hat: Any, weight: Any, bias: Any, axes: tuple[int, ...], shape: Any) -> tuple[Any, Any]:
    """(dL/dγ, dL/dβ) = (Σ g ⊙ x̂, Σ g) over ``axes``, reshaped to the parameters' ``shape``."""
    grad_weight = None if weight is None else (grad * x_hat).sum(axis=axes).reshape(shape)
    grad_bias = None if bias is None else grad.sum(axis=axes).reshape(shape)
    return grad_weight, grad_bias


def _channel_view(array: Any, ndim: int) -> Any:
    """A per-channel vector (C,) shaped (1, C, 1, ...) to broadcast over (N, C, ...)."""
    return None if array is None else array.reshape((1, -1) + (1,) * (ndim - 2))


def _per_channel_affine(x_hat: Any, weight: Any, bias: Any) -> Any:
    """z = γ_c x̂ + β_c over (N, C, ...) (either parameter may be None)."""
    w, b = _channel_view(weight, x_hat.ndim), _channel_view(bias, x_hat.ndim)
    z = x_hat if w is None else x_hat * w
    return z if b is None else z + b


def _trailing_rows(x: Any, normalized_ndim: int) -> Any:
    """x (..., *normalized_shape) as (..., D) with D = prod(normalized_shape): the kernels' last dim."""
    lead = x.shape[: x.ndim - normalized_ndim]
    return x.reshape(lead + (math.prod(x.shape[x.ndim - normalized_ndim :]),))


def _flat(vector: Any) -> Any:
    """A parameter of ``normalized_shape`` as the kernels' (D,) vector (None stays None)."""
    return None if vector is None else vector.reshape(-1)


def _channel_major(array: Any) -> Any:
    """(N, C, *spatial) as (C, N·HW): one row per channel, for the per-channel statistics."""
    return array.swapaxes(0, 1).reshape(array.shape[1], -1)


def _from_channel_major(rows: Any, shape: tuple[int, ...]) -> Any:
    """The inverse of ``_channel_major``: (C, N·HW) back to (N, C, *spatial)."""
    return rows.reshape((shape[1], shape[0], *shape[2:])).swapaxes(0, 1)


def _standardized(x: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """x̂ = (x − μ)/√(σ² + ε),  μ = mean_dims x,  σ² = mean_dims (x − μ)²  (engine ops, differentiable)"""
    centred = x - x.mean(dim=dims, keepdim=True)
    return centred * ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()


def _trailing_dims(x: Tensor, normalized_ndim: int) -> tuple[int, ...]:
    return tuple(range(x.ndim - normalized_ndim, x.ndim))


class BatchNorm(Function):
    """z = γ_c x̂ + β_c,  x̂ = (x − μ_c)·rstd_c,  rstd = 1/√(σ² + ε), per channel c of (N, C, *spatial),
    with the given statistics μ, σ². With ĝ = γ_c g:
    batch statistics (μ, σ² of x over (N, *spatial)):  dL/dx = rstd·(ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂));
    running statistics (constants):  dL/dx = rstd·ĝ;   both:  dL/dγ_c = Σ g ⊙ x̂,  dL/dβ_c = Σ g"""

    @staticmethod
    def forward(
        ctx: Context, x: Any, weight: Any, bias: Any, mean: Any, var: Any, eps: float, batch_stats: bool
    ) -> Any:
        rstd = 1 / ctx.xp.sqrt(var + eps)
        x_hat = (x - _channel_view(mean, x.ndim)) * _channel_view(rstd, x.ndim)
        ctx.save_for_backward(x if batch_stats else None, mean, rstd, x_hat, weight, bias)
        ctx.batch_stats = batch_stats
        return _per_channel_affine(x_hat, weight, bias)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, mean, rstd, x_hat, weight, bias = ctx.saved_arrays
        g_hat = grad if weight is None else grad * _channel_view(weight, grad.ndim)
        if ctx.batch_stats:
            rows_dx, _, _ = kernels.run("layer_norm_backward", _channel_major(g_hat), _channel_major(x), mean, rstd)
            grad_x = _from_channel_major(rows_dx, grad.shape)
        else:
            grad_x = g_hat * _channel_view(rstd, grad.ndim)
        axes = (0, *range(2, grad.ndim))
        return (grad_x, *_affine_grads(grad, x_hat, weight, bias, axes, (-1,)), None, None)

    @staticmethod
    def decomposition(
        x: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Any, var: Any, eps: float, batch_stats: bool
    ) -> Tensor:
        """z = γ_c x̂ + β_c;  batch statistics: x̂ = (x − μ_c)/√(σ_c² + ε) with μ, σ² (biased) of x over
        (N, *spatial);  running statistics: x̂ = (x − mean_c)·(1/√(var_c + ε)), mean and var constants"""
        if batch_stats:
            x_hat = _standardized(x, (0, *range(2, x.ndim)), eps)
        else:
            rstd = 1 / (Tensor(_channel_view(var, x.ndim)) + eps).sqrt()
            x_hat = (x - Tensor(_channel_view(mean, x.ndim))) * rstd
        return _per_channel_affine(x_hat, weight, bias)


class LayerNorm(Function):
    """z = γ ⊙ x̂ + β,  x̂ = (x − μ)·rstd, statistics over the last ``normalized_ndim`` dims of each sample;
    with ĝ = γ ⊙ g:  dL/dx = rstd·(ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂)),  dL/dγ = Σ g ⊙ x̂,  dL/dβ = Σ g"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, normalized_ndim: int, eps: float) -> Any:
        rows = _trailing_rows(x, normalized_ndim)
        z, mean, rstd = kernels.run("layer_norm", rows, _flat(weight), _flat(bias), eps=eps)
        ctx.save_for_backward(rows, mean, rstd, weight)
        ctx.normalized_shape = x.shape[x.ndim - normalized_ndim :]
        ctx.has_bias = bias is not None
        return z.reshape(x.shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        rows, mean, rstd, weight = ctx.saved_arrays
        dx, dw, db = kernels.run("layer_norm_backward", grad.reshape(rows.shape), rows, mean, rstd, _flat(weight))
        shape = ctx.normalized_shape
        return (
            dx.reshape(grad.shape),
            None if weight is None else dw.reshape(shape),
            db.reshape(shape) if ctx.has_bias else None,
        )

    @staticmethod
    def decomposition(
        x: Tensor, weight: Tensor | None, bias: Tensor | None, normalized_ndim: int, eps: float
    ) -> Tensor:
        """z = γ ⊙ (x − μ)/√(σ² + ε) + β,  μ, σ² (biased) over the last ``normalized_ndim`` dims"""
        z = _standardized(x, _trailing_dims(x, normalized_ndim), eps)
        z = z if weight is None else z * weight
        return z if bias is None else z + bias


class RMSNorm(Function):
    """z = γ ⊙ x̂,  x̂ = x·rstd,  rstd = 1/√(mean x² + ε) over the last ``normalized_ndim`` dims (no centring,
    no β); with ĝ = γ ⊙ g:  dL/dx = rstd·(ĝ − x̂ · mean(ĝ ⊙ x̂)),  dL/dγ = Σ g ⊙ x̂"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, normalized_ndim: int, eps: float | None) -> Any:
        rows = _trailing_rows(x, normalized_ndim)
        z, rstd = kernels.run("rms_norm", rows, _flat(weight), eps=eps)
        ctx.save_for_backward(rows, rstd, weight)
        return z.reshape(x.shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        rows, rstd, weight = ctx.saved_arrays
        dx, dw = kernels.run("rms_norm_backward", grad.reshape(rows.shape), rows, rstd, _flat(weight))
        return dx.reshape(grad.shape), None if weight is None else dw.reshape(weight.shape)

    @staticmethod
    def decomposition(x: Tensor, weight: Tensor | None, normalized_ndim: int, eps: float | None) -> Tensor:
        """z = γ ⊙ x/√(mean x² + ε) over the last ``normalized_ndim`` dims (ε = None: machine epsilon of the
        compute dtype, float32 for bfloat16 and float16)"""
        wide = x.to(dtypes.COMPUTE_DTYPE) if x.dtype in dtypes.LOW_PRECISION else x
        if eps is None:
            eps = float(np.finfo(wide.dtype).eps)
        z = wide * ((wide * wide).mean(dim=_trailing_dims(x, normalized_ndim), keepdim=True) + eps).rsqrt()
        z = z if weight is None else z * weight
        return z.to(x.dtype)


class GroupNorm(Function):
    """z = γ_c x̂ + β_c,  x̂ = (x − μ)·rstd, statistics over each group of C/G channels (and all spatial
    positions) of each sample: layer norm of the (N·G, C/G·HW) view. With ĝ = γ_c g:
    dL/dx = rstd·(ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂)) per group,  dL/dγ_c = Σ g ⊙ x̂,  dL/dβ_c = Σ g"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, num_groups: int, eps: float) -> Any:
        groups = x.reshape(x.shape[0] * num_groups, -1)
        x_hat, mean, rstd = kernels.run("layer_norm", groups, eps=eps)
        x_hat = x_hat.reshape(x.shape)
        ctx.save_for_backward(groups, mean, rstd, x_hat, weight, bias)
        return _per_channel_affine(x_hat, weight, bias)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        groups, mean, rstd, x_hat, weight, bias = ctx.saved_arrays
        g_hat = grad if weight is None else grad * _channel_view(weight, grad.ndim)
        dx, _, _ = kernels.run("layer_norm_backward", g_hat.reshape(groups.shape), groups, mean, rstd)
        axes = (0, *range(2, grad.ndim))
        return (dx.reshape(grad.shape), *_affine_grads(grad, x_hat, weight, bias, axes, (-1,)))

    @staticmethod
    def decomposition(x: Tensor, weight: Tensor | None, bias: Tensor | None, num_groups: int, eps: float) -> Tensor:
        """z = γ_c x̂ + β_c,  x̂ = (x − μ)/√(σ² + ε) with μ, σ² (biased) over each group of C/G channels
        (and all positions) of each sample, the rows of the (N, G, C/G·HW) view"""
        x_hat = _standardized(x.reshape(x.shape[0], num_groups, -1), (2,), eps).reshape(x.shape)
        return _per_channel_affine(x_hat, weight, bias)


# ------------------------------------------------------------ functional forms
def _check_vector(op: str, name: str, value: Tensor | None, shape: tuple[int, ...]) -> None:
    if value is None:
        return
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(value).__name__}")
    if value.shape != shape:
        raise RuntimeError(f"{op}: {name} must have shape {shape}, got {value.shape}")


def batch_norm(
    input: Tensor,
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
    stats = {"running_mean": running_mean, "running_var": running_var}
    if norm_dtypes(op, input, weight=weight, bias=bias, **stats):
        return batch_norm(input.float(), running_mean, running_var, weight, bias, training, momentum, eps).to(
            input.dtype
        )
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
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of each sample."""
    if autocast_state.enabled:
        input, weight, bias = autocast_args("layer_norm", input, weight, bias)
    op = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not isinstance(input, Tensor) or not shape or input.shape[input.ndim - len(shape) :] != shape:
        raise RuntimeError(
            f"{op}: input of shape {getattr(input, 'shape', input)} does not end in normalized_shape {shape}"
        )
    _check_vector(op, "weight", weight, shape)
    _check_vector(op, "bias", bias, shape)
    if norm_dtypes(op, input, weight=weight, bias=bias):
        return layer_norm(input.float(), shape, weight, bias, eps).to(input.dtype)
    return LayerNorm.apply(input, weight, bias, normalized_ndim=len(shape), eps=eps)


def rms_norm(
    input: Tensor,
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
        if t is not None and not dtypes.is_floating(t.dtype):
            raise NotImplementedError(f"{op}: not implemented for {name} of dtype {t.dtype} (floating point only)")
    return RMSNorm.apply(input, weight, normalized_ndim=len(shape), eps=eps)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each group of C/num_groups channels of each sample of (N, C, ...) input."""
    if autocast_state.enabled:
        input, weight, bias = autocast_args("group_norm", input, weight, bias)
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
    if norm_dtypes(op, input, weight=weight, bias=bias):
        return group_norm(input.float(), num_groups, weight, bias, eps).to(input.dtype)
    return GroupNorm.apply(input, weight, bias, num_groups=num_groups, eps=eps)
