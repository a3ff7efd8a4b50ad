"""The recurrent ops' validation cases, benchmark inputs and work counts.

A case is a layer (T steps, batch B, input I, hidden H, optionally proj_size P for the LSTM) with
weights drawn uniformly from ±1/√H as PyTorch initialises them; the cases cover T = 1 and B = 1, sizes
off every vector width, a missing bias, relu, ``reverse`` and unsorted ``lengths`` (some shorter than
T), and a non-contiguous x. A backward case is its forward case run through the reference plus a
random dL/d(trajectory).

Benchmark sizes are "TxBxIxH" (e.g. "128x32x512x512", the benchmark LSTM's layer), optionally with
":relu" (rnn) or ":pP" (lstm proj_size P).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import backend
from ..registry import Case, OpSpec, define_op

GATES = {"rnn": 1, "gru": 3, "lstm": 4}

#: (T, B, I, H, options): small, so that validating every variant in float32 and float64 stays quick
LAYERS: list[tuple[int, int, int, int, dict[str, Any]]] = [
    (1, 1, 3, 2, {}),
    (5, 3, 4, 7, {"reverse": True}),
    (6, 4, 5, 9, {"lengths": [6, 2, 5, 1]}),
    (7, 5, 3, 17, {"lengths": [3, 7, 1, 7, 5], "reverse": True, "bias": False}),
    (4, 2, 6, 5, {"transposed": True, "proj": 3, "nonlinearity": "relu"}),
]


def _uniform(rng: np.random.Generator, xp: Any, shape: tuple[int, ...], bound: float, dtype: Any) -> Any:
    return xp.asarray(rng.uniform(-bound, bound, shape).astype(dtype))


def layer_inputs(
    cell: str, xp: Any, dtype: Any, t: int, b: int, i: int, h: int, options: dict[str, Any], seed: int
) -> Case:
    """The forward call of one layer: x, initial state(s), weights and the keyword options."""
    rng = np.random.default_rng(seed)
    proj = options.get("proj", 0) if cell == "lstm" else 0
    out = proj or h
    bound = 1 / np.sqrt(h)
    if options.get("transposed"):  # x a (T, B, I) view of a (B, T, I) array
        x = _uniform(rng, xp, (b, t, i), 1.0, dtype).transpose(1, 0, 2)
    else:
        x = _uniform(rng, xp, (t, b, i), 1.0, dtype)
    gh = GATES[cell] * h
    w_ih, w_hh = _uniform(rng, xp, (gh, i), bound, dtype), _uniform(rng, xp, (gh, out), bound, dtype)
    biases = (None, None)
    if options.get("bias", True):
        biases = (_uniform(rng, xp, (gh,), bound, dtype), _uniform(rng, xp, (gh,), bound, dtype))
    h0 = _uniform(rng, xp, (b, out), 1.0, dtype)
    kwargs: dict[str, Any] = {"reverse": options.get("reverse", False)}
    if "lengths" in options:
        kwargs["lengths"] = np.asarray(options["lengths"], dtype=np.int64)
    if cell == "rnn":
        kwargs["nonlinearity"] = options.get("nonlinearity", "tanh")
        return Case("", (x, h0, w_ih, w_hh, *biases), kwargs)
    if cell == "gru":
        return Case("", (x, h0, w_ih, w_hh, *biases), kwargs)
    c0 = _uniform(rng, xp, (b, h), 1.0, dtype)
    w_hr = _uniform(rng, xp, (proj, h), bound, dtype) if proj else None
    return Case("", (x, h0, c0, w_ih, w_hh, *biases, w_hr), kwargs)


#: the options each cell reads (the others are ignored)
OPTIONS = {
    "rnn": {"reverse", "lengths", "bias", "transposed", "nonlinearity"},
    "gru": {"reverse", "lengths", "bias", "transposed"},
    "lstm": {"reverse", "lengths", "bias", "transposed", "proj"},
}


def _name(cell: str, t: int, b: int, i: int, h: int, options: dict[str, Any]) -> str:
    extra = " ".join(k if v is True else f"{k}={v}" for k, v in options.items() if k in OPTIONS[cell])
    return f"T{t} B{b} I{i} H{h} {extra}".strip()


def backward_call(cell: str, forward: Case, seed: int) -> Case:
    """The backward call matching ``forward``: dL/d(trajectory), the inputs the backward reads, the
    reference forward's results."""
    from . import reference

    run = getattr(reference, f"{cell}_forward")
    result = run(*forward.args, **forward.kwargs)
    traj = result[0] if isinstance(result, tuple) else result
    saved = result[1:] if isinstance(result, tuple) else ()
    grad = backend.xp_of(traj).asarray(np.random.default_rng(seed).standard_normal(traj.shape).astype(traj.dtype))
    if cell == "rnn":
        x, h0, w_ih, w_hh = forward.args[:4]
        args: tuple[Any, ...] = (grad, x, h0, w_ih, w_hh, traj)
    elif cell == "gru":
        x, h0, w_ih, w_hh = forward.args[:4]
        args = (grad, x, h0, w_ih, w_hh, traj, *saved)
    else:
        x, h0, c0, w_ih, w_hh, _, _, w_hr = forward.args
        args = (grad, x, h0, c0, w_ih, w_hh, w_hr, traj, *saved)
    return Case(forward.name, args, forward.kwargs)


