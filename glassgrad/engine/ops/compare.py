"""Comparisons and logical ops: bool results, no gradient."""

from __future__ import annotations

from typing import Any

from ..function import Context, Function
from ..tensor import Tensor
from .operands import promote


class Elementwise(Function):
    """Apply a named array-module function (``less``, ``isnan``...); not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, name: str) -> Any:
        return getattr(ctx.xp, name)(*arrays)


def _compare(name: str, input: Any, other: Any) -> Tensor:  # noqa: A002
    return Elementwise.apply(*promote(name, input, other), name=name)


def lt(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("less", input, other)


def le(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("less_equal", input, other)


def gt(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("greater", input, other)


def ge(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("greater_equal", input, other)


def eq(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("equal", input, other)


def ne(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("not_equal", input, other)


def logical_and(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("logical_and", input, other)


def logical_or(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _compare("logical_or", input, other)


def logical_not(input: Tensor) -> Tensor:  # noqa: A002
    return Elementwise.apply(input, name="logical_not")


def isnan(input: Tensor) -> Tensor:  # noqa: A002
    return Elementwise.apply(input, name="isnan")


def isinf(input: Tensor) -> Tensor:  # noqa: A002
    return Elementwise.apply(input, name="isinf")


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """True when both have the same shape and the same values."""
    return input.shape == other.shape and bool(eq(input, other).array.all())


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:  # noqa: A002
    """|input - other| ≤ atol + rtol·|other| everywhere."""
    return bool(input.xp.allclose(input.array, other.array, rtol=rtol, atol=atol))
