"""gg.autograd.trace: the ops of a forward and backward pass as a worked example, every number checked by
hand (plain Python floats) or against the engine's own backward; the rules read from the ops' docstrings."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.autograd.rules import rule_of, split_remark
from glassgrad.autograd.trace import Accumulation, BackwardStep, Summation, substitute
from glassgrad.engine.ops.activations import ReLU
from glassgrad.engine.ops.arithmetic import Div, Mul, Pow
from glassgrad.engine.ops.linalg import Linear, MatMul
from glassgrad.engine.ops.unary import Tanh


def scalar(value: float) -> gg.Tensor:
    return gg.tensor(value, dtype=gg.float64, requires_grad=True)


def lines_of(text: str) -> dict[str, list[str]]:
    """Each line of a text worked example, by its left-hand side (a name can have several lines)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("  ") and " = " in line:
            lhs, rest = line.split(" = ", 1)
            found.setdefault(lhs.strip(), []).append(f"{lhs.strip()} = {rest}")  # without the alignment
    return found


def result_of(line: str) -> str:
    """The result of ``lhs = ... = result   note``."""
    return line.split("   ")[0].split(" = ")[-1]


def test_a_neuron_is_written_out_with_its_numbers_and_the_engines_results() -> None:
    x, w, b = scalar(0.5), scalar(-1.2), scalar(0.1)
    with gg.autograd.trace(names={"x": x, "w": w, "b": b}) as t:
        y = (x * w + b).tanh()
        y.backward()
    # by hand
    t1 = 0.5 * -1.2
    t2 = t1 + 0.1
    t3 = math.tanh(t2)
    d_t2 = 1.0 - t3**2
    d_w, d_x = d_t2 * 0.5, d_t2 * -1.2
    assert [s.function.__name__ for s in t.forward_steps] == ["Mul", "Add", "Tanh"]
    assert [str(s.output) for s in t.forward_steps] == ["t₁", "t₂", "t₃"]
    text = t.table()
    lines = lines_of(text)
    assert lines["t₁"] == [f"t₁ = x * w = 0.5 * (-1.2) = {t1:.6g}   Mul"]
    assert lines["t₂"][0].startswith("t₂ = t₁ + b = (-0.6) + 0.1 = -0.5")
    assert lines["t₃"][0].startswith(f"t₃ = tanh t₂ = tanh (-0.5) = {t3:.6g}")
    assert lines["dL/dt₂"][0].startswith(f"dL/dt₂ = g · (1 - t₃²) = 1 · (1 - ({t3:.6g})²) = {d_t2:.6g}")
    assert lines["dL/dw"][0].startswith(f"dL/dw = g · x = {d_t2:.6g} · 0.5 = {d_w:.6g}")
    assert lines["dL/dx"][0].startswith(f"dL/dx = g · w = {d_t2:.6g} · (-1.2) = {d_x:.6g}")
    assert "g = dL/dt₁" in lines["dL/dw"][0]  # which g
    assert text.index("Forward") < text.index("t₁ =") < text.index("Backward") < text.index("dL/dt₂")
    # the recorded numbers are the engine's own
    backward = [e for e in t.backward_events if isinstance(e, BackwardStep)]
    assert [e.forward.function.__name__ for e in backward] == ["Tanh", "Add", "Mul"]
    mul = backward[-1]
    assert float(mul.g.array) == pytest.approx(d_t2, abs=1e-15)
    assert [float(s.array) for s in mul.sent] == [float(x.grad.array), float(w.grad.array)]
    leaves = {str(e.label): float(e.grad.array) for e in t.backward_events if isinstance(e, Accumulation)}
    assert leaves == pytest.approx({"x": d_x, "w": d_w, "b": d_t2}, abs=1e-15)


