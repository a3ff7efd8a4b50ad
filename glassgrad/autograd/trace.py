"""``with gg.autograd.trace() as t:``: every op of a forward and backward pass, written down as it happens.

The trace is an observer (engine/observers.py). For each op's forward it keeps the op, its inputs and its
output (values and shapes, copied then); for each node's backward the incoming gradient g = dL/dz and the
gradient sent to each input; where a tensor is used several times, each share and their sum; each leaf's
gradient as it goes into ``.grad``. ``t.worked_example()`` turns that into lines
``dL/dw = g · x = 0.5 · 2 = 1``: the op's rule from its docstring (autograd/rules.py) in the program's
names, then with its numbers, then the engine's own result. ``t.table()``, ``t.to_markdown()`` and
``t.to_latex()`` print it (autograd/worked_example.py).

Tensors are named by ``names={"w": w, ...}`` or ``t.name(tensor, "w")``; others are x₁, x₂, … (inputs
the trace did not see made) and t₁, t₂, … (op outputs), in order. The trace keeps the tensors it saw
alive, so it is for small computations, the ones a person reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import observers
from ..engine.function import Node
from ..engine.recorded import Recorded
from ..engine.tensor import Tensor
from .rules import Formula, rule_of
from .worked_example import SMALL, Line, WorkedExample, values

#: values are put into a formula when every array in it has at most this many elements
SUBSTITUTED = 4
#: arrays up to this size are copied whole; larger ones keep their first values
KEPT = 64

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class Label:
    """A tensor's name in the trace; renaming it renames every line that mentions it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


@dataclass
class Snapshot:
    """An array's shape, dtype and values (whole when small, its first values when not), copied when seen."""

    shape: tuple[int, ...]
    dtype: str
    array: np.ndarray  # the values, or the first of them (flattened) when ``whole`` is False
    whole: bool

    @classmethod
    def of(cls, value: Any) -> Snapshot:
        a = host(value)
        if a.size <= KEPT:
            return cls(tuple(a.shape), str(a.dtype), a.copy(), True)
        return cls(tuple(a.shape), str(a.dtype), a.reshape(-1)[:KEPT].copy(), False)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def text(self) -> str:
        if self.whole:
            return values(self.array)
        first = ", ".join(values(v) for v in self.array[:3])
        return f"{self.shape} [{first}, …]"

    def substituted(self) -> str:
        """The values as they go into a formula: a negative number in parentheses."""
        text = self.text()
        return f"({text})" if text.startswith("-") else text


def host(value: Any) -> np.ndarray:
    """A gradient or value (array, CuPy array, Tensor, Recorded, number) as a NumPy array."""
    if type(value) is Recorded:
        value = value.tensor
    if isinstance(value, Tensor):
        value = value.array
    if hasattr(value, "get") and not isinstance(value, np.ndarray | np.generic):
        value = value.get()  # a CuPy array
    return np.asarray(value)


@dataclass
class ForwardStep:
    """One op's forward: ``output = function(*inputs, **options)``."""

    function: type
    output: Label
    inputs: list[Label | str | None]  # per positional argument: a tensor's label, a number's text, or None
    input_values: list[Snapshot | None]
    options: dict[str, Any]
    value: Snapshot


@dataclass
class BackwardStep:
    """One node's backward: g = dL/d(output) in, one gradient out per input (None where none)."""

    forward: ForwardStep
    g: Snapshot
    sent: list[Snapshot | None]
    parents: list[Label | None]
    start: bool  # the first node of the pass: its g is the initial gradient, from no other op
    pass_index: int  # which backward pass (each root starts one)


@dataclass
class Summation:
    """The gradient of a tensor used several times: the sum of its shares, in the order they came."""

    label: Label
    shares: list[tuple[Label, Snapshot]]  # (the op output it came through, the share)
    total: Snapshot
    pass_index: int


@dataclass
class Accumulation:
    """A leaf's gradient added into its ``.grad``."""

    label: Label
    grad: Snapshot


@dataclass
class _Shares:
    got: list[tuple[Label, Snapshot]] = field(default_factory=list)
    total: Any = None
    summed: bool = False


