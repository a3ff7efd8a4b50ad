"""The optimizer updates' validation cases, benchmark inputs and minimum memory traffic.

An update writes into its arguments, and ``validate`` and ``benchmark`` call the
reference and then each variant on the same Case. So a validation case's
arguments are a ``FreshArgs``: each unpacking (``fn(*case.args)``) hands out
copies of the starting arrays, with the same layout, and every variant starts
from the same state. A benchmark input instead holds plain arrays (copies would
be timed too) in the optimizer's steady state for a constant gradient (m = g,
v = g², b = g/(1 − μ), late steps, a small η), so the repeated in-place calls of
the timing loop stay within rounding of the reference's single call and the
harness's error column still means something.

Sizes are a number of elements ("1048576"). These kernels are memory-bound:
``bytes`` counts every array read once and every state array and the parameter
written once (Adam: read p, g, m, v; write p, m, v); ``flops`` is a rough count
per element (a square root or a division counted as one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...engine import backend
from ..registry import Case, OpSpec, define_op

#: (shape, name): one element, sizes off every vector width, a 2-D parameter.
SHAPES = [((), "scalar ()"), ((1,), "1"), ((7,), "7"), ((1000,), "1000"), ((4097,), "4097"), ((33, 31), "33x31")]
VIEW = (40, 9)  # the non-contiguous parameter: every other column of a (40, 18) array


class FreshArgs(tuple):
    """A case's arguments that give out copies of their arrays (same shape, dtype and layout)
    each time they are iterated, so ``fn(*args)`` never changes the case itself."""

    def __iter__(self) -> Iterator[Any]:
        return (_copy(a) for a in tuple.__iter__(self))


def _copy(a: Any) -> Any:
    """A copy of array ``a`` (anything else as it is); a non-contiguous ``a`` gives a non-contiguous copy."""
    if not hasattr(a, "dtype"):
        return a
    if a.flags.c_contiguous:
        return a.copy()
    out = backend.xp_of(a).empty((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)[..., ::2]
    out[...] = a
    return out


def _rand(xp: Any, shape: tuple[int, ...], dtype: Any, seed: int, scale: float = 1.0, positive: bool = False) -> Any:
    values = scale * np.random.default_rng(seed).standard_normal(shape)
    return xp.asarray((np.abs(values) if positive else values).astype(dtype))


def _param(xp: Any, shape: tuple[int, ...] | None, dtype: Any, seed: int) -> Any:
    """A parameter of ``shape``, or (None) the non-contiguous view of VIEW's shape."""
    if shape is not None:
        return _rand(xp, shape, dtype, seed)
    rows, cols = VIEW
    return _rand(xp, (rows, 2 * cols), dtype, seed)[:, ::2]


def _cases(
    options: list[tuple[str, dict[str, Any]]], state: Callable[[Any, Any, Any, dict[str, Any], int], tuple[Any, ...]]
) -> Callable[[Any, Any], list[Case]]:
    """Every option set on every shape and the non-contiguous view: (param, grad, *state) from ``state``."""

    def cases(xp: Any, dtype: Any) -> list[Case]:
        out = []
        for i, (what, given) in enumerate(options):
            for j, (shape, name) in enumerate([*SHAPES, (None, "non-contiguous param view (40x18)[:, ::2]")]):
                seed, kwargs = 100 * i + 10 * j, dict(given)  # the state may take out its own options
                p = _param(xp, shape, dtype, seed)
                g = _rand(xp, p.shape, dtype, seed + 1)
                out.append(Case(f"{name}, {what}", FreshArgs((p, g, *state(xp, p, dtype, kwargs, seed))), kwargs))
        return out

    return cases


def _maybe(present: bool, array: Callable[[], Any]) -> Any:
    return array() if present else None


