"""The built-in examples of ``python -m glassgrad explain``, and ``explain_expression`` for any small one.

An expression is evaluated (autograd/expression.py, never ``eval``) in float64 inside a ``trace``, its
backward run from L = the output (its sum when it has several elements), and each variable's gradient
checked by central differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.creation import ones_like, tensor
from ..engine.dtypes import float64
from ..engine.grad_mode import no_grad
from .expression import ExpressionError, evaluate, names_in
from .mlp_by_hand import Explanation, explain_mlp
from .trace import trace
from .worked_example import Line, number, values

#: the step of the central differences, and how far they may be from the engine's gradient
EPS = 1e-6
FD_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Example:
    description: str
    build: Callable[[], Explanation]


def explain_expression(source: str, given: dict[str, Any], title: str | None = None) -> Explanation:
    """The worked example of ``source`` with its variables set to ``given`` (see the module docstring)."""
    used = names_in(source)
    missing = [n for n in used if n not in given]
    if missing:
        raise ExpressionError(
            f"no value for {', '.join(missing)} in the expression {source!r}: pass --values "
            + ",".join(f"{n}=..." for n in used)
        )
    unused = [n for n in given if n not in used]
    if unused:
        raise ExpressionError(f"{', '.join(unused)} given a value but not used in the expression {source!r}")
    variables = {n: tensor(given[n], dtype=float64, requires_grad=True) for n in used}
    with trace(names=variables) as t:
        out = evaluate(source, variables)
        t.name(out, "L" if out.numel() == 1 else "out")
        out.backward(None if out.numel() == 1 else ones_like(out))
    doc = t.worked_example(title or f"{source}  with  {', '.join(f'{n} = {values(v)}' for n, v in given.items())}")
    if out.numel() != 1:
        doc.intro = "out has several elements: backward starts from L = sum(out), so dL/dout = 1 everywhere"
    checks = doc.section("Checked by central differences", f"dL/dv ≈ (L(v + ε) − L(v − ε)) / 2ε, ε = {EPS:g}")
    for name, v in variables.items():
        estimate = _central_differences(source, variables, name)
        engine = np.asarray(v.grad.array)
        agree = np.allclose(estimate, engine, rtol=FD_TOLERANCE, atol=FD_TOLERANCE)
        note = "checked: the engine's backward agrees" if agree else f"DIFFERS from the engine's {values(engine)}"
        checks.lines.append(Line(f"dL/d{name}", "", "", values(estimate), note))
    return Explanation(doc, out, dict(variables), t)


def _central_differences(source: str, variables: dict[str, Any], name: str) -> np.ndarray:
    base = {n: np.asarray(v.array, dtype=np.float64) for n, v in variables.items()}
    grad = np.zeros_like(base[name])
    with no_grad():
        for index in np.ndindex(base[name].shape):
            sides = []
            for sign in (1.0, -1.0):
                shifted = base[name].copy()
                shifted[index] += sign * EPS
                inputs = {n: tensor(shifted if n == name else a, dtype=float64) for n, a in base.items()}
                sides.append(float(np.asarray(evaluate(source, inputs).array).sum()))
            grad[index] = (sides[0] - sides[1]) / (2 * EPS)
    return grad


def _expression_example(source: str, given: dict[str, Any]) -> Callable[[], Explanation]:
    return lambda: explain_expression(source, given)


EXAMPLES: dict[str, Example] = {
    "mlp-2-2-3-1": Example(
        "the classic hand-worked example: x = (1, 2), layers 2→2→3→1 with ReLU, ½(ŷ − y)², one SGD step",
        explain_mlp,
    ),
    "neuron": Example(
        "one tanh neuron: (x*w + b).tanh() at x = 0.5, w = -1.2, b = 0.1",
        _expression_example("(x*w + b).tanh()", {"x": 0.5, "w": -1.2, "b": 0.1}),
    ),
    "shared": Example(
        "a tensor used twice, a + 2*a: two gradient shares and their sum",
        _expression_example("a + 2*a", {"a": 3.0}),
    ),
    "product-rule": Example(
        "x*y + x/y: x reaches L through two ops, so its gradient has two shares",
        _expression_example("x*y + x/y", {"x": 1.5, "y": 2.0}),
    ),
    "sigmoid-loss": Example(
        "a logistic unit and its squared error, ((w*x + b).sigmoid() - 1)**2",
        _expression_example("((w*x + b).sigmoid() - 1)**2", {"w": 0.8, "x": 2.0, "b": -0.5}),
    ),
    "vector": Example(
        "a small vector: (v * v).sum() / 2 for v = (1, -2, 3), whose gradient is v itself",
        _expression_example("(v * v).sum() / 2", {"v": [1.0, -2.0, 3.0]}),
    ),
}


def describe() -> str:
    """One line per built-in example."""
    width = max(len(n) for n in EXAMPLES)
    return "\n".join(f"{name.ljust(width)}  {e.description}" for name, e in EXAMPLES.items())


__all__ = ["EXAMPLES", "Example", "ExpressionError", "describe", "explain_expression", "number"]