class Trace:
    """What ``trace()`` recorded; see the module docstring."""

    def __init__(self, names: dict[str, Tensor] | None = None) -> None:
        self.forward_steps: list[ForwardStep] = []
        self.backward_events: list[BackwardStep | Summation | Accumulation] = []
        self._labels: dict[int, Label] = {}  # by id of a Tensor or of a Node
        self._steps: dict[int, ForwardStep] = {}  # by id of a Node
        self._kept: list[Any] = []  # what the ids refer to, kept alive so no id is reused
        self._shares: dict[int, _Shares] = {}  # by id of the vertex (Node or leaf) the gradient collects at
        self._counts = {"x": 0, "t": 0}
        self._passes = 0
        for name, tensor in (names or {}).items():
            self.name(tensor, name)

    # naming

    def name(self, tensor: Tensor, name: str) -> None:
        """Call ``tensor`` ``name`` in every line (also one already recorded)."""
        self._label(tensor).name = name

    def _new_label(self, kind: str) -> Label:
        self._counts[kind] += 1
        return Label(f"{kind}{str(self._counts[kind]).translate(_SUBSCRIPTS)}")

    def _label(self, tensor: Tensor, kind: str = "x") -> Label:
        for key in (id(tensor.grad_fn) if tensor.grad_fn is not None else None, id(tensor)):
            if key in self._labels:
                return self._labels[key]
        label = self._new_label(kind)
        self._bind(tensor, label)
        return label

    def _bind(self, tensor: Tensor, label: Label) -> None:
        self._labels[id(tensor)] = label
        self._kept.append(tensor)
        if tensor.grad_fn is not None:
            self._labels[id(tensor.grad_fn)] = label
            self._kept.append(tensor.grad_fn)

    def _vertex_label(self, vertex: Any) -> Label:
        label = self._labels.get(id(vertex))
        if label is None:  # made before the trace began
            label = self._new_label("x")
            self._labels[id(vertex)] = label
            self._kept.append(vertex)
        return label

    # the observer's methods (engine/observers.py)

    def on_forward(self, function: type, args: tuple[Any, ...], kwargs: dict[str, Any], result: Tensor) -> None:
        inputs: list[Label | str | None] = []
        input_values: list[Snapshot | None] = []
        for a in args:
            if isinstance(a, Tensor):
                inputs.append(self._label(a))
                input_values.append(Snapshot.of(a.array))
            elif isinstance(a, bool | int | float | np.number):
                inputs.append(values(a))
                input_values.append(Snapshot.of(a))
            else:
                inputs.append(None)
                input_values.append(None)
        label = self._new_label("t")
        self._bind(result, label)
        step = ForwardStep(function, label, inputs, input_values, dict(kwargs), Snapshot.of(result.array))
        self.forward_steps.append(step)
        if result.grad_fn is not None:
            self._steps[id(result.grad_fn)] = step

    def on_backward(self, node: Node, grad_output: Any, grad_inputs: tuple[Any, ...]) -> None:
        if id(node) not in self._shares:  # a root: a new backward pass, whose shares are its own
            self.finish()
            self._shares = {}
            self._passes += 1
        self._sum_if_shared(node)
        step = self._steps.get(id(node))
        if step is None:  # a node made before the trace began
            label = self._vertex_label(node)
            n = len(node.inputs)
            step = ForwardStep(node.function, label, [None] * n, [None] * n, {}, Snapshot.of(np.zeros(0)))
            self._steps[id(node)] = step
        parents = [None if p is None else self._vertex_label(p) for p in node.inputs]
        sent = [None if pg is None else Snapshot.of(pg) for pg in grad_inputs]
        start = id(node) not in self._shares or not self._shares[id(node)].got
        self.backward_events.append(BackwardStep(step, Snapshot.of(grad_output), sent, parents, start, self._passes))
        for parent, pg, share in zip(node.inputs, grad_inputs, sent, strict=True):
            if parent is not None and share is not None:
                got = self._shares.setdefault(id(parent), _Shares())
                value = host(pg)
                got.got.append((step.output, share))
                got.total = value.copy() if got.total is None else got.total + value

    def on_accumulate(self, leaf: Tensor, grad: Any) -> None:
        self._sum_if_shared(leaf)
        self.backward_events.append(Accumulation(self._vertex_label(leaf), Snapshot.of(grad)))

    def _sum_if_shared(self, vertex: Any) -> None:
        got = self._shares.get(id(vertex))
        if got is not None and len(got.got) > 1 and not got.summed:
            got.summed = True
            label = self._vertex_label(vertex)
            self.backward_events.append(Summation(label, list(got.got), Snapshot.of(got.total), self._passes))

    def finish(self) -> None:
        """Sum the shares of tensors whose gradient was not passed on (``grad()``'s inputs)."""
        for key in list(self._shares):
            got = self._shares[key]
            if len(got.got) > 1 and not got.summed:
                got.summed = True
                label = self._labels.get(key, Label("?"))
                self.backward_events.append(Summation(label, list(got.got), Snapshot.of(got.total), self._passes))

    # looking up a vertex of the graph (a Node or a leaf Tensor), as gg.viz.graph does

    def label_of(self, vertex: Any) -> str | None:
        label = self._labels.get(id(vertex))
        return None if label is None else label.name

    def value_of(self, vertex: Any) -> Snapshot | None:
        """The value of the op ``vertex``'s output (a Node) or of a leaf, as the forward saw it (an optimizer
        step after it does not change it)."""
        step = self._steps.get(id(vertex))
        if step is not None:
            return step.value
        label = self._labels.get(id(vertex))
        for step in self.forward_steps:
            for i, value in zip(step.inputs, step.input_values, strict=True):
                if i is label and label is not None:
                    return value
        return None

    def tensor_inputs(self, node: Any) -> list[tuple[Label, Snapshot] | None]:
        """Per positional input of the op ``node``: its label and value when it was a tensor, else None."""
        step = self._steps.get(id(node))
        if step is None:
            return []
        return [
            (i, v) if isinstance(i, Label) and v is not None else None
            for i, v in zip(step.inputs, step.input_values, strict=True)
        ]

    def grad_of(self, vertex: Any) -> Snapshot | None:
        """dL/d(vertex): the g a Node's backward got, or what a leaf accumulated."""
        step = self._steps.get(id(vertex))
        label = self._labels.get(id(vertex))
        for event in self.backward_events:
            if isinstance(event, BackwardStep) and step is not None and event.forward is step:
                return event.g
            if isinstance(event, Accumulation) and event.label is label:
                return event.grad
        return None

    # rendering

    def worked_example(self, title: str = "Backpropagation, step by step") -> WorkedExample:
        """The forward lines in order, then the backward lines in order (see the module docstring)."""
        doc = WorkedExample(title)
        forward = doc.section("Forward", "each op's output, from its inputs")
        for step in self.forward_steps:
            forward.lines.append(_forward_line(step))
        backward = doc.section("Backward", "g is the gradient dL/dz arriving at the op that made z; z its output")
        shared = {(e.pass_index, id(e.label)): len(e.shares) for e in self.backward_events if isinstance(e, Summation)}
        for event in self.backward_events:
            if isinstance(event, BackwardStep):
                if event.start:
                    backward.lines.append(
                        Line(f"dL/d{event.forward.output}", "", "", event.g.text(), "where backward starts")
                    )
                backward.lines.extend(_backward_lines(event, shared))
            elif isinstance(event, Summation):
                backward.lines.append(_summation_line(event))
        leaves = [e for e in self.backward_events if isinstance(e, Accumulation)]
        if leaves:
            grads = doc.section("Leaf gradients", "what backward() leaves in each leaf's .grad")
            for event in leaves:
                grads.lines.append(Line(f"{event.label}.grad", "", "", event.grad.text(), "accumulated"))
        return doc

    def table(self) -> str:
        """The worked example as plain text."""
        return self.worked_example().text()

    def to_markdown(self) -> str:
        return self.worked_example().markdown()

    def to_latex(self) -> str:
        return self.worked_example().latex()

    def __str__(self) -> str:
        return self.table()


