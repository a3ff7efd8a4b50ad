"""Elementwise math functions of one tensor, each with its derivative.

Integer inputs of the transcendental functions are first cast to float32, as
in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import kernels
from ..dtypes import FLOATING
from ..function import Context, Function
from ..tensor import Tensor
from .operands import promote

_LN2, _LN10 = math.log(2.0), math.log(10.0)


class Abs(Function):
    """z = |x|;  dL/dx = g · sign(x) (0 at 0)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * ctx.xp.sign(x)


class Exp(Function):
    """z = eˣ;  dL/dx = g · z"""

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
    """z = ln x;  dL/dx = g / x"""

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
    """z = ln(1 + x);  dL/dx = g / (1 + x)"""

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
    """z = √x;  dL/dx = g / (2z)"""

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
    """z = 1/√x;  dL/dx = -g · z³/2"""

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
    """z = sin x;  dL/dx = g · cos x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * ctx.xp.cos(x)


class Cos(Function):
    """z = cos x;  dL/dx = -g · sin x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return -grad * ctx.xp.sin(x)


class Tanh(Function):
    """z = tanh x;  dL/dx = g · (1 - z²)

    The backward is the kernel op "tanh_backward" (kernels/activations/), from the output z."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = ctx.xp.tanh(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return kernels.run("tanh_backward", z, grad)

    @staticmethod
    def decomposition(x: Tensor) -> Tensor:
        return 2 * Sigmoid.apply(2 * x) - 1  # tanh x = 2σ(2x) − 1


class Sigmoid(Function):
    """z = σ(x) = 1/(1 + e⁻ˣ);  dL/dx = g · z(1 - z)

    The kernel ops "sigmoid" and "sigmoid_backward" (kernels/activations/): e^(x)/(1 + e^(x)) for
    x < 0 so that neither branch overflows; the backward reads the output z."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = kernels.run("sigmoid", x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return kernels.run("sigmoid_backward", z, grad)

    @staticmethod
    def decomposition(x: Tensor) -> Tensor:
        e = (-x).where(x >= 0, x).exp()  # e^(−|x|), with slope −1 at x = 0 (that of the branch x ≥ 0)
        return (1 / (1 + e)).where(x >= 0, e / (1 + e))


class Square(Function):
    """z = x²;  dL/dx = g · 2x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return 2 * grad * x


class Sign(Function):
    """z = sign(x) = (x > 0) - (x < 0), so sign(nan) = 0 and sign(-0.0) = +0 as in PyTorch;  dL/dx = 0"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        if x.dtype == bool:
            return x.copy()
        return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.zeros_like(grad)


