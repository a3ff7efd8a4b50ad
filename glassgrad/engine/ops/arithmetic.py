"""Arithmetic: + - * / // % ** and negation, plus fmod, the dtype cast and device copy.

Division comes in PyTorch's three roundings: true (``/``, integers give
float32), ``trunc`` and ``floor`` (``//``; integers stay integers and dividing
them by zero raises, as in PyTorch). ``%`` is the remainder of floor division,
with the sign of the divisor; ``fmod`` that of trunc division, with the sign of
the dividend.

Gradients are returned in the broadcast shape; the engine sums them back to
each input's shape (``autograd.unbroadcast``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, dtypes
from ..function import Context, Function
from ..recorded import Recorded
from ..tensor import Tensor
from .checks import plain_pair, promote


class Add(Function):
    """z = x + y;  dL/dx = g,  dL/dy = g"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x + y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, grad


class Sub(Function):
    """z = x - y;  dL/dx = g,  dL/dy = -g"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        return x - y

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y;  dL/dx = g · y,  dL/dy = g · x"""

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
    """z = x / y;  dL/dx = g / y,  dL/dy = -g · x/y² = -g · z/y"""

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
    """z = x ** y;  dL/dx = g · y·x^(y-1) (0 where y = 0),  dL/dy = g · z·ln x (0 where x = 0, y ≥ 0)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        xp = ctx.xp
        if getattr(y, "dtype", None) is not None and y.dtype.kind in "iu" and getattr(x, "dtype", y.dtype).kind in "iu":
            # integers to negative integer powers, as PyTorch computes them: 1, ±1 for -1, else 0
            x = x if hasattr(x, "dtype") else xp.asarray(x, dtype=y.dtype)  # a number takes y's dtype
            negative = y < 0
            z = xp.power(x, xp.where(negative, 0, y))
            wrap = xp.where(x == 1, 1, xp.where(x == -1, 1 - 2 * (y % 2), 0))
            return xp.where(negative, wrap, z).astype(z.dtype, copy=False)
        z = xp.power(x, y)
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


class RoundedDiv(Function):
    """z = trunc(x / y) or floor(x / y) (``mode``), in the operands' dtype;  dL/dx = 0,  dL/dy = 0"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, mode: str, integer: bool) -> Any:
        xp = ctx.xp
        with np.errstate(divide="ignore", invalid="ignore"):
            if mode == "floor":
                return xp.floor_divide(x, y)  # Python's floor division, also at inf and -0.0
            if not integer:
                return xp.trunc(xp.true_divide(x, y))
            q = xp.floor_divide(x, y)  # integers: one up where floor went below the true quotient
            return q + ((q * y != x) & ((xp.asarray(x) < 0) != (xp.asarray(y) < 0)))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        zeros = ctx.xp.zeros_like(grad)
        return zeros, zeros


class FloorDivide(RoundedDiv):
    """z = floor(x / y) (``//``);  dL/dx, dL/dy: none (PyTorch defines none; backward raises)"""

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        raise RuntimeError("floor_divide: derivative is not implemented (use div(..., rounding_mode='floor'))")


