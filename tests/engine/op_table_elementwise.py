"""The elementwise math, bitwise and rounding entries of the op table (see op_table.py).

The rounding functions (trunc, floor, ceil, round, sign, and the rounded divisions) have zero
gradient almost everywhere, as in PyTorch; random inputs sit away from their jumps, so
gradcheck holds there too. Bitwise ops and ``//`` have no gradient and are tested in
test_elementwise.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import glassgrad as gg

from op_case import OpCase

UNARY = (((3, 4),), ((1,),), ((2, 0, 3),), ((2, 1, 3),))
BINARY = (((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 1, 3), (1, 4, 1)), ((0, 3), (1, 3)), ((), (2, 3)))


def _away_from_zero(b):
    """b pushed out of (-0.5, 0.5), keeping its sign, so that x / b has no jump within gradcheck's step."""
    return b + 0.5 * b.sign()


def _unary(name: str, ours: Callable, theirs: Callable, **kw) -> OpCase:
    return OpCase(name, ours, theirs, UNARY, **kw)


def _binary(name: str, ours: Callable, theirs: Callable, **kw) -> OpCase:
    return OpCase(name, ours, theirs, BINARY, **kw)


OPS: list[OpCase] = [
    # trigonometric and hyperbolic
    _unary("tan", gg.tan, torch.tan, domain=(-1.2, 1.2)),
    _unary("asin", gg.asin, torch.asin, domain=(-0.9, 0.9)),
    _unary("acos", gg.acos, torch.acos, domain=(-0.9, 0.9)),
    _unary("atan", gg.atan, torch.atan),
    _unary("sinh", gg.sinh, torch.sinh),
    _unary("cosh", gg.cosh, torch.cosh),
    _unary("asinh", gg.asinh, torch.asinh),
    _unary("acosh", gg.acosh, torch.acosh, domain=(1.1, 3.0)),
    _unary("atanh", gg.atanh, torch.atanh, domain=(-0.9, 0.9)),
    _unary("arcsin_method", lambda a: a.arcsin(), lambda a: a.arcsin(), domain=(-0.9, 0.9)),
    _binary("atan2", gg.atan2, torch.atan2),
    _binary("atan2_method", lambda a, b: a.atan2(b), lambda a, b: a.atan2(b)),
    _binary("hypot", gg.hypot, torch.hypot),
    # exponentials and logarithms
    _unary("exp2", gg.exp2, torch.exp2),
    _unary("expm1", gg.expm1, torch.expm1),
    _unary("expm1_small", lambda a: gg.expm1(a * 1e-6), lambda a: torch.expm1(a * 1e-6)),
    _unary("log10", gg.log10, torch.log10, positive=True),
    _unary("log2_method", lambda a: a.log2(), lambda a: a.log2(), positive=True),
    _binary("logaddexp", gg.logaddexp, torch.logaddexp),
    _binary("logaddexp_far", lambda a, b: gg.logaddexp(a * 40, b), lambda a, b: torch.logaddexp(a * 40, b)),
    _binary("logaddexp2", gg.logaddexp2, torch.logaddexp2),
    # the error function
    _unary("erf", gg.erf, torch.erf),
    _unary("erfc", gg.erfc, torch.erfc),
    _unary("erfinv", gg.erfinv, torch.erfinv, domain=(-0.9, 0.9)),
    _unary("erfinv_tail", lambda a: a.erfinv(), lambda a: a.erfinv(), domain=(0.99, 0.999)),
    # rounding: zero gradient (frac: one)
    _unary("trunc", gg.trunc, torch.trunc, domain=(-5, 5)),
    _unary("floor", gg.floor, torch.floor, domain=(-5, 5)),
    _unary("ceil", gg.ceil, torch.ceil, domain=(-5, 5)),
    _unary("round", gg.round, torch.round, domain=(-5, 5)),
    _unary("round_decimals", lambda a: gg.round(a, decimals=2), lambda a: torch.round(a, decimals=2), domain=(-5, 5)),
    _unary(
        "round_negative_decimals",
        lambda a: (a * 1000).round(decimals=-2),
        lambda a: (a * 1000).round(decimals=-2),
        domain=(-5, 5),
    ),
    _unary("frac", gg.frac, torch.frac, domain=(-5, 5)),
    _unary("sign", gg.sign, torch.sign),
    _binary("copysign", gg.copysign, torch.copysign),
    _unary("copysign_scalar", lambda a: a.copysign(-1.0), lambda a: a.copysign(-1.0)),
    # division with rounding and remainders
    _binary(
        "div_floor",
        lambda a, b: gg.div(a * 4, b, rounding_mode="floor"),
        lambda a, b: torch.div(a * 4, b, rounding_mode="floor"),
        domain=(0.3, 2.0),
    ),
    _binary(
        "div_trunc",
        lambda a, b: (a * 4).div(b, rounding_mode="trunc"),
        lambda a, b: (a * 4).div(b, rounding_mode="trunc"),
        domain=(-2.0, 2.0),
    ),
    _binary("div_none", lambda a, b: gg.div(a, b, rounding_mode=None), lambda a, b: torch.div(a, b), positive=True),
    _binary("remainder", lambda a, b: (a * 3) % _away_from_zero(b), lambda a, b: (a * 3) % _away_from_zero(b)),
    _binary("remainder_fn", gg.remainder, torch.remainder, domain=(-3.0, 3.0)),
    _binary(
        "fmod",
        lambda a, b: gg.fmod(a * 3, _away_from_zero(b)),
        lambda a, b: torch.fmod(a * 3, _away_from_zero(b)),
    ),
    _unary("remainder_scalar", lambda a: a % 0.7, lambda a: a % 0.7),
    _unary("fmod_scalar", lambda a: a.fmod(-0.7), lambda a: a.fmod(-0.7)),
    # replacing special values
    _unary("nan_to_num", gg.nan_to_num, torch.nan_to_num),
    _unary(
        "nan_to_num_inside",
        lambda a: gg.nan_to_num(gg.log(a), nan=0.5, neginf=-3.0),
        lambda a: torch.nan_to_num(torch.log(a), nan=0.5, neginf=-3.0),
    ),
]

# clamp with tensor bounds: gradients to the input and both bounds (PyTorch's tie rule: the input wins)
OPS += [
    OpCase(
        "clamp_tensor_bounds",
        lambda a, lo, hi: a.clamp(lo - 0.5, hi + 0.5),
        lambda a, lo, hi: a.clamp(lo - 0.5, hi + 0.5),
        (((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1))),
    ),
    OpCase(
        "clamp_tensor_min",
        lambda a, lo: gg.clamp(a, min=lo),
        lambda a, lo: torch.clamp(a, min=lo),
        ((((3, 4), (3, 4))),),
    ),
]