def test_a_tensor_used_twice_shows_both_shares_and_their_sum() -> None:
    a = scalar(3.0)
    with gg.autograd.trace(names={"a": a}) as t:
        (a + 2 * a).backward()
    sums = [e for e in t.backward_events if isinstance(e, Summation)]
    assert len(sums) == 1 and str(sums[0].label) == "a"
    assert [float(s.array) for _, s in sums[0].shares] == [1.0, 2.0]  # from a + ..., then from 2 * a
    assert float(sums[0].total.array) == 3.0 == float(a.grad.array)
    lines = lines_of(t.table())["dL/da"]
    assert len(lines) == 3
    assert "dL/da = g = 1" in lines[0] and "a share of dL/da (a is used 2 times)" in lines[0]
    assert "dL/da = g · 2 = 1 · 2 = 2" in lines[1]
    assert lines[2].startswith("dL/da = (via t₂) + (via t₁) = 1 + 2 = 3")
    # the sum comes before the leaf's gradient goes into .grad
    kinds = [type(e).__name__ for e in t.backward_events]
    assert kinds.index("Summation") == kinds.index("Accumulation") - 1


def test_a_reused_intermediate_gets_its_sum_before_its_own_backward_runs() -> None:
    a = scalar(0.5)
    with gg.autograd.trace(names={"a": a}) as t:
        b = a * a
        t.name(b, "b")
        loss = b + b.exp()
        loss.backward()
    events = t.backward_events
    at = next(i for i, e in enumerate(events) if isinstance(e, Summation))
    assert str(events[at].label) == "b"
    assert isinstance(events[at + 1], BackwardStep) and str(events[at + 1].forward.output) == "b"
    # by hand: dL/db = 1 + e^b, dL/da = dL/db · 2a
    b_value = 0.25
    assert float(events[at].total.array) == pytest.approx(1 + math.exp(b_value), abs=1e-15)
    assert float(a.grad.array) == pytest.approx((1 + math.exp(b_value)) * 2 * 0.5, abs=1e-15)


def test_unnamed_tensors_are_numbered_in_order_and_renamed_everywhere() -> None:
    x, y = scalar(2.0), scalar(3.0)
    with gg.autograd.trace() as t:
        z = x * y
        z.backward()
    text = t.table()
    assert "t₁ = x₁ * x₂ = 2 * 3 = 6" in text
    t.name(x, "p")
    assert "t₁ = p * x₂ = 2 * 3 = 6" in t.table()
    assert "dL/dx₂ = g · p = 1 · 2 = 2" in t.table()


def test_large_tensors_show_their_shape_and_first_values() -> None:
    w = gg.arange(30, dtype=gg.float64).reshape(5, 6).requires_grad_()
    v = gg.ones(6, dtype=gg.float64, requires_grad=True)
    with gg.autograd.trace(names={"W": w, "v": v}) as t:
        (w @ v).sum().backward()
    lines = lines_of(t.table())
    assert lines["t₁"][0].startswith("t₁ = W @ v = [15, 51, 87, 123, 159]")  # 5 values: written out
    grad_w = lines["dL/dW"][0]
    assert "(5, 6) [1, 1, 1, …]" in grad_w  # 30 values: the shape and a few
    assert " = g @ vᵀ = (5, 6)" in grad_w  # too big to put the numbers into the formula


def test_rules_are_read_from_the_docstrings() -> None:
    mul = rule_of(Mul)
    assert mul.forward.algebra == "x * y" and mul.symbols == ("x", "y")
    assert (mul.gradients[0].algebra, mul.gradients[1].algebra) == ("g · y", "g · x")
    linear = rule_of(Linear)
    assert linear.symbols == ("x", "W", "b")
    assert [linear.gradients[i].algebra for i in range(3)] == ["g W", "Σ_rows gᵀ x", "Σ_rows g"]
    matmul = rule_of(MatMul)
    assert matmul.gradients[1] == split_remark("xᵀ @ g, summed over broadcast batch dims")
    assert matmul.gradients[1].remark == "summed over broadcast batch dims"
    assert rule_of(Tanh).gradients[0].algebra == "g · (1 - z²)"  # a parenthesis of math stays
    pow_rule = rule_of(Pow).gradients[0]
    assert (pow_rule.algebra, pow_rule.remark) == ("g · y·x^(y-1)", "0 where y = 0")
    relu = rule_of(ReLU).gradients[0]
    assert relu.algebra == "g where x > 0, 0 where x ≤ 0" and relu.remark == "and where x is NaN"
    assert rule_of(Div).gradients[1].algebra == "-g · x/y² = -g · z/y"


