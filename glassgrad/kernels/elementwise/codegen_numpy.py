"""NumPy (or CuPy) functions written from formulas.py's trees: Python source, then ``exec``.

``numpy_source(formula)`` prints one line per binding and a return line, with
every operation fully parenthesised as the tree has it, so NumPy evaluates the
same operations in the same order as the CUDA source codegen_cuda.py prints::

    def gelu_tanh(x):
        xp = xp_of(x)
        t = xp.tanh((0.7978845608028654 * (x + ((0.044715 * x) * x) * x)))
        return xp.asarray(((0.5 * x) * (1.0 + t))).astype(x.dtype, copy=False)

Constants are Python floats, which NumPy 2 casts to the array's dtype (float32
arrays stay float32; the last cast catches a ``where`` of two constants); erf is glassgrad's ``special.erf`` (a numba ufunc on the
cpu, cupyx on cuda). The function takes the formula's inputs in order and runs
on either array module (``xp_of`` of the first input); scalars of type T
are cast to the first input's dtype first (as the CUDA kernel's T parameters
are), and ``uniform`` is philox.py's draw for the first input's shape. ``numpy_function`` keeps
its source on the function (``fn.source``) for reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...engine import backend
from ...engine.special import erf
from .formulas import BINARY, COMPARE, Expr, Formula
from .philox import uniform

_CALLS = {"exp": "xp.exp", "tanh": "xp.tanh", "sqrt": "xp.sqrt", "abs": "xp.abs", "erf": "erf(xp, {})"}


def expression(e: Expr, first: str = "x") -> str:
    """``e`` as a Python expression over NumPy arrays (``first``: the input whose shape ``uniform`` takes)."""
    if e.kind == "var":
        return str(e.value)
    if e.kind == "const":
        return repr(float(e.value))  # a Python float round-trips every double
    if e.kind in BINARY or e.kind in COMPARE:
        symbol = BINARY.get(e.kind) or COMPARE[e.kind]
        return f"({expression(e.args[0], first)} {symbol} {expression(e.args[1], first)})"
    if e.kind == "neg":
        return f"(-{expression(e.args[0], first)})"
    if e.kind == "where":
        return f"xp.where({', '.join(expression(a, first) for a in e.args)})"
    if e.kind == "uniform":
        return f"uniform(xp, seed, offset, {first}.shape)"
    template = _CALLS[e.kind]
    inner = expression(e.args[0], first)
    return template.format(inner) if "{}" in template else f"{template}({inner})"


def numpy_source(formula: Formula, name: str | None = None) -> str:
    """The source of ``def name(*inputs)`` computing ``formula``."""
    first = formula.inputs[0]
    params = [*formula.inputs, *(scalar for scalar, _ in formula.scalars)]
    lines = [f"def {name or formula.name}({', '.join(params)}):", f"    xp = xp_of({first})"]
    lines += [f"    {scalar} = {first}.dtype.type({scalar})" for scalar, kind in formula.scalars if kind == "T"]
    lines += [f"    {binding} = {expression(e, first)}" for binding, e in formula.bindings]
    lines.append(f"    return xp.asarray({expression(formula.result, first)}).astype({first}.dtype, copy=False)")
    return "\n".join(lines) + "\n"


def numpy_function(formula: Formula) -> Callable[..., Any]:
    """``formula`` as a function of arrays (NumPy or CuPy), compiled from ``numpy_source``."""
    source = numpy_source(formula)
    namespace: dict[str, Any] = {"xp_of": backend.xp_of, "erf": erf, "uniform": uniform}
    exec(compile(source, f"<formula {formula.name}>", "exec"), namespace)  # our own generated source
    fn = namespace[formula.name]
    fn.source = source
    return fn