class Remainder(Function):
    """z = x - floor(x / y) · y (``%``, the sign of y);  dL/dx = g,  dL/dy = -g · floor(x / y)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(x, y)
        with np.errstate(invalid="ignore"):
            m = xp.fmod(x, y)
            return xp.where((m != 0) & ((m < 0) != (xp.asarray(y) < 0)), m + y, m)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_arrays
        gy = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = -grad * (x // y)  # a recorded backward takes // as div(rounding_mode="floor"): zero derivative
        return grad, gy


class ScalarRemainder(Remainder):
    """z = c % y for a number c;  dL/dy: none (PyTorch defines none; backward raises)"""

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        raise RuntimeError("remainder: derivative of a number % a tensor is not implemented")


class Fmod(Function):
    """z = x - trunc(x / y) · y (C's fmod, the sign of x);  dL/dx = g,  dL/dy = -g · trunc(x / y)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        with np.errstate(invalid="ignore"):
            return ctx.xp.fmod(x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_arrays
        gy = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = -grad * ctx.xp.trunc(ctx.xp.true_divide(x, y))
        return grad, gy


def _division_operands(op: str, input: Any, other: Any) -> tuple[Any, Any]:
    """The promoted operands of a rounded division, after PyTorch's checks: no bools, and no
    integer division by zero (RuntimeError "ZeroDivisionError")."""
    x, y = promote(op, input, other)
    dtype = dtypes.result_type(x, y)
    if dtype == dtypes.bool_:
        raise NotImplementedError(f"{op}: not implemented for bool tensors")
    if dtype.kind in "iu" and bool((y.array == 0).any() if isinstance(y, Tensor) else y == 0):
        raise RuntimeError(f"ZeroDivisionError: {op}: integer division by zero")
    return x, y


class Neg(Function):
    """z = -x;  dL/dx = -g"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return -grad


class Cast(Function):
    """z = x converted to another dtype;  dL/dx = g (the engine casts the gradient back)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dtype: Any) -> Any:
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


class ToDevice(Function):
    """z = x copied to another device;  dL/dx = g (the gradient is copied back)"""

    @staticmethod
    def forward(ctx: Context, x: Any, device: str) -> Any:
        ctx.source = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        if type(grad) is Recorded:  # create_graph: the copy back is itself a recorded ToDevice
            return Recorded(to_device(grad.tensor, ctx.source))
        return backend.to_device(grad, ctx.source)


class Clone(Function):
    """z = a C-contiguous copy of x;  dL/dx = g"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return ctx.xp.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


def _check_alpha(op: str, alpha: Any) -> None:
    if type(alpha) is int or type(alpha) is float:  # the common case, checked first
        return
    if isinstance(alpha, Tensor) or not isinstance(alpha, int | float | np.number):
        raise TypeError(f"{op}: argument 'alpha' must be a Number, not {type(alpha).__name__} ({alpha!r})")


def add(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """input + alpha * other"""
    _check_alpha("add", alpha)
    if alpha != 1:
        other = mul(other, alpha)
    if not plain_pair(input, other):
        input, other = promote("add", input, other)
    return Add.apply(input, other)


def sub(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """input - alpha * other (not for bool tensors, as in PyTorch)"""
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "sub: Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    _check_alpha("sub", alpha)
    if alpha != 1:
        other = mul(other, alpha)
    if not plain_pair(input, other):
        input, other = promote("sub", input, other)
    return Sub.apply(input, other)


def mul(input: Any, other: Any) -> Tensor:
    if not plain_pair(input, other):
        input, other = promote("mul", input, other)
    return Mul.apply(input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other. ``rounding_mode=None``: true division (integer inputs give float32);
    ``"trunc"``: rounded towards zero, ``"floor"``: rounded down (both keep integer dtypes)."""
    if rounding_mode is None:
        return Div.apply(*promote("div", input, other, to_float=True))
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
        )
    x, y = _division_operands("div", input, other)
    return RoundedDiv.apply(x, y, mode=rounding_mode, integer=dtypes.result_type(x, y).kind in "iu")


def floor_divide(input: Any, other: Any) -> Tensor:
    """input // other, rounded down (Python's floor division), in the operands' dtype."""
    x, y = _division_operands("floor_divide", input, other)
    return FloorDivide.apply(x, y, mode="floor", integer=dtypes.result_type(x, y).kind in "iu")


def remainder(input: Any, other: Any) -> Tensor:
    """input % other = input - floor(input / other) · other, with the sign of ``other``."""
    op = Remainder if isinstance(input, Tensor) else ScalarRemainder
    return op.apply(*_division_operands("remainder", input, other))


def fmod(input: Tensor, other: Any) -> Tensor:
    """C's fmod: input - trunc(input / other) · other, with the sign of ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod: argument 'input' must be a Tensor, not {type(input).__name__}")
    return Fmod.apply(*_division_operands("fmod", input, other))


def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent; an integer tensor to a negative integer power raises, as in PyTorch
    (to a tensor of integer exponents, a negative entry gives 1 for 1, ±1 for -1, else 0)."""
    x, y = promote("pow", input, exponent)
    if dtypes.result_type(x, y) == dtypes.bool_:
        if isinstance(y, Tensor):
            raise NotImplementedError("pow: not implemented for a bool tensor to a bool tensor power")
        return Pow.apply(x.to(dtypes.int8), y).to(dtypes.bool_)  # b ** True is b, b ** False all True
    if isinstance(y, int) and not isinstance(y, bool) and y < 0 and dtypes.result_type(x, y).kind in "iub":
        raise RuntimeError(f"pow: Integers to negative integer powers are not allowed. (exponent {y})")
    return Pow.apply(x, y)


def neg(input: Tensor) -> Tensor:
    if input.dtype == dtypes.bool_:
        raise RuntimeError(
            "neg: Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(input)


def _is_bool(x: Any) -> bool:
    """A bool tensor, array or Python bool: PyTorch refuses to subtract with any of them."""
    return isinstance(x, bool) or getattr(x, "dtype", None) == dtypes.bool_


def cast(input: Tensor, dtype: Any) -> Tensor:
    return Cast.apply(input, dtype=dtype)


def to_device(input: Tensor, device: str) -> Tensor:
    return ToDevice.apply(input, device=device)


def clone(input: Tensor) -> Tensor:
    return Clone.apply(input)


def contiguous(input: Tensor) -> Tensor:
    """``input`` itself when already C-contiguous, else a contiguous copy."""
    return input if input.is_contiguous() else Clone.apply(input)