# ----------------------------------------------------------------------- SGD
SGD_OPTIONS = [
    ("plain", dict(lr=0.1)),
    ("momentum, first step", dict(lr=0.1, momentum=0.9, first_step=True)),
    ("momentum, dampening, weight decay", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("nesterov, weight decay", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("momentum, maximize", dict(lr=0.05, momentum=0.5, maximize=True)),
]


def _sgd_state(xp: Any, p: Any, dtype: Any, kwargs: dict[str, Any], seed: int) -> tuple[Any, ...]:
    return (_maybe(kwargs.get("momentum", 0) != 0, lambda: _rand(xp, p.shape, dtype, seed + 2)),)


def _sgd_bench(size: str, xp: Any, dtype: Any) -> Case:
    """Momentum 0.9 with weight decay: b = g/(1 − μ) is the buffer's steady state."""
    g = _rand(xp, (int(size),), dtype, 1)
    return Case(size, (_rand(xp, g.shape, dtype, 0), g, g * 10), dict(lr=1e-6, momentum=0.9, weight_decay=1e-4))


# ---------------------------------------------------------------------- Adam
ADAM_OPTIONS = [
    ("first step", dict(step=1, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)),
    ("weight decay, step 3", dict(step=3, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1)),
    ("AdamW, step 10", dict(step=10, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.3, decoupled=True)),
    ("amsgrad, maximize", dict(step=5, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=True, maximize=True)),
    ("beta1 0.3 (lerp's other form)", dict(step=2, lr=0.01, beta1=0.3, beta2=0.9, eps=1e-8, weight_decay=0.05)),
]


def _adam_state(xp: Any, p: Any, dtype: Any, kwargs: dict[str, Any], seed: int) -> tuple[Any, ...]:
    v = _rand(xp, p.shape, dtype, seed + 3, 0.1, positive=True)
    vmax = _maybe(
        kwargs.pop("amsgrad", False), lambda: xp.asarray(v + _rand(xp, p.shape, dtype, seed + 4, 0.05, positive=True))
    )
    return _rand(xp, p.shape, dtype, seed + 2, 0.1), v, vmax


def _adam_bench(size: str, xp: Any, dtype: Any) -> Case:
    """AdamW at step 1000 with m = g, v = g² (the moments' steady state for a constant gradient)."""
    g = _rand(xp, (int(size),), dtype, 1)
    kwargs = dict(step=1000, lr=1e-6, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, decoupled=True)
    return Case(size, (_rand(xp, g.shape, dtype, 0), g, g.copy(), g * g, None), kwargs)


# ------------------------------------------------------------------- RMSprop
RMSPROP_OPTIONS = [
    ("plain", dict(lr=0.01, alpha=0.99, eps=1e-8)),
    ("momentum, weight decay", dict(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=0.1)),
    ("centered, momentum", dict(lr=0.01, alpha=0.99, eps=1e-8, momentum=0.3, centered=True)),
    ("centered, alpha 0.3, maximize", dict(lr=0.01, alpha=0.3, eps=1e-8, centered=True, maximize=True)),
]


def _rmsprop_state(xp: Any, p: Any, dtype: Any, kwargs: dict[str, Any], seed: int) -> tuple[Any, ...]:
    # ḡ² ≤ s keeps centered RMSprop's square root real: ḡ = ±√s·u with |u| < 1
    s = xp.asarray(_rand(xp, p.shape, dtype, seed + 2, 1.0, positive=True) + 0.1)
    centered = kwargs.pop("centered", False)
    gavg = _maybe(centered, lambda: xp.asarray(xp.sqrt(s) * xp.tanh(_rand(xp, p.shape, dtype, seed + 3))))
    buf = _maybe(kwargs.get("momentum", 0) > 0, lambda: _rand(xp, p.shape, dtype, seed + 4))
    return s, gavg, buf


def _rmsprop_bench(size: str, xp: Any, dtype: Any) -> Case:
    """s = g², the square average's steady state for a constant gradient."""
    g = _rand(xp, (int(size),), dtype, 1)
    return Case(size, (_rand(xp, g.shape, dtype, 0), g, g * g, None, None), dict(lr=1e-6, alpha=0.99, eps=1e-8))


# ------------------------------------------------------------------- Adagrad
ADAGRAD_OPTIONS = [
    ("first step", dict(step=1, lr=0.1)),
    ("lr decay, weight decay, step 4", dict(step=4, lr=0.1, lr_decay=0.01, weight_decay=0.1, eps=1e-8)),
    ("maximize", dict(step=2, lr=0.1, maximize=True)),
]


def _adagrad_state(xp: Any, p: Any, dtype: Any, kwargs: dict[str, Any], seed: int) -> tuple[Any, ...]:
    return (_rand(xp, p.shape, dtype, seed + 2, 1.0, positive=True),)


def _adagrad_bench(size: str, xp: Any, dtype: Any) -> Case:
    """A million steps' sum S = 10⁶·g², which one more step barely moves."""
    g = _rand(xp, (int(size),), dtype, 1)
    return Case(size, (_rand(xp, g.shape, dtype, 0), g, 1e6 * g * g), dict(step=10**6, lr=1e-6))


# ----------------------------------------------------------------- the specs
def _traffic(case: Case) -> int:
    """Every array read once; all but the gradient (args[1]) written once."""
    arrays = [case.args[i] for i in range(len(case.args)) if case.args[i] is not None]
    return sum(a.nbytes for a in arrays) * 2 - case.args[1].nbytes


def _flops(per_element: int) -> Callable[[Case], int]:
    def count(case: Case) -> int:
        return per_element * case.args[0].size

    return count


SIZES = {"cpu": ("4096", "262144", "4194304"), "cuda": ("1048576", "16777216", "67108864")}

for _op, _what, _options, _state, _bench, _flop in [
    ("sgd_update", "SGD step on one parameter, in place", SGD_OPTIONS, _sgd_state, _sgd_bench, 6),
    ("adam_update", "Adam/AdamW step on one parameter, in place", ADAM_OPTIONS, _adam_state, _adam_bench, 14),
    ("rmsprop_update", "RMSprop step on one parameter, in place", RMSPROP_OPTIONS, _rmsprop_state, _rmsprop_bench, 10),
    ("adagrad_update", "Adagrad step on one parameter, in place", ADAGRAD_OPTIONS, _adagrad_state, _adagrad_bench, 7),
]:
    define_op(
        OpSpec(
            op=_op,
            description=_what,
            cases=_cases(_options, _state),
            make_inputs=_bench,
            flops=_flops(_flop),
            bytes=_traffic,
            default_sizes=SIZES,
        )
    )
