"""The error function family: erf, erfc = 1 - erf, and erfinv, each with its derivative.

erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, so d erf/dx = 2/√π · e^(-x²). NumPy has none of
them: the kernels are in ``engine/special.py`` (numba ufuncs on the cpu,
``cupyx.scipy.special`` on cuda). Integer and bool
inputs are cast to float32, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..function import Context, Function
from ..special import special
from ..tensor import Tensor
from .operands import promote

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Function):
    """z = erf x = 2/√π ∫₀ˣ e^(-t²) dt;  dL/dx = g · 2/√π · e^(-x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return special("erf", ctx.xp, x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * _TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x)


class Erfc(Function):
    """z = erfc x = 1 - erf x (accurate where erf x is near 1);  dL/dx = -g · 2/√π · e^(-x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return special("erfc", ctx.xp, x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return -grad * _TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x)


class Erfinv(Function):
    """z = erf⁻¹ x (|x| ≤ 1, ±inf at ±1);  dL/dx = g · √π/2 · e^(z²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = special("erfinv", ctx.xp, x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        with np.errstate(over="ignore"):
            return grad * ctx.xp.exp(z * z) / _TWO_OVER_SQRT_PI


def _float_input(op: str, x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument 'input' must be a Tensor, got {type(x).__name__}")
    (x,) = promote(op, x, to_float=True)
    return x


def erf(input: Tensor) -> Tensor:
    return Erf.apply(_float_input("erf", input))


def erfc(input: Tensor) -> Tensor:
    return Erfc.apply(_float_input("erfc", input))


def erfinv(input: Tensor) -> Tensor:
    return Erfinv.apply(_float_input("erfinv", input))
