"""gg.viz.graph: the graph as Graphviz DOT, checked for structure (nodes, edges, shared tensors, labels);
rendering through the graphviz package where the dot program exists, a clear error where it does not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import glassgrad as gg
from glassgrad import viz


def parse(source: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The DOT text's nodes (id → label) and edges, asserting every line is one of the forms we write."""
    lines = source.strip().splitlines()
    assert lines[0] == "digraph autograd {" and lines[-1] == "}"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in lines[1:-1]:
        if m := re.fullmatch(r'  (\w+) \[label="((?:[^"\\]|\\.)*)", .*\];', line):
            nodes[m.group(1)] = m.group(2).replace("\\n", "\n")
        elif m := re.fullmatch(r"  (\w+) -> (\w+)(?: \[style=dashed\])?;", line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert re.fullmatch(r"  (graph|node) \[.*\];", line), line
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes, edges


def by_title(nodes: dict[str, str]) -> dict[str, str]:
    return {label.split("\n")[0]: key for key, label in nodes.items()}


def test_a_reused_tensor_is_drawn_once_with_two_out_edges() -> None:
    a = gg.tensor(3.0, requires_grad=True)
    out = a + 2 * a
    nodes, edges = parse(viz.graph(out).source)
    assert len(nodes) == 3 and len(edges) == 3  # a, Mul, Add; a→Mul, a→Add, Mul→Add
    ids = by_title(nodes)
    assert set(ids) == {"leaf", "Mul", "Add"}
    assert sorted(b for a_, b in edges if a_ == ids["leaf"]) == sorted([ids["Mul"], ids["Add"]])
    assert (ids["Mul"], ids["Add"]) in edges
    assert all("() float32" in label for label in nodes.values())


def test_a_model_graph_names_its_parameters_and_shows_shapes_and_dtypes() -> None:
    model = gg.nn.Sequential(gg.nn.Linear(2, 3), gg.nn.ReLU(), gg.nn.Linear(3, 1))
    x = gg.randn(4, 2)
    loss = model(x).pow(2).mean()
    nodes, edges = parse(viz.graph(loss, params=dict(model.named_parameters())).source)
    ids = by_title(nodes)
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= set(ids)
    assert nodes[ids["0.weight"]].split("\n")[1] == "(3, 2) float32"
    assert nodes[ids["2.bias"]].split("\n")[1] == "(1,) float32"
    ops = [label.split("\n") for label in nodes.values() if not label.startswith(("0.", "2."))]
    assert sorted(op[0] for op in ops) == ["Linear", "Linear", "Mean", "Pow", "ReLU"]
    assert ["Linear", "(4, 3) float32"] in ops and ["Mean", "() float32"] in ops  # an op's output shape
    assert len(nodes) == 9 and len(edges) == 8  # x needs no grad: not drawn
    out_degree = {k: sum(a == k for a, _ in edges) for k in nodes}
    assert all(n == 1 for k, n in out_degree.items() if k != ids["Mean"]) and out_degree[ids["Mean"]] == 0


def test_values_and_grads_in_the_labels() -> None:
    w = gg.tensor([1.0, -2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward()
    nodes, _ = parse(viz.graph(y, values=True, grads=True, params={"w": w}).source)
    ids = by_title(nodes)
    assert nodes[ids["w"]].split("\n")[1:] == ["(2,) float32", "value [1, -2]", "grad [2, -4]"]
    assert "value 5" in nodes[ids["Sum"]]
    plain, _ = parse(viz.graph(y).source)
    assert not any("value" in label or "grad" in label for label in plain.values())


def test_a_trace_gives_every_op_its_name_value_and_gradient() -> None:
    x = gg.tensor(0.5, dtype=gg.float64, requires_grad=True)
    with gg.autograd.trace(names={"x": x}) as t:
        h = x.tanh()
        out = h * h
        out.backward()
    nodes, edges = parse(viz.graph(out, values=True, grads=True, trace=t).source)
    ids = by_title(nodes)
    assert set(ids) == {"x", "Tanh → t₁", "Mul → t₂"}
    tanh = nodes[ids["Tanh → t₁"]]
    assert "value 0.462117" in tanh and "grad 0.924234" in tanh  # dL/dh = 2h
    assert sum(a == ids["Tanh → t₁"] for a, _ in edges) == 2  # h used twice by Mul
    with gg.no_grad():
        x.sub_(1.0)  # an optimizer step after the pass: the trace still shows what the forward saw
    assert "value 0.5" in by_label(viz.graph(out, values=True, trace=t).source, "x")
    assert "value -0.5" in by_label(viz.graph(out, values=True, params={"x": x}).source, "x")


def test_with_a_trace_inputs_that_need_no_grad_are_drawn_dashed_once() -> None:
    x = gg.tensor([1.0, 2.0], dtype=gg.float64)  # data: no grad
    w = gg.tensor([0.5, -1.0], dtype=gg.float64, requires_grad=True)
    with gg.autograd.trace(names={"x": x, "w": w}) as t:
        out = (x * w).sum() + (w - x).sum()
        out.backward()
    source = viz.graph(out, values=True, trace=t).source
    nodes, edges = parse(source)
    ids = by_title(nodes)
    assert nodes[ids["x"]] == "x\n(2,) float64\nno grad\nvalue [1, 2]"
    assert sorted(nodes[b].split("\n")[0] for a, b in edges if a == ids["x"]) == ["Mul → t₁", "Sub → t₃"]
    assert source.count("[style=dashed];") == 2
    assert len(parse(viz.graph(out).source)[0]) == len(nodes) - 1  # without the trace: not drawn


def by_label(source: str, title: str) -> str:
    nodes, _ = parse(source)
    return nodes[by_title(nodes)[title]]


def test_render_writes_dot_text_without_graphviz(tmp_path: Path) -> None:
    a = gg.tensor(1.0, requires_grad=True)
    drawing = viz.graph(a.exp())
    path = drawing.render(tmp_path / "g.dot")
    assert path.read_text(encoding="utf-8") == drawing.source
    with pytest.raises(ValueError, match=r"\.svg"):
        drawing.render(tmp_path / "g.jpeg")


def test_render_without_dot_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawing = viz.graph(gg.tensor(1.0, requires_grad=True).exp())
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError) as err:
        drawing.render(tmp_path / "g.svg")
    for how in ("apt install graphviz", "brew install graphviz", "conda install graphviz"):
        assert how in str(err.value)
    assert not (tmp_path / "g.svg").exists()


def test_render_draws_svg_and_png_where_dot_exists(tmp_path: Path) -> None:
    drawing = viz.graph((gg.tensor([1.0, 2.0], requires_grad=True) * 3).sum())
    if shutil.which("dot") is None:  # this machine has no Graphviz: the error, as above
        with pytest.raises(RuntimeError, match="apt install graphviz"):
            drawing.render(tmp_path / "g.png")
        return
    svg = drawing.render(tmp_path / "g.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "Mul" in svg and "Sum" in svg
    assert drawing.render(tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_tensor_without_history_is_one_node_and_bad_input_is_refused() -> None:
    nodes, edges = parse(viz.graph(gg.ones(2, 3)).source)
    assert list(nodes.values()) == ["leaf\n(2, 3) float32"] and edges == []
    with pytest.raises(TypeError, match="gg.viz.graph: expected a Tensor, got list"):
        viz.graph([1, 2])
