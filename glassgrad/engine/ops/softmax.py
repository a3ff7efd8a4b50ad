"""softmax and log_softmax over one dim, computed by the kernel registry; one_hot.

softmax:      z = e^(x − max) / Σ e^(x − max);   dL/dx = z ⊙ (g − Σ g ⊙ z)
              (the Jacobian diag(z) − z zᵀ applied to g, never formed)
log_softmax:  z = x − max − log Σ e^(x − max);   dL/dx = g − e^z · Σ g
              (since dz_i/dx_j = δ_ij − softmax_j)

The math lives in the kernels (glassgrad/kernels/fused/: the NumPy/CuPy reference,
a numba variant on cpu, CUDA kernels on cuda); each Function makes one
``kernels.run`` call per direction and saves the output for backward. Its ``decomposition``, the
same forward in engine ops, is what a recorded backward (``create_graph=True``) differentiates.
"""

from __future__ import annotations

from typing import Any

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .operands import dim_or_axis, normalize_dim


class Softmax(Function):
    """z = softmax(x) along dim;  dL/dx = z ⊙ (g − Σ_dim g ⊙ z)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        z = kernels.run("softmax", x, dim=dim)
        ctx.save_for_backward(z)
        ctx.dim = dim
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return kernels.run("softmax_backward", z, grad, dim=ctx.dim)

    @staticmethod
    def decomposition(x: Tensor, dim: int) -> Tensor:
        """z = e^(x − m) / Σ_dim e^(x − m),  m = max_dim x (a constant: it cancels)"""
        e = (x - x.amax(dim=dim, keepdim=True).detach()).exp()
        return e / e.sum(dim=dim, keepdim=True)


class LogSoftmax(Function):
    """z = log softmax(x) along dim;  dL/dx = g − e^z · Σ_dim g"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        z = kernels.run("log_softmax", x, dim=dim)
        ctx.save_for_backward(z)
        ctx.dim = dim
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return kernels.run("log_softmax_backward", z, grad, dim=ctx.dim)

    @staticmethod
    def decomposition(x: Tensor, dim: int) -> Tensor:
        """z = (x − m) − log Σ_dim e^(x − m),  m = max_dim x (a constant: it cancels)"""
        shifted = x - x.amax(dim=dim, keepdim=True).detach()
        return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


class OneHot(Function):
    """z[..., c] = 1 where c = index else 0 (int64); not differentiable (no dL/dindex)."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, index: Any, num_classes: int) -> Any:
        xp = ctx.xp
        return (index[..., None] == xp.arange(num_classes)).astype(dtypes.int64)


def float_input(op: str, input: Tensor, dtype: Any = None) -> Tensor:
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


def softmax(input: Tensor, dim: int | None = -1, dtype: Any = None, *, axis: int | None = None) -> Tensor:
    if autocast_state.enabled:
        (input,) = autocast_args("softmax", input)
    x = float_input("softmax", input, dtype)
    return Softmax.apply(x, dim=normalize_dim("softmax", dim_or_axis("softmax", dim, axis, -1), x.ndim))


def log_softmax(input: Tensor, dim: int | None = -1, dtype: Any = None, *, axis: int | None = None) -> Tensor:
    if autocast_state.enabled:
        (input,) = autocast_args("log_softmax", input)
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