def _cases(cell: str) -> Any:
    def cases(xp: Any, dtype: Any) -> list[Case]:
        out = []
        for k, (t, b, i, h, options) in enumerate(LAYERS):
            case = layer_inputs(cell, xp, dtype, t, b, i, h, options, seed=k)
            out.append(Case(_name(cell, t, b, i, h, options), case.args, case.kwargs))
        return out

    return cases


def _backward_cases(cell: str) -> Any:
    def cases(xp: Any, dtype: Any) -> list[Case]:
        return [backward_call(cell, case, 100 + k) for k, case in enumerate(_cases(cell)(xp, dtype))]

    return cases


def parse_size(size: str) -> tuple[int, int, int, int, dict[str, Any]]:
    """ "128x32x512x512:p256" -> (128, 32, 512, 512, {"proj": 256})."""
    dims, _, form = size.partition(":")
    t, b, i, h = (int(d) for d in dims.lower().split("x"))
    options: dict[str, Any] = {}
    if form == "relu":
        options["nonlinearity"] = "relu"
    elif form.startswith("p"):
        options["proj"] = int(form[1:])
    return t, b, i, h, options


def _make(cell: str, backward: bool) -> Any:
    def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
        case = layer_inputs(cell, xp, dtype, *parse_size(size), seed=0)
        case = Case(size, case.args, case.kwargs)
        return backward_call(cell, case, 1) if backward else case

    return make_inputs


def _flops(cell: str, backward: bool) -> Any:
    """The GEMMs: forward 2·T·B·G·H·(I + P) (+ 2·T·B·P·H for proj_size); the backward does each twice
    (dL/dx and dL/dW_ih for the input side, dL/dh_{t−1} and dL/dW_hh for the hidden side)."""

    def count(case: Case) -> int:
        x = case.args[1] if backward else case.args[0]
        t, b, i = x.shape
        gh, p = case.args[3 + (cell == "lstm") + backward].shape  # w_hh
        flops = 2 * t * b * gh * (i + p)
        if cell == "lstm" and case.args[6 if backward else 7] is not None:  # w_hr
            flops += 2 * t * b * p * (gh // 4)
        return 2 * flops if backward else flops

    return count


def _bytes(cell: str, backward: bool) -> Any:
    """x and the weights read, the trajectory (and saved gates) written once; the backward reads them and
    writes dL/dx and the weight gradients."""

    def count(case: Case) -> int:
        arrays = [a for a in case.args if a is not None and hasattr(a, "nbytes")]
        total = sum(a.nbytes for a in arrays)
        return 2 * total if backward else total

    return count


SIZES = {"cpu": ("128x32x512x512", "64x8x256x256"), "cuda": ("128x64x1024x1024",)}
DESCRIPTIONS = {
    "rnn": "h' = tanh|relu(W_ih x + b_ih + W_hh h + b_hh), a layer over time",
    "gru": "GRU layer over time (r, z, n gates)",
    "lstm": "LSTM layer over time (i, f, g, o gates; proj_size)",
}

for _cell, _what in DESCRIPTIONS.items():
    define_op(
        OpSpec(
            f"{_cell}_forward",
            f"{_what}: the state trajectory",
            _cases(_cell),
            _make(_cell, False),
            _flops(_cell, False),
            _bytes(_cell, False),
            SIZES,
        )
    )
    define_op(
        OpSpec(
            f"{_cell}_backward",
            f"{_what}: backward through time",
            _backward_cases(_cell),
            _make(_cell, True),
            _flops(_cell, True),
            _bytes(_cell, True),
            SIZES,
        )
    )
