"""Rounding: trunc, floor, ceil, round (to even, with ``decimals``) and frac.

The rounding functions are flat almost everywhere, so their gradient is zero
(as in PyTorch); frac(x) = x - trunc(x) has gradient one. On integer tensors
trunc/floor/ceil/round return the values unchanged in the same dtype; bool
tensors, and frac or round(decimals≠0) of integers, raise NotImplementedError
as PyTorch does.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor


class Rounding(Function):
    """z = trunc x, floor x, ceil x or round x (half to even), by ``name``;  dL/dx = 0"""

    @staticmethod
    def forward(ctx: Context, x: Any, name: str) -> Any:
        if not dtypes.is_floating(x.dtype):
            return x.copy()  # integers are already whole
        return getattr(ctx.xp, name)(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.zeros_like(grad)


class RoundDecimals(Function):
    """z = round(x · 10ᵈ) / 10ᵈ (d ≥ 0) or round(x / 10⁻ᵈ) · 10⁻ᵈ (d < 0), half to even;  dL/dx = 0"""

    @staticmethod
    def forward(ctx: Context, x: Any, decimals: int) -> Any:
        scale = 10.0 ** builtins.abs(decimals)
        if decimals >= 0:
            return ctx.xp.rint(x * scale) / scale
        return ctx.xp.rint(x / scale) * scale

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.zeros_like(grad)


class Frac(Function):
    """z = x - trunc x (keeps the sign of x);  dL/dx = g"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        with np.errstate(invalid="ignore"):
            return x - ctx.xp.trunc(x)  # nan at ±inf, as in PyTorch

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


def _check(op: str, input: Any, ints: bool = True) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be a Tensor, got {type(input).__name__}")
    if input.dtype == dtypes.bool_ or (not ints and not dtypes.is_floating(input.dtype)):
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} tensors")


def trunc(input: Tensor) -> Tensor:
    """The integer part, rounded towards zero (trunc(-1.5) = -1)."""
    _check("trunc", input)
    return Rounding.apply(input, name="trunc")


def floor(input: Tensor) -> Tensor:
    """The largest whole number ≤ x."""
    _check("floor", input)
    return Rounding.apply(input, name="floor")


def ceil(input: Tensor) -> Tensor:
    """The smallest whole number ≥ x."""
    _check("ceil", input)
    return Rounding.apply(input, name="ceil")


def round(input: Tensor, *, decimals: int | None = None) -> Tensor:
    """The nearest whole number, ties to even (round(2.5) = 2); with ``decimals``, to that many
    decimal places (negative: to tens, hundreds...). Like PyTorch, integer tensors are returned
    as they are without ``decimals`` and raise with it (even ``decimals=0``)."""
    if decimals is not None and (isinstance(decimals, builtins.bool) or not isinstance(decimals, builtins.int)):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    _check("round", input, ints=decimals is None)
    if not decimals:
        return Rounding.apply(input, name="rint")
    return RoundDecimals.apply(input, decimals=decimals)


def frac(input: Tensor) -> Tensor:
    """The fractional part x - trunc(x), with the sign of x (frac(-1.5) = -0.5)."""
    _check("frac", input, ints=False)
    return Frac.apply(input)


fix = trunc
