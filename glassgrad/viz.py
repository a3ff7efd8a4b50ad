"""``gg.viz.graph(tensor)``: the graph backward walks, as Graphviz DOT text (and a picture where ``dot`` exists).

One node per op (its name and its output's shape and dtype), one per leaf that requires grad (named
``params``' name when it is a module's parameter, else by the trace's name or its shape), an edge from each
input to the op that uses it. A tensor used twice is drawn once with two out-edges. Inputs that need no
gradient (an input x, a target) are drawn dashed when a ``trace`` saw them; numbers are not drawn.
``values=True`` adds values and ``grads=True`` gradients to the labels where they are known: a leaf's value
and ``.grad``, the output's value, an op output's value when the op saved it, its gradient when it was
retained (``retain_grad``) — and all of them when a ``trace`` (gg.autograd.trace) of the forward and
backward is passed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .autograd.trace import Snapshot, Trace
from .engine.autograd import topological_order
from .engine.function import Node
from .engine.tensor import Tensor

INSTALL_DOT = (
    "the Graphviz program 'dot' is not installed (or not on PATH): install it with "
    "`apt install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install graphviz`; writing the DOT text (a .dot file, Graph.source) needs no program"
)
FORMATS = ("svg", "png", "pdf", "dot")


class Graph:
    """DOT text in ``source``; ``render(path)`` writes .dot always, .svg/.png/.pdf through Graphviz."""

    def __init__(self, source: str) -> None:
        self.source = source

    def render(self, path: str | Path) -> Path:
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise ValueError(f"Graph.render: {path.name!r} should end in one of {', '.join('.' + f for f in FORMATS)}")
        if fmt == "dot":
            path.write_text(self.source, encoding="utf-8")
            return path
        if shutil.which("dot") is None:
            raise RuntimeError(f"Graph.render({str(path)!r}): {INSTALL_DOT}")
        import graphviz

        path.write_bytes(graphviz.Source(self.source).pipe(format=fmt))
        return path

    def _repr_svg_(self) -> str | None:  # drawn inline in Jupyter where dot exists
        if shutil.which("dot") is None:
            return None
        import graphviz

        return graphviz.Source(self.source).pipe(format="svg").decode("utf-8")

    def __str__(self) -> str:
        return self.source


def graph(
    tensor: Tensor,
    values: bool = False,
    grads: bool = False,
    params: dict[str, Tensor] | None = None,
    trace: Trace | None = None,
) -> Graph:
    """The graph that made ``tensor``; see the module docstring."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"gg.viz.graph: expected a Tensor, got {type(tensor).__name__}")
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor
    names = {id(p): name for name, p in (params or {}).items()}
    order = topological_order(root) if tensor.requires_grad else [tensor]
    ids = {id(v): f"{'op' if type(v) is Node else 'leaf'}{i}" for i, v in enumerate(order)}
    output_meta: dict[int, tuple[Any, Any]] = {}  # an op's output (shape, dtype), from its consumer
    for v in order:
        if type(v) is Node:
            for parent, meta in zip(v.inputs, v.input_meta, strict=True):
                if type(parent) is Node:
                    output_meta[id(parent)] = (meta[0], meta[1])
    output_meta[id(root)] = (tensor.shape, tensor.dtype)
    lines = [
        "digraph autograd {",
        '  graph [rankdir=BT, fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    for v in reversed(order):  # inputs first
        lines.append(f"  {ids[id(v)]} [{_attributes(v, v is root, tensor, output_meta, names, values, grads, trace)}];")
    constants: dict[int, str] = {}  # by id of the trace's label: tensors that need no gradient
    for v in reversed(order):
        if type(v) is Node:
            traced = trace.tensor_inputs(v) if trace is not None else []
            for i, parent in enumerate(v.inputs):
                if parent is not None:
                    lines.append(f"  {ids[id(parent)]} -> {ids[id(v)]};")
                elif i < len(traced) and traced[i] is not None:
                    label, value = traced[i]
                    if id(label) not in constants:
                        constants[id(label)] = f"const{len(constants)}"
                        lines.append(f"  {constants[id(label)]} [{_constant_attributes(str(label), value, values)}];")
                    lines.append(f"  {constants[id(label)]} -> {ids[id(v)]} [style=dashed];")
    lines.append("}")
    return Graph("\n".join(lines) + "\n")


def _attributes(
    vertex: Any,
    is_root: bool,
    output: Tensor,
    output_meta: dict[int, Any],
    names: dict[int, str],
    values: bool,
    grads: bool,
    trace: Trace | None,
) -> str:
    label_of = trace.label_of(vertex) if trace is not None else None
    if type(vertex) is Node:
        shape, dtype = output_meta.get(id(vertex), (None, None))
        title = vertex.function.__name__ + (f" → {label_of}" if label_of is not None else "")
        value = _op_value(vertex, output if is_root else None, trace)
        grad = _op_grad(vertex, trace)
        style = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
    else:
        shape, dtype = vertex.shape, vertex.dtype
        title = names.get(id(vertex)) or label_of or "leaf"
        value = _traced(trace, "value_of", vertex) or Snapshot.of(vertex.array)
        grad = Snapshot.of(vertex.grad.array) if vertex.grad is not None else _traced(trace, "grad_of", vertex)
        style = 'shape=ellipse, style=filled, fillcolor="#fdf2d0"'
    rows = [title, _shape_text(shape, dtype)]
    if values and value is not None:
        rows.append(f"value {value.text()}")
    if grads and grad is not None:
        rows.append(f"grad {grad.text()}")
    if is_root:
        style += ", penwidth=2"
    return f'label="{_dot_escape(chr(10).join(rows))}", {style}'


def _constant_attributes(name: str, value: Snapshot, values: bool) -> str:
    rows = [name, f"{value.shape} {value.dtype}", "no grad"]
    if values:
        rows.append(f"value {value.text()}")
    return f'label="{_dot_escape(chr(10).join(rows))}", shape=note, style=dashed, color="#888888"'


def _shape_text(shape: Any, dtype: Any) -> str:
    if shape is None:
        return "?"
    return f"{tuple(shape)} {np.dtype(dtype).name if dtype is not None else ''}".strip()


def _op_value(node: Node, output: Tensor | None, trace: Trace | None) -> Snapshot | None:
    if output is not None:
        return Snapshot.of(output.array)
    if trace is not None and trace.value_of(node) is not None:
        return trace.value_of(node)
    for saved in node.saved_arrays or ():  # an op that saved its output
        if id(saved) == node.output_id:
            return Snapshot.of(saved)
    return None


def _op_grad(node: Node, trace: Trace | None) -> Snapshot | None:
    if node.retained_by is not None:
        retained = node.retained_by()
        if retained is not None and retained.grad is not None:
            return Snapshot.of(retained.grad.array)
    return _traced(trace, "grad_of", node)


def _traced(trace: Trace | None, what: str, vertex: Any) -> Snapshot | None:
    return None if trace is None else getattr(trace, what)(vertex)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
