"""softmax and log_softmax over one dim, stable and without forming the Jacobian; one_hot.

softmax:      s = e^(x - max) / Σ e^(x - max)
              dL/dx = s ⊙ (g - Σ g ⊙ s)          (the Jacobian diag(s) - s sᵀ applied to g)
log_softmax:  y = x - max - log Σ e^(x - max)
              dL/dx = g - e^y · Σ g              (since dy_i/dx_j = δ_ij - s_j)
"""

from __future__ import annotations

from typing import Any

from ... import kernels
from .. import backend, dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .operands import dim_or_axis, normalize_dim


def _fused_cuda(x: Any, dim: int) -> bool:
    """float32 CuPy arrays reduced over their last dim run the fused kernels (kernels/fused/)."""
    return dim == x.ndim - 1 and x.dtype == "float32" and backend.device_of(x) == "cuda"


class Softmax(Function):
    """s = softmax(x) along dim;  dL/dx = s ⊙ (g - Σ g ⊙ s)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = ctx.xp
        if _fused_cuda(x, dim):
            s = kernels.get("softmax", "cuda", x.dtype)(x)
        else:
            e = xp.exp(x - x.max(axis=dim, keepdims=True))
            s = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (s,) = ctx.saved_arrays
        if _fused_cuda(s, ctx.dim) and grad.dtype == s.dtype:
            return kernels.get("softmax_backward", "cuda", s.dtype)(s, grad)
        return s * (grad - (grad * s).sum(axis=ctx.dim, keepdims=True))


class LogSoftmax(Function):
    """y = log softmax(x) along dim;  dL/dx = g - e^y · Σ g"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = ctx.xp
        if _fused_cuda(x, dim):
            y = kernels.get("log_softmax", "cuda", x.dtype)(x)
        else:
            shifted = x - x.max(axis=dim, keepdims=True)
            y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (y,) = ctx.saved_arrays
        if _fused_cuda(y, ctx.dim) and grad.dtype == y.dtype:
            return kernels.get("log_softmax_backward", "cuda", y.dtype)(y, grad)
        return grad - ctx.xp.exp(y) * grad.sum(axis=ctx.dim, keepdims=True)


class OneHot(Function):
    """z[..., c] = 1 where c = index else 0 (int64); not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, index: Any, num_classes: int) -> Any:
        xp = ctx.xp
        return (index[..., None] == xp.arange(num_classes)).astype(dtypes.int64)


def float_input(op: str, input: Tensor, dtype: Any = None) -> Tensor:  # noqa: A002
    """``input`` cast to ``dtype`` when given; else it must be floating: PyTorch has no integer
    softmax and raises NotImplementedError (a RuntimeError) rather than promoting."""
    if dtype is not None:
        return input.to(dtype)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not dtypes.is_floating(input.dtype):
        raise NotImplementedError(
            f"{op}: not implemented for {input.dtype} input; pass a floating tensor (e.g. x.float()) or dtype="
        )
    return input


def softmax(input: Tensor, dim: int | None = -1, dtype: Any = None, *, axis: int | None = None) -> Tensor:  # noqa: A002
    x = float_input("softmax", input, dtype)
    return Softmax.apply(x, dim=normalize_dim("softmax", dim_or_axis("softmax", dim, axis, -1), x.ndim))


def log_softmax(input: Tensor, dim: int | None = -1, dtype: Any = None, *, axis: int | None = None) -> Tensor:  # noqa: A002
    x = float_input("log_softmax", input, dtype)
    return LogSoftmax.apply(x, dim=normalize_dim("log_softmax", dim_or_axis("log_softmax", dim, axis, -1), x.ndim))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (int64) to one-hot rows; ``num_classes=-1`` means max + 1."""
    if tensor.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expects an integer tensor of class indices, got {tensor.dtype}")
    if tensor.numel() and int(tensor.array.min()) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(tensor.array.min())}")
    top = int(tensor.array.max()) + 1 if tensor.numel() else 0
    if num_classes == -1:
        num_classes = top
    elif top > num_classes:
        raise RuntimeError(f"one_hot: class value {top - 1} is out of range for num_classes={num_classes}")
    return OneHot.apply(tensor, num_classes=num_classes)