class Tan(Function):
    """z = tan x;  dL/dx = g · (1 + z²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        with np.errstate(invalid="ignore"):
            z = ctx.xp.tan(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * (1 + z * z)


class Asin(Function):
    """z = asin x (|x| ≤ 1);  dL/dx = g / √(1 - x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return ctx.xp.arcsin(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / ctx.xp.sqrt(1 - x * x)


class Acos(Function):
    """z = acos x (|x| ≤ 1);  dL/dx = -g / √(1 - x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return ctx.xp.arccos(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(divide="ignore", invalid="ignore"):
            return -grad / ctx.xp.sqrt(1 - x * x)


class Atan(Function):
    """z = atan x;  dL/dx = g / (1 + x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.arctan(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad / (1 + x * x)


class Sinh(Function):
    """z = sinh x = (eˣ - e⁻ˣ)/2;  dL/dx = g · cosh x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(over="ignore"):
            return ctx.xp.sinh(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(over="ignore"):
            return grad * ctx.xp.cosh(x)


class Cosh(Function):
    """z = cosh x = (eˣ + e⁻ˣ)/2;  dL/dx = g · sinh x"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(over="ignore"):
            return ctx.xp.cosh(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(over="ignore"):
            return grad * ctx.xp.sinh(x)


class Asinh(Function):
    """z = asinh x = ln(x + √(x² + 1));  dL/dx = g / √(x² + 1)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return ctx.xp.arcsinh(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(over="ignore"):
            return grad / ctx.xp.sqrt(x * x + 1)


class Acosh(Function):
    """z = acosh x = ln(x + √(x² - 1)) (x ≥ 1);  dL/dx = g / √(x² - 1)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return ctx.xp.arccosh(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return grad / ctx.xp.sqrt(x * x - 1)


class Atanh(Function):
    """z = atanh x = ½ ln((1 + x)/(1 - x)) (|x| ≤ 1);  dL/dx = g / (1 - x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.xp.arctanh(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(divide="ignore"):
            return grad / (1 - x * x)


class Exp2(Function):
    """z = 2ˣ;  dL/dx = g · z · ln 2"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        with np.errstate(over="ignore"):
            z = ctx.xp.exp2(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * z * _LN2


class Expm1(Function):
    """z = eˣ - 1 (exact for small x);  dL/dx = g · (z + 1)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        with np.errstate(over="ignore"):
            z = ctx.xp.expm1(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        return grad * (z + 1)


class Log2(Function):
    """z = log₂ x;  dL/dx = g / (x · ln 2)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.xp.log2(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / (x * _LN2)


class Log10(Function):
    """z = log₁₀ x;  dL/dx = g / (x · ln 10)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.xp.log10(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad / (x * _LN10)


def _float_input(op: str, x: Tensor) -> Tensor:
    """``x`` itself when it is a floating tensor (the common case, answered first), else ``promote``'s float."""
    if type(x) is Tensor and x.array.dtype in FLOATING:
        return x
    (x,) = promote(op, x, to_float=True)
    return x


def abs(input: Tensor) -> Tensor:
    if input.dtype == np.bool_:
        raise NotImplementedError("abs: not implemented for bool tensors")
    return Abs.apply(input)


def exp(input: Tensor) -> Tensor:
    return Exp.apply(_float_input("exp", input))


def log(input: Tensor) -> Tensor:
    return Log.apply(_float_input("log", input))


def log2(input: Tensor) -> Tensor:
    return Log2.apply(_float_input("log2", input))


def log10(input: Tensor) -> Tensor:
    return Log10.apply(_float_input("log10", input))


def log1p(input: Tensor) -> Tensor:
    return Log1p.apply(_float_input("log1p", input))


def sqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(_float_input("sqrt", input))


def rsqrt(input: Tensor) -> Tensor:
    return Rsqrt.apply(_float_input("rsqrt", input))


def sin(input: Tensor) -> Tensor:
    return Sin.apply(_float_input("sin", input))


def cos(input: Tensor) -> Tensor:
    return Cos.apply(_float_input("cos", input))


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(_float_input("tanh", input))


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(_float_input("sigmoid", input))


def reciprocal(input: Tensor) -> Tensor:
    """1/x (the gradient -1/x² comes from Div)"""
    return 1.0 / _float_input("reciprocal", input)


def square(input: Tensor) -> Tensor:
    """x²; a bool tensor gives int64, as x ** 2 does in PyTorch."""
    return Square.apply(input if input.dtype != np.bool_ else input.long())


def sign(input: Tensor) -> Tensor:
    return Sign.apply(input)


def tan(input: Tensor) -> Tensor:
    return Tan.apply(_float_input("tan", input))


def asin(input: Tensor) -> Tensor:
    return Asin.apply(_float_input("asin", input))


def acos(input: Tensor) -> Tensor:
    return Acos.apply(_float_input("acos", input))


def atan(input: Tensor) -> Tensor:
    return Atan.apply(_float_input("atan", input))


def sinh(input: Tensor) -> Tensor:
    return Sinh.apply(_float_input("sinh", input))


def cosh(input: Tensor) -> Tensor:
    return Cosh.apply(_float_input("cosh", input))


def asinh(input: Tensor) -> Tensor:
    return Asinh.apply(_float_input("asinh", input))


def acosh(input: Tensor) -> Tensor:
    return Acosh.apply(_float_input("acosh", input))


def atanh(input: Tensor) -> Tensor:
    return Atanh.apply(_float_input("atanh", input))


def exp2(input: Tensor) -> Tensor:
    return Exp2.apply(_float_input("exp2", input))


def expm1(input: Tensor) -> Tensor:
    return Expm1.apply(_float_input("expm1", input))


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
