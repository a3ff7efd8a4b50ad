"""The classic hand-worked example of backpropagation, every number derived and checked by the engine.

A 2→2→3→1 network with ReLU after each layer, input x = (1, 2), target y = 1, loss L = ½(ŷ − y)², one SGD
step with lr = 0.1. Each line is derived here in plain Python floats (the formula, its numbers, its result),
then compared with what the engine computed for the same network: its forward values, its backward's
gradients (``retain_grad`` for the hidden values), its SGD step and its new loss. A line that disagrees
raises ``DerivationError``; every other line says ``checked``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.creation import tensor
from ..engine.dtypes import float64
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from .trace import Trace, trace
from .worked_example import Line, Section, WorkedExample, number

X = [1.0, 2.0]
TARGET = 1.0
W1 = [[0.1, 0.2], [0.3, 0.4]]
B1 = [0.1, 0.2]
W2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]
B2 = [0.1, 0.2, 0.3]
W3 = [[0.1, 0.1, 0.1]]
B3 = [0.1]
LR = 0.1
#: how close a derived number must be to the engine's (float64 throughout)
TOLERANCE = 1e-12


class DerivationError(AssertionError):
    """A number derived by hand differs from the engine's."""


@dataclass
class Explanation:
    """A worked example, the tensor it ends in (for gg.viz.graph), the names of its parameters, its trace."""

    document: WorkedExample
    output: Tensor
    params: dict[str, Tensor]
    trace: Trace | None = None


def _p(v: float) -> str:
    """A number as it goes into a product: negative ones in parentheses."""
    text = number(v)
    return f"({text})" if text.startswith("-") else text


class _Checker:
    """Adds derived lines to a section, each compared with the engine's number."""

    def __init__(self, section: Section) -> None:
        self.section = section

    def line(self, lhs: str, formula: str, numbers: str, derived: float, engine: Any) -> float:
        engine = float(np.asarray(engine))
        if not abs(derived - engine) <= TOLERANCE * max(1.0, abs(engine)):
            raise DerivationError(
                f"explain mlp-2-2-3-1: {lhs} = {formula} = {numbers} = {derived!r} by hand, "
                f"but the engine computed {engine!r}"
            )
        self.section.lines.append(Line(lhs, formula, numbers, number(derived), "checked"))
        return derived


def _layer(check: _Checker, name: str, inputs: str, x: list[float], w: list[list[float]], b: list[float], wname: str, bname: str, z_engine: Any, h_engine: Any) -> tuple[list[float], list[float]]:  # fmt: skip
    """z = W x + b and h = max(z, 0), one unit per line."""
    z, h = [], []
    for i, row in enumerate(w):
        terms = " + ".join(f"{wname}[{i},{j}]·{inputs}[{j}]" for j in range(len(x)))
        numbers = " + ".join(f"{_p(wij)}·{_p(v)}" for wij, v in zip(row, x, strict=True))
        value = sum(wij * v for wij, v in zip(row, x, strict=True)) + b[i]
        z.append(check.line(f"z{name}[{i}]", f"{terms} + {bname}[{i}]", f"{numbers} + {_p(b[i])}", value, z_engine[i]))
    for i, v in enumerate(z):
        h.append(check.line(f"h{name}[{i}]", f"max(z{name}[{i}], 0)", f"max({number(v)}, 0)", max(v, 0.0), h_engine[i]))
    return z, h


def _forward_by_hand(check: _Checker, params: dict[str, list], engine: dict[str, Any]) -> dict[str, Any]:
    z1, h1 = _layer(check, "1", "x", X, params["W1"], params["b1"], "W1", "b1", engine["z1"], engine["h1"])
    z2, h2 = _layer(check, "2", "h1", h1, params["W2"], params["b2"], "W2", "b2", engine["z2"], engine["h2"])
    z3, h3 = _layer(check, "3", "h2", h2, params["W3"], params["b3"], "W3", "b3", engine["z3"], engine["h3"])
    y_hat = h3[0]
    loss = check.line(
        "L", "½(ŷ − y)²", f"½({number(y_hat)} − {number(TARGET)})²", 0.5 * (y_hat - TARGET) ** 2, engine["L"]
    )
    return {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "y_hat": y_hat, "L": loss}


def _network(x: Tensor, params: dict[str, Tensor]) -> dict[str, Tensor]:
    """The engine's forward, keeping every hidden value."""
    from ..nn.functional import linear

    out: dict[str, Tensor] = {}
    h = x
    for k in ("1", "2", "3"):
        out["z" + k] = linear(h, params["W" + k], params["b" + k])
        out["h" + k] = h = out["z" + k].relu()
    diff = out["h3"].sum() - TARGET
    out["L"] = 0.5 * diff**2
    return out