def _forward_line(step: ForwardStep) -> Line:
    rule = rule_of(step.function)
    names = _symbols(rule.symbols, step.inputs)
    options = ", ".join(f"{k}={v!r}" for k, v in step.options.items() if v is not None)
    note = step.function.__name__ + (f"({options})" if options else "")
    if step.value.shape and step.value.size > 1:
        note += f", shape {step.value.shape}"
    if rule.forward is None or not rule.forward.algebra:
        args = ", ".join(str(i) for i in step.inputs if i is not None)
        return Line(str(step.output), f"{step.function.__name__.lower()}({args})", "", step.value.text(), note)
    forward = Formula(rule.forward.algebra.split(" = ")[0])  # σ(x), not σ(x) = 1/(1 + e⁻ˣ)
    formula = substitute(forward.algebra, names)
    numbers = _numbers(forward, rule.symbols, step.input_values, step.inputs, None, None)
    return Line(str(step.output), formula, numbers, step.value.text(), note)


def _backward_lines(event: BackwardStep, shared: dict[tuple[int, int], int]) -> list[Line]:
    step = event.forward
    rule = rule_of(step.function)
    labels = list(step.inputs)
    for i, p in enumerate(event.parents):  # a node first seen in backward knows its inputs from there
        if labels[i] is None and p is not None:
            labels[i] = p
    names = {**_symbols(rule.symbols, labels), "z": str(step.output)}
    lines = []
    for i, share in enumerate(event.sent):
        parent = event.parents[i] if i < len(event.parents) else None
        if share is None or parent is None:
            continue
        note = f"{step.function.__name__} backward, g = dL/d{step.output}"
        uses = shared.get((event.pass_index, id(parent)))
        if uses is not None:
            note += f"; a share of dL/d{parent} ({parent} is used {uses} times)"
        formula = rule.gradient(i)
        if rule.every is not None and rule.every_symbol is not None:
            names[rule.every_symbol] = str(parent)  # dL/dxᵢ of a *xs op: this input's own name
        if formula is None:
            lines.append(Line(f"dL/d{parent}", "(no rule in the docstring)", "", share.text(), note))
            continue
        text = substitute(formula.algebra, names)
        numbers_bound = [s for s, i in zip(rule.symbols, step.inputs, strict=False) if isinstance(i, str)]
        if formula.remark and not any(_mentions(formula.remark, s) for s in numbers_bound):
            text += f" ({substitute(formula.remark, names)})"  # not "(0 where 2 = 0)" for x ** 2
        numbers = _numbers(formula, rule.symbols, step.input_values, step.inputs, event.g, step.value)
        lines.append(Line(f"dL/d{parent}", text, numbers, share.text(), note))
    return lines


