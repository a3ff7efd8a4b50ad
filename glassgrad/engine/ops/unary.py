"""Elementwise math functions of one tensor, each with its derivative.

Integer inputs of the transcendental functions are first cast to float32, as
in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Context, Function
from ..tensor import Tensor
from .operands import promote


class Abs(Function):
    """z = |x|;  dz/dx = sign(x) (0 at 0)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * ctx.xp.sign(x)


class Exp(Function):
    """z = eˣ;  dz/dx = eˣ = z"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = ctx.xp.exp(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * z


class Log(Function):
    """z = ln x;  dz/dx = 1/x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.xp.log(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad / x


class Log1p(Function):
    """z = ln(1 + x);  dz/dx = 1/(1 + x)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad / (1 + x)


class Sqrt(Function):
    """z = √x;  dz/dx = 1/(2√x) = 1/(2z)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        with np.errstate(invalid="ignore"):
            z = ctx.xp.sqrt(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        with np.errstate(divide="ignore"):
            return grad / (2 * z)


class Rsqrt(Function):
    """z = 1/√x;  dz/dx = -1/(2 x^(3/2)) = -z³/2"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = 1 / ctx.xp.sqrt(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return -0.5 * grad * z * z * z


class Sin(Function):
    """z = sin x;  dz/dx = cos x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * ctx.xp.cos(x)


class Cos(Function):
    """z = cos x;  dz/dx = -sin x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return -grad * ctx.xp.sin(x)


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 - z²"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = ctx.xp.tanh(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * (1 - z * z)


class Sigmoid(Function):
    """z = σ(x) = 1/(1 + e⁻ˣ);  dz/dx = z(1 - z)

    Computed as e^(x)/(1 + e^(x)) for x < 0 so that neither branch overflows.
    """

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        e = xp.exp(-xp.abs(x))
        z = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * z * (1 - z)


class Square(Function):
    """z = x²;  dz/dx = 2x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return 2 * grad * x


class Sign(Function):
    """z = sign(x);  dz/dx = 0 everywhere it exists"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return ctx.xp.sign(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.zeros_like(grad)


def _float_input(op: str, x: Tensor) -> Tensor:
    (x,) = promote(op, x, to_float=True)
    return x


def abs(input: Tensor) -> Tensor:  # noqa: A001,A002
    return Abs.apply(input)


def exp(input: Tensor) -> Tensor:  # noqa: A002
    return Exp.apply(_float_input("exp", input))


def log(input: Tensor) -> Tensor:  # noqa: A002
    return Log.apply(_float_input("log", input))


def log2(input: Tensor) -> Tensor:  # noqa: A002
    """log₂ x = ln x / ln 2"""
    return log(input) / float(np.log(2.0))


def log10(input: Tensor) -> Tensor:  # noqa: A002
    """log₁₀ x = ln x / ln 10"""
    return log(input) / float(np.log(10.0))


def log1p(input: Tensor) -> Tensor:  # noqa: A002
    return Log1p.apply(_float_input("log1p", input))


def sqrt(input: Tensor) -> Tensor:  # noqa: A002
    return Sqrt.apply(_float_input("sqrt", input))


def rsqrt(input: Tensor) -> Tensor:  # noqa: A002
    return Rsqrt.apply(_float_input("rsqrt", input))


def sin(input: Tensor) -> Tensor:  # noqa: A002
    return Sin.apply(_float_input("sin", input))


def cos(input: Tensor) -> Tensor:  # noqa: A002
    return Cos.apply(_float_input("cos", input))


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return Tanh.apply(_float_input("tanh", input))


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return Sigmoid.apply(_float_input("sigmoid", input))


def reciprocal(input: Tensor) -> Tensor:  # noqa: A002
    """1/x (the gradient -1/x² comes from Div)"""
    return 1.0 / _float_input("reciprocal", input)


def square(input: Tensor) -> Tensor:  # noqa: A002
    return Square.apply(input)


def sign(input: Tensor) -> Tensor:  # noqa: A002
    return Sign.apply(input)