def explain_mlp() -> Explanation:
    """The worked example; see the module docstring."""
    from ..optim import SGD

    start = {"W1": W1, "b1": B1, "W2": W2, "b2": B2, "W3": W3, "b3": B3}
    params = {k: tensor(v, dtype=float64, requires_grad=True) for k, v in start.items()}
    x = tensor(X, dtype=float64)
    with trace(names={"x": x, **params}) as t:
        engine = _network(x, params)
        for k in ("z1", "h1", "z2", "h2", "z3", "h3"):
            engine[k].retain_grad()
        engine["L"].backward()
    values = {k: np.asarray(v.array) for k, v in engine.items()}

    doc = WorkedExample(
        "mlp-2-2-3-1: one step of backpropagation by hand",
        intro=(
            "x = (1, 2), target y = 1; layers 2→2→3→1, each z = W h + b then h = max(z, 0); "
            "L = ½(ŷ − y)² with ŷ = h3[0]; one SGD step, lr = 0.1. "
            "Each line: the formula, its numbers, the result, checked against the engine (float64)."
        ),
    )
    fwd = _forward_by_hand(_Checker(doc.section("Forward pass")), start, values)
    y_hat = fwd["y_hat"]

    back = _Checker(
        doc.section(
            "Backward pass",
            "the chain rule from L back to every weight; [z > 0] is ReLU's derivative (1 where z > 0, else 0)",
        )
    )
    grad = {k: np.asarray(engine[k].grad.array) for k in ("z1", "h1", "z2", "h2", "z3", "h3")}
    d_y = back.line("dL/dŷ", "ŷ − y", f"{number(y_hat)} − {number(TARGET)}", y_hat - TARGET, grad["h3"][0])
    d_z: dict[str, list[float]] = {}
    d_h = [d_y]
    layers = [("3", "h2", fwd["h2"]), ("2", "h1", fwd["h1"]), ("1", "x", X)]
    for k, below, h_below in layers:
        z = fwd["z" + k]
        d_z[k] = [
            back.line(
                f"dL/dz{k}[{i}]",
                f"dL/dh{k}[{i}] · [z{k}[{i}] > 0]",
                f"{_p(d_h[i])} · {int(z[i] > 0)}",
                d_h[i] * (1.0 if z[i] > 0 else 0.0),
                grad["z" + k][i],
            )
            for i in range(len(z))
        ]
        w_grad = np.asarray(params["W" + k].grad.array)
        b_grad = np.asarray(params["b" + k].grad.array)
        for i in range(len(z)):
            for j in range(len(h_below)):
                back.line(
                    f"dL/dW{k}[{i},{j}]",
                    f"dL/dz{k}[{i}] · {below}[{j}]",
                    f"{_p(d_z[k][i])} · {_p(h_below[j])}",
                    d_z[k][i] * h_below[j],
                    w_grad[i, j],
                )
            back.line(f"dL/db{k}[{i}]", f"dL/dz{k}[{i}]", number(d_z[k][i]), d_z[k][i], b_grad[i])
        if below == "x":
            break
        w = start["W" + k]
        d_h = [
            back.line(
                f"dL/d{below}[{j}]",
                " + ".join(f"dL/dz{k}[{i}]·W{k}[{i},{j}]" for i in range(len(z))),
                " + ".join(f"{_p(d_z[k][i])}·{_p(w[i][j])}" for i in range(len(z))),
                sum(d_z[k][i] * w[i][j] for i in range(len(z))),
                grad[below][j],
            )
            for j in range(len(h_below))
        ]

    grads = {k: np.asarray(p.grad.array) for k, p in params.items()}
    SGD(list(params.values()), lr=LR).step()
    step = _Checker(doc.section("SGD step", "each weight: new w = w − lr · dL/dw, lr = 0.1"))
    updated: dict[str, list] = {}
    for k, p in params.items():
        w0, g, w1 = np.asarray(start[k], dtype=float), grads[k], np.asarray(p.array)
        new = np.empty_like(w0)
        for index in np.ndindex(w0.shape):
            where = ",".join(map(str, index))
            new[index] = step.line(
                f"new {k}[{where}]",
                f"{k}[{where}] − lr · dL/d{k}[{where}]",
                f"{number(w0[index])} − {number(LR)} · {_p(g[index])}",
                float(w0[index]) - LR * float(g[index]),
                w1[index],
            )
        updated[k] = new.tolist()

    with no_grad():
        after = {k: np.asarray(v.array) for k, v in _network(x, params).items()}
    new_forward = _forward_by_hand(_Checker(doc.section("Forward pass with the new weights")), updated, after)
    loss = doc.section("The loss went down")
    loss.lines.append(
        Line(
            "L",
            "",
            f"{number(fwd['L'])} → {number(new_forward['L'])}",
            "",
            f"lower by {number(fwd['L'] - new_forward['L'])}",
        )
    )
    return Explanation(doc, engine["L"], dict(params), t)
