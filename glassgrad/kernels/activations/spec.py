"""The activation ops' validation cases, benchmark inputs and minimum memory traffic.

Validation shapes: single elements and sizes off every vector width (1, 7, 33,
1000, 4097), a 3-D input, a transposed (non-contiguous) view, and inputs of
magnitude up to about 100, where tanh, erf and e^(−x) saturate. gelu runs each
case in both forms, bias_act with every activation.

sigmoid_backward and tanh_backward read the forward's output z (σ(x) or
tanh x of those inputs) and g.

Benchmark sizes are "ROWSxCOLS", optionally ":form" (gelu: ":tanh";
bias_act: ":relu", ":gelu", ...). These ops are memory-bound on most machines,
so ``bytes`` counts every array read once and written once; ``flops`` is a
rough count per element (erf, tanh or exp counted as one).
"""

from __future__ import annotations

from typing import Any

from ..registry import Case, OpSpec, define_op
from ..spec_helpers import flops_per_element, normal, rows_and_cols
from .reference import ACTIVATIONS, sigmoid

SHAPES = [(1,), (7,), (33,), (1000,), (4097,), (1, 1), (7, 7), (33, 33), (5, 1000), (3, 4097)]
GELU_FORMS = ("none", "tanh")


def _inputs(xp: Any, dtype: Any) -> list[tuple[str, Any]]:
    """(name, x): the awkward inputs every activation op is validated on."""
    out = [("x".join(map(str, s)), normal(xp, s, dtype, i)) for i, s in enumerate(SHAPES)]
    out.append(("3-D (2, 5, 33)", normal(xp, (2, 5, 33), dtype, 20)))
    out.append(("transposed view (40x9).T", normal(xp, (40, 9), dtype, 21).T))
    out.append(("large |x| (saturating), 9x100", normal(xp, (9, 100), dtype, 22, scale=30.0)))
    return out


def _grad(xp: Any, x: Any, dtype: Any, seed: int) -> Any:
    return normal(xp, x.shape, dtype, 100 + seed, 1.0)


def _bias(xp: Any, x: Any, dtype: Any, seed: int) -> Any:
    """A bias for the last dim of x, itself a strided view (every other element)."""
    return normal(xp, (2 * x.shape[-1],), dtype, 200 + seed, 1.0)[::2]


def _gelu_cases(xp: Any, dtype: Any) -> list[Case]:
    return [
        Case(f"{name} {form}", (x,), {"approximate": form}) for name, x in _inputs(xp, dtype) for form in GELU_FORMS
    ]


def _gelu_backward_cases(xp: Any, dtype: Any) -> list[Case]:
    return [
        Case(f"{name} {form}", (x, _grad(xp, x, dtype, i)), {"approximate": form})
        for i, (name, x) in enumerate(_inputs(xp, dtype))
        for form in GELU_FORMS
    ]


def _silu_cases(xp: Any, dtype: Any) -> list[Case]:
    return [Case(name, (x,)) for name, x in _inputs(xp, dtype)]


def _silu_backward_cases(xp: Any, dtype: Any) -> list[Case]:
    return [Case(name, (x, _grad(xp, x, dtype, i))) for i, (name, x) in enumerate(_inputs(xp, dtype))]


def _output(xp: Any, op: str, x: Any) -> Any:
    """The saved output a backward from the output reads: σ(x) or tanh x."""
    return sigmoid(x) if op == "sigmoid_backward" else xp.tanh(x)


def _from_output_cases(op: str) -> Any:
    """cases(xp, dtype) of sigmoid_backward or tanh_backward: (z, g) with z the forward's output."""

    def cases(xp: Any, dtype: Any) -> list[Case]:
        return [
            Case(name, (_output(xp, op, x), _grad(xp, x, dtype, i))) for i, (name, x) in enumerate(_inputs(xp, dtype))
        ]

    return cases


def _bias_act_cases(xp: Any, dtype: Any) -> list[Case]:
    return [
        Case(f"{name} {act}", (x, _bias(xp, x, dtype, i)), {"activation": act})
        for i, (name, x) in enumerate(_inputs(xp, dtype))
        for act in ACTIVATIONS
    ]


def _bias_act_backward_cases(xp: Any, dtype: Any) -> list[Case]:
    out = [
        Case(f"{name} {act}", (x, _bias(xp, x, dtype, i), _grad(xp, x, dtype, i)), {"activation": act})
        for i, (name, x) in enumerate(_inputs(xp, dtype))
        for act in ACTIVATIONS
    ]
    g = normal(xp, (70, 33), dtype, 300, 1.0)
    out.append(Case("identity without x, 70x33", (None, _bias(xp, g, dtype, 300), g), {"activation": "identity"}))
    return out