def test_substitution_replaces_whole_symbols_only() -> None:
    names = {"x": "a", "y": "w"}
    assert substitute("g · y·x^(y-1)", names) == "g · w·a^(w-1)"
    assert substitute("xᵀ @ g + max(x, 0)", names) == "aᵀ @ g + max(a, 0)"
    assert substitute("eˣ · 2x", {"x": "0.5"}) == "eˣ · 2·0.5"
    assert substitute("σ(x) + x", {"x": "(-0.6)"}) == "σ(-0.6) + (-0.6)"


def test_the_trace_does_not_change_the_gradients() -> None:
    def run() -> list[np.ndarray]:
        gg.manual_seed(3)
        w = gg.randn(3, 2, dtype=gg.float64, requires_grad=True)
        x = gg.randn(4, 3, dtype=gg.float64, requires_grad=True)
        h = (x @ w).tanh()
        (h * h + h).mean().backward()
        return [x.grad.numpy(), w.grad.numpy()]

    plain = run()
    with gg.autograd.trace():
        traced = run()
    for p, q in zip(plain, traced, strict=True):
        np.testing.assert_array_equal(p, q)


def test_grad_and_a_second_backward_each_sum_their_own_shares() -> None:
    a = gg.tensor([1.0, 2.0], dtype=gg.float64, requires_grad=True)
    with gg.autograd.trace(names={"a": a}) as t:
        (g,) = gg.autograd.grad((a * a).sum(), a, create_graph=True)  # 2a: shares a and a
        g.sum().backward()  # d(Σ 2a)/da = 2
    sums = [e for e in t.backward_events if isinstance(e, Summation)]
    assert [s.total.array.tolist() for s in sums] == [[2.0, 4.0], [2.0, 2.0]]
    assert a.grad.numpy().tolist() == [2.0, 2.0]


def test_markdown_and_latex_are_well_formed() -> None:
    x, w = scalar(0.5), scalar(-1.2)
    with gg.autograd.trace(names={"x": x, "w_1": w}) as t:
        (x * w).sigmoid().backward()
    md = t.to_markdown()
    tables = [line for line in md.splitlines() if line.startswith("|")]
    assert tables and all(len(re.findall(r"(?<!\\)\|", line)) == 6 for line in tables)
    assert md.count("|---|---|---|---|---|") == md.count("| step | formula |") == 3
    assert "`x * w_1`" in md
    tex = t.to_latex()
    assert tex.startswith("\\documentclass{article}") and tex.rstrip().endswith("\\end{document}")
    assert tex.isascii()
    assert tex.count("\\begin{align*}") == tex.count("\\end{align*}") == 3
    assert _balanced(tex)
    assert "\\partial L/\\partial w\\_1 &= g \\cdot x" in re.sub(
        " +", " ", tex
    )  # dL/dw_1 = g · x, the name's _ escaped


def _balanced(tex: str) -> bool:
    depth = 0
    for i, c in enumerate(tex):
        if c in "{}" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1 if c == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def test_every_op_in_the_op_table_is_traced_rendered_and_drawn() -> None:
    """Each op's forward and backward under a trace, written out in the three formats and as DOT; nearly
    every op's docstring gives the trace its rule (those that do not say so in their line)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from op_case import draw_inputs
    from op_table import OPS

    without_rule = set()
    for op in OPS:
        inputs = [gg.tensor(a, dtype=gg.float64, requires_grad=True) for a in draw_inputs(op, op.shapes[0], 0)]
        with gg.autograd.trace() as t:
            out = op.ours(*inputs)
            out = out[0] if isinstance(out, tuple | list) else out
            if not out.requires_grad:
                continue
            out.sum().backward()
        text = t.table()
        assert t.forward_steps and "Backward" in text, op.name
        assert t.to_markdown().count("| step |") == 3 and t.to_latex().isascii(), op.name
        assert gg.viz.graph(out, values=True, grads=True, trace=t).source.startswith("digraph"), op.name
        if "(no rule in the docstring)" in text:
            without_rule.add(op.name)
    assert len(without_rule) <= 10, sorted(without_rule)
