"""Comparisons, logical ops and value tests (isnan, isclose...): bool results, no gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import check_broadcast, promote


class Elementwise(Function):
    """Apply a named array-module function (``less``, ``isnan``...); not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, name: str) -> Any:
        return getattr(ctx.xp, name)(*arrays)


_PUBLIC = {
    "less": "lt",
    "less_equal": "le",
    "greater": "gt",
    "greater_equal": "ge",
    "equal": "eq",
    "not_equal": "ne",
}


def _compare(name: str, input: Any, other: Any) -> Tensor:
    return Elementwise.apply(*promote(_PUBLIC.get(name, name), input, other), name=name)


def lt(input: Any, other: Any) -> Tensor:
    return _compare("less", input, other)


def le(input: Any, other: Any) -> Tensor:
    return _compare("less_equal", input, other)


def gt(input: Any, other: Any) -> Tensor:
    return _compare("greater", input, other)


def ge(input: Any, other: Any) -> Tensor:
    return _compare("greater_equal", input, other)


def eq(input: Any, other: Any) -> Tensor:
    return _compare("equal", input, other)


def ne(input: Any, other: Any) -> Tensor:
    return _compare("not_equal", input, other)


def logical_and(input: Any, other: Any) -> Tensor:
    return _compare("logical_and", input, other)


def logical_or(input: Any, other: Any) -> Tensor:
    return _compare("logical_or", input, other)


def logical_xor(input: Any, other: Any) -> Tensor:
    return _compare("logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    return Elementwise.apply(input, name="logical_not")


class SignedInf(Function):
    """z = (x = +inf) or (x = -inf), by ``positive``; not differentiable"""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, positive: bool) -> Any:
        if not dtypes.is_floating(x.dtype):
            return ctx.xp.zeros(x.shape, dtype=bool)
        return ctx.xp.isinf(x) & ((x > 0) if positive else (x < 0))


class IsClose(Function):
    """z = |x - y| ≤ atol + rtol·|y| (or x = y, which covers equal infinities; nan = nan with
    ``equal_nan``); not differentiable"""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, rtol: float, atol: float, equal_nan: bool) -> Any:
        xp = ctx.xp
        close = x == y
        if equal_nan and dtypes.is_floating(x.dtype):
            close |= xp.isnan(x) & xp.isnan(y)
        if rtol == 0 and atol == 0:
            return close
        if x.dtype == bool:  # bools count as 0/1 in the default float dtype, as in PyTorch
            x, y = x.astype(np.float32), y.astype(np.float32)
        work = x.dtype if dtypes.is_floating(x.dtype) else np.dtype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            allowed = (atol + xp.abs(rtol * y)).astype(work, copy=False)
            actual = xp.abs(x - y).astype(work, copy=False)
            return close | (xp.isfinite(actual) & (actual <= allowed))


def _value_test(op: str, input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be a Tensor, not {type(input).__name__}")


def isnan(input: Tensor) -> Tensor:
    """True where input is nan (never for integer and bool tensors)."""
    _value_test("isnan", input)
    return Elementwise.apply(input, name="isnan")


def isinf(input: Tensor) -> Tensor:
    """True where input is +inf or -inf."""
    _value_test("isinf", input)
    return Elementwise.apply(input, name="isinf")


def isfinite(input: Tensor) -> Tensor:
    """True where input is neither inf nor nan (always for integer and bool tensors)."""
    _value_test("isfinite", input)
    return Elementwise.apply(input, name="isfinite")


def isposinf(input: Tensor) -> Tensor:
    _value_test("isposinf", input)
    return SignedInf.apply(input, positive=True)


def isneginf(input: Tensor) -> Tensor:
    _value_test("isneginf", input)
    return SignedInf.apply(input, positive=False)


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Elementwise |input - other| ≤ atol + rtol·|other|; both tensors of one dtype, as in PyTorch."""
    for name, value in (("input", input), ("other", other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"isclose: argument '{name}' must be a Tensor, not {type(value).__name__}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"isclose: {input.dtype} did not match {other.dtype} (both tensors need one dtype)")
    if rtol < 0:
        raise RuntimeError(f"isclose: rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"isclose: atol must be greater than or equal to zero, but got {atol}")
    check_broadcast("isclose", input, other)
    return IsClose.apply(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and the same values."""
    return input.shape == other.shape and bool(eq(input, other).array.all())


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """|input - other| ≤ atol + rtol·|other| everywhere."""
    return bool(input.xp.allclose(input.array, other.array, rtol=rtol, atol=atol))