def _summation_line(event: Summation) -> Line:
    formula = " + ".join(f"(via {via})" for via, _ in event.shares)
    numbers = " + ".join(s.substituted() for _, s in event.shares)
    note = f"{event.label} is used {len(event.shares)} times: its gradient is the sum of the shares"
    return Line(f"dL/d{event.label}", formula, numbers, event.total.text(), note)


def _mentions(text: str, symbol: str) -> bool:
    return re.search(rf"(?<![A-Za-z_]){re.escape(symbol)}(?![A-Za-z0-9_])", text) is not None


def _symbols(symbols: tuple[str, ...], inputs: list[Label | str | None]) -> dict[str, str]:
    return {s: str(i) for s, i in zip(symbols, inputs, strict=False) if i is not None}


def substitute(algebra: str, names: dict[str, str]) -> str:
    """``algebra`` with each symbol (a whole name: ``x`` in ``xᵀ`` and ``2x``, not in ``max``) replaced,
    all at once. A value after a digit or ``)`` gets a ``·``."""
    if not names:
        return algebra
    symbols = "|".join(re.escape(s) for s in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z_])({symbols})(?![A-Za-z0-9_])")

    def one(m: re.Match) -> str:
        value = names[m.group(1)]
        before = algebra[m.start() - 1] if m.start() else ""
        after = algebra[m.end()] if m.end() < len(algebra) else ""
        if before == "(" and after == ")" and value.startswith("(") and value.endswith(")"):
            value = value[1:-1]  # σ(-0.6), not σ((-0.6))
        return ("·" if before.isdigit() or before == ")" else "") + value

    return pattern.sub(one, algebra)


def _numbers(
    formula: Formula,
    symbols: tuple[str, ...],
    input_values: list[Snapshot | None],
    inputs: list[Label | str | None],
    g: Snapshot | None,
    z: Snapshot | None,
) -> str:
    """The formula's algebra with every value put in, or "" when a value is too big to read there."""
    present: dict[str, Snapshot] = {}
    for symbol, value in zip(symbols, input_values, strict=False):
        if value is not None:
            present[symbol] = value
    if g is not None:
        present["g"] = g
    if z is not None:
        present["z"] = z
    names = {s: v for s, v in present.items() if _mentions(formula.algebra, s)}
    if not names or any(v.size > SUBSTITUTED or not v.whole for v in names.values()):
        return ""
    return substitute(formula.algebra, {s: v.substituted() for s, v in names.items()})


class trace:  # noqa: N801 - a context manager used as a function, as torch.autograd.profiler's are
    """``with gg.autograd.trace(names={"w": w}) as t: ...`` records the ops inside; ``t`` is the Trace."""

    def __init__(self, names: dict[str, Tensor] | None = None) -> None:
        self.trace = Trace(names)
        self._context: Any = None

    def __enter__(self) -> Trace:
        self._context = observers.observing(self.trace)
        self._context.__enter__()
        return self.trace

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)
        self.trace.finish()


__all__ = ["SMALL", "Trace", "trace"]
