"""Arithmetic: + - * / ** and negation, plus the dtype cast and device copy.

Gradients are returned in the broadcast shape; the engine sums them back to
each input's shape (``autograd.unbroadcast``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..function import Context, Function
from ..tensor import Tensor
from .operands import promote


class Add(Function):
    """z = x + y;  dz/dx = 1,  dz/dy = 1"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, grad


class Sub(Function):
    """z = x - y;  dz/dx = 1,  dz/dy = -1"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x - y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y;  dz/dx = y,  dz/dy = x"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_arrays
        gx = grad * y if ctx.needs_input_grad[0] else None
        gy = grad * x if ctx.needs_input_grad[1] else None
        return gx, gy


class Div(Function):
    """z = x / y;  dz/dx = 1/y,  dz/dy = -x/y² = -z/y"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        z = x / y
        ctx.save_for_backward(y, z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        y, z = ctx.saved_arrays
        gx = grad / y if ctx.needs_input_grad[0] else None
        gy = -grad * z / y if ctx.needs_input_grad[1] else None
        return gx, gy


class Pow(Function):
    """z = x ** y;  dz/dx = y·x^(y-1) (0 where y = 0),  dz/dy = z·ln x (0 where x = 0, y ≥ 0)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        z = ctx.xp.power(x, y)
        ctx.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        x, y, z = (a if hasattr(a, "shape") else xp.asarray(a, dtype=grad.dtype) for a in ctx.saved_arrays)
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = xp.where(y == 0, 0, grad * y * xp.power(x, y - 1))
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = xp.where((x == 0) & (y >= 0), 0, grad * z * xp.log(x))
        return gx, gy


class Neg(Function):
    """z = -x;  dz/dx = -1"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return -grad


class Cast(Function):
    """z = x converted to another dtype;  dz/dx = 1 (the engine casts the gradient back)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dtype: Any) -> Any:
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


class ToDevice(Function):
    """z = x copied to another device;  dz/dx = 1 (the gradient is copied back)"""

    @staticmethod
    def forward(ctx: Context, x: Any, device: str) -> Any:
        ctx.source = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return backend.to_device(grad, ctx.source)


class Clone(Function):
    """z = a C-contiguous copy of x;  dz/dx = 1"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return ctx.xp.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


def add(input: Any, other: Any, alpha: float = 1) -> Tensor:  # noqa: A002
    """input + alpha * other"""
    if alpha != 1:
        other = mul(other, alpha)
    return Add.apply(*promote("add", input, other))


def sub(input: Any, other: Any, alpha: float = 1) -> Tensor:  # noqa: A002
    """input - alpha * other"""
    if alpha != 1:
        other = mul(other, alpha)
    return Sub.apply(*promote("sub", input, other))


def mul(input: Any, other: Any) -> Tensor:  # noqa: A002
    return Mul.apply(*promote("mul", input, other))


def div(input: Any, other: Any) -> Tensor:  # noqa: A002
    """True division: integer inputs give float32, as in PyTorch."""
    return Div.apply(*promote("div", input, other, to_float=True))


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001,A002
    return Pow.apply(*promote("pow", input, exponent))


def neg(input: Tensor) -> Tensor:  # noqa: A002
    return Neg.apply(input)


def cast(input: Tensor, dtype: Any) -> Tensor:  # noqa: A002
    return Cast.apply(input, dtype=dtype)


def to_device(input: Tensor, device: str) -> Tensor:  # noqa: A002
    return ToDevice.apply(input, device=device)


def clone(input: Tensor) -> Tensor:  # noqa: A002
    return Clone.apply(input)


def contiguous(input: Tensor) -> Tensor:  # noqa: A002
    """``input`` itself when already C-contiguous, else a contiguous copy."""
    return input if input.is_contiguous() else Clone.apply(input)