def _parse(size: str) -> tuple[int, int, str]:
    """ "2048x3072:gelu" -> (2048, 3072, "gelu"); the form is "" when not given."""
    shape, _, form = size.partition(":")
    rows, cols = (int(d) for d in shape.lower().split("x"))
    return rows, cols, form


def _make(op: str) -> Any:
    """make_inputs for one op: a (rows, cols) input built like its validation cases."""

    def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
        rows, cols, form = _parse(size)
        x = normal(xp, (rows, cols), dtype, 0)
        g = normal(xp, (rows, cols), dtype, 1, 1.0)
        b = normal(xp, (cols,), dtype, 2, 1.0)
        if op.startswith("gelu"):
            args = (x,) if op == "gelu" else (x, g)
            return Case(size, args, {"approximate": form or "none"})
        if op.startswith("silu"):
            return Case(size, (x,) if op == "silu" else (x, g))
        if op == "sigmoid":
            return Case(size, (x,))
        if op in ("sigmoid_backward", "tanh_backward"):
            return Case(size, (_output(xp, op, x), g))
        args = (x, b) if op == "bias_act" else (x, b, g)
        return Case(size, args, {"activation": form or "identity"})

    return make_inputs


def _traffic(arrays: int, col_vectors: int = 0) -> Any:
    """bytes(case): ``arrays`` whole arrays and ``col_vectors`` per-column vectors, each moved once."""

    def count(case: Case) -> int:
        rows, cols = rows_and_cols(case)
        item = next(a for a in case.args if a is not None).dtype.itemsize
        return item * (arrays * rows * cols + col_vectors * cols)

    return count


GELU_SIZES = {
    "cpu": ("2048x3072", "2048x3072:tanh", "65536x64"),
    "cuda": ("8192x8192", "8192x8192:tanh"),
}
SILU_SIZES = {"cpu": ("2048x3072", "65536x64"), "cuda": ("8192x8192",)}
#: the chain benchmark's (16, 16), where a call's fixed cost is most of it, and a large array
SIGMOID_SIZES = {"cpu": ("16x16", "2048x3072"), "cuda": ("8192x8192",)}
BIAS_SIZES = {
    "cpu": ("2048x3072", "2048x3072:relu", "2048x3072:gelu", "2048x3072:silu"),
    "cuda": ("8192x8192", "8192x8192:gelu"),
}

for _op, _what, _cases, _sizes, _bytes, _flop in [
    ("gelu", "z = x·Φ(x) (or its tanh form)", _gelu_cases, GELU_SIZES, _traffic(2), 8),
    (
        "gelu_backward",
        "dL/dx = g·(Φ(x) + x·φ(x)) (or the tanh form's)",
        _gelu_backward_cases,
        GELU_SIZES,
        _traffic(3),
        12,
    ),
    ("silu", "z = x·σ(x)", _silu_cases, SILU_SIZES, _traffic(2), 5),
    ("silu_backward", "dL/dx = g·σ(x)(1 + x(1 − σ(x)))", _silu_backward_cases, SILU_SIZES, _traffic(3), 8),
    ("sigmoid", "z = σ(x) = 1/(1 + e^(−x))", _silu_cases, SIGMOID_SIZES, _traffic(2), 4),
    (
        "sigmoid_backward",
        "dL/dx = g·z(1 − z) from z = σ(x)",
        _from_output_cases("sigmoid_backward"),
        SIGMOID_SIZES,
        _traffic(3),
        3,
    ),
    (
        "tanh_backward",
        "dL/dx = g·(1 − z²) from z = tanh x",
        _from_output_cases("tanh_backward"),
        SIGMOID_SIZES,
        _traffic(3),
        3,
    ),
    # x read, z written; b read
    ("bias_act", "z = act(x + b), b over the last dim", _bias_act_cases, BIAS_SIZES, _traffic(2, 1), 8),
    # x, g read, dL/dx written; b read, dL/db written
    (
        "bias_act_backward",
        "dL/dx = g·act'(x + b), dL/db = Σ_rows dL/dx",
        _bias_act_backward_cases,
        BIAS_SIZES,
        _traffic(3, 2),
        12,
    ),
]:
    define_op(
        OpSpec(
            op=_op,
            description=_what,
            cases=_cases,
            make_inputs=_make(_op),
            flops=flops_per_element(_flop),
            bytes=_bytes,
            default_sizes=_sizes,
        )
    )
