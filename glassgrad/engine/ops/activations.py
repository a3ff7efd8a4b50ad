"""Activation functions, each with its derivative.

PyTorch's conventions at the kinks: relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = 1 (x > 0 branch only for x > 0).
"""

from __future__ import annotations

import math
from typing import Any

from ..function import Context, Function
from ..special import erf
from ..tensor import Tensor
from .operands import promote


class ReLU(Function):
    """z = max(x, 0);  dz/dx = 1 if x > 0 else 0"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = ctx.xp.maximum(x, 0)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * (z > 0)


class LeakyReLU(Function):
    """z = x if x > 0 else a·x;  dz/dx = 1 if x > 0 else a"""

    @staticmethod
    def forward(ctx: Context, x: Any, negative_slope: float) -> Any:
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return ctx.xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return ctx.xp.where(x > 0, grad, grad * ctx.slope)


class ELU(Function):
    """z = x if x > 0 else α(eˣ - 1);  dz/dx = 1 if x > 0 else z + α"""

    @staticmethod
    def forward(ctx: Context, x: Any, alpha: float) -> Any:
        xp = ctx.xp
        z = xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(x, z)
        ctx.alpha = alpha
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, z = ctx.saved_arrays
        return ctx.xp.where(x > 0, grad, grad * (z + ctx.alpha))


class GELU(Function):
    """Exact:  z = x·Φ(x), Φ(x) = ½(1 + erf(x/√2));  dz/dx = Φ(x) + x·φ(x), φ(x) = e^(-x²/2)/√(2π)

    Tanh:   z = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³);
            dz/dx = ½(1 + tanh u) + ½x(1 - tanh²u)·√(2/π)(1 + 3·0.044715x²)
    """

    @staticmethod
    def forward(ctx: Context, x: Any, approximate: str) -> Any:
        xp = ctx.xp
        ctx.approximate = approximate
        if approximate == "tanh":
            t = xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = 0.5 * (1 + erf(xp, x * (1 / math.sqrt(2))))
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        x, saved = ctx.saved_arrays
        if ctx.approximate == "tanh":
            t = saved
            du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (saved + x * pdf)


class SiLU(Function):
    """z = x·σ(x);  dz/dx = σ(x)(1 + x(1 - σ(x)))"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        e = xp.exp(-xp.abs(x))
        s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, s = ctx.saved_arrays
        return grad * s * (1 + x * (1 - s))


class Softplus(Function):
    """z = ln(1 + e^(βx))/β (z = x where βx > threshold);  dz/dx = σ(βx) (1 there)"""

    @staticmethod
    def forward(ctx: Context, x: Any, beta: float, threshold: float) -> Any:
        xp = ctx.xp
        bx = beta * x
        ctx.save_for_backward(bx)
        ctx.threshold = threshold
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
        return xp.where(bx > threshold, x, soft)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        (bx,) = ctx.saved_arrays
        e = xp.exp(-xp.abs(bx))
        sig = xp.where(bx >= 0, 1 / (1 + e), e / (1 + e))
        return xp.where(bx > ctx.threshold, grad, grad * sig)


def _float(op: str, x: Tensor) -> Tensor:
    return promote(op, x, to_float=True)[0]


def relu(input: Tensor) -> Tensor:  # noqa: A002
    return ReLU.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    return LeakyReLU.apply(_float("leaky_relu", input), negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return ELU.apply(_float("elu", input), alpha=alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float("gelu", input), approximate=approximate)


def silu(input: Tensor) -> Tensor:  # noqa: A002
    return SiLU.apply(_float("silu", input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    return Softplus.apply(_float("softplus", input), beta=beta, threshold=threshold)
