"""Elementwise math functions of two tensors: atan2, hypot, logaddexp, logaddexp2, copysign.

Integer inputs of atan2 and copysign give float32 (as in PyTorch); hypot and
the logaddexps take floating tensors only. Broadcasting is NumPy's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import promote

_LN2 = math.log(2.0)


class Atan2(Function):
    """z = atan2(x, y), the angle of the point (y, x) in (-π, π];
    dL/dx = g · y / (x² + y²),  dL/dy = -g · x / (x² + y²)  (0 at the origin)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return ctx.xp.arctan2(x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        x, y = ctx.saved_arrays
        r2 = x * x + y * y
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = xp.where(r2 == 0, 0, grad / r2)
        return scale * y, -scale * x


class Hypot(Function):
    """z = √(x² + y²) (without overflow in x²);  dL/dx = g · x / z,  dL/dy = g · y / z"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        z = ctx.xp.hypot(x, y)
        ctx.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y, z = ctx.saved_arrays
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / z
            return scale * x, scale * y


class LogAddExp(Function):
    """z = ln(eˣ + eʸ) = max(x, y) + ln(1 + e^(-|x - y|));
    dL/dx = g / (1 + e^(y - x)),  dL/dy = g / (1 + e^(x - y))"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(x, y)
        with np.errstate(invalid="ignore"):
            z = xp.maximum(x, y) + xp.log1p(xp.exp(-xp.abs(x - y)))
            return xp.where(xp.isinf(x) & (x == y), x, z)  # inf - inf would be nan

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        x, y = ctx.saved_arrays
        with np.errstate(over="ignore", invalid="ignore"):
            return grad / (1 + xp.exp(y - x)), grad / (1 + xp.exp(x - y))


class LogAddExp2(Function):
    """z = log₂(2ˣ + 2ʸ) = max(x, y) + log₂(1 + 2^(-|x - y|));
    dL/dx = g / (1 + 2^(y - x)),  dL/dy = g / (1 + 2^(x - y))"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(x, y)
        with np.errstate(invalid="ignore"):
            z = xp.maximum(x, y) + xp.log1p(xp.exp2(-xp.abs(x - y))) / _LN2
            return xp.where(xp.isinf(x) & (x == y), x, z)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        x, y = ctx.saved_arrays
        with np.errstate(over="ignore", invalid="ignore"):
            return grad / (1 + xp.exp2(y - x)), grad / (1 + xp.exp2(x - y))


class Copysign(Function):
    """z = |x| with the sign (bit) of y;  dL/dx = g · z / x (0 where x = 0),  dL/dy = 0"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        z = ctx.xp.copysign(x, y)
        ctx.save_for_backward(x, z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        x, z = ctx.saved_arrays
        gx = gy = None
        if ctx.needs_input_grad[0]:
            with np.errstate(invalid="ignore", divide="ignore"):
                gx = grad * xp.where(x == 0, 0, z / x)
        if ctx.needs_input_grad[1]:
            gy = xp.zeros_like(grad)
        return gx, gy


def _tensors(op: str, input: Any, other: Any) -> None:
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: argument '{name}' must be a Tensor, not {type(value).__name__}")


def _floats(op: str, input: Any, other: Any) -> tuple[Tensor, Tensor]:
    _tensors(op, input, other)
    x, y = promote(op, input, other)
    if not dtypes.is_floating(x.dtype):
        raise NotImplementedError(f"{op}: not implemented for {x.dtype} tensors (needs floating point)")
    return x, y


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of the point (other, input), elementwise: atan(input/other) in the right quadrant."""
    _tensors("atan2", input, other)
    return Atan2.apply(*promote("atan2", input, other, to_float=True))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    return Hypot.apply(*_floats("hypot", input, other))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    return LogAddExp.apply(*_floats("logaddexp", input, other))


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    return LogAddExp2.apply(*_floats("logaddexp2", input, other))


def copysign(input: Tensor, other: Any) -> Tensor:
    """|input| with the sign of ``other`` (a tensor or a number), as floating point."""
    if not isinstance(input, Tensor):
        raise TypeError(f"copysign: argument 'input' must be a Tensor, not {type(input).__name__}")
    return Copysign.apply(*promote("copysign", input, other, to_float=True))


arctan2 = atan2
