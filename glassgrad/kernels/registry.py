"""The kernel registry: every variant of every kernel op, by (op, device, name).

A variant is a plain function on NumPy or CuPy arrays (kernels know nothing of
Tensor). It declares what it supports: the dtypes of its first array argument
and, optionally, a predicate ``when(*args, **kwargs)`` on the call itself
("reduce over the last dim", "no class weights"). The engine makes one call,
``run(op, *args, **kwargs)``: the device is the first array's, and the
registry picks the variant (``pick``) in this order, taking the first that
supports the call:

1. the one the user chose with ``use(op, name)`` (also a ``with`` block);
2. the device's default (the fastest variant that passes validation);
3. the other variants, in the order they were registered;
4. the reference, which supports every call its op accepts.

So a fallback lives here, once, and never in an op.

bfloat16 and float16 calls on cpu (bfloat16 on cuda) are computed in float32 here, also once:
``run`` widens the low-precision arrays to float32, runs the variant ``pick`` chooses for float32,
and rounds the float32 results back (writing back the arrays an in-place op updated), which is what
PyTorch's CPU kernels do for bfloat16 and float16 (NumPy and numba have no fast bfloat16 kernels).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy import ndarray  # a global, not np.ndarray: numpy's module __getattr__ keeps Python 3.11 from caching np.X

from ..engine import dtypes as _dtypes
from ..engine.backend import device_of

FLOAT_DTYPES = ("float32", "float64")
# per device, the dtypes (of the first array) that ``run`` computes in float32 and rounds back
COMPUTED_IN_FLOAT32 = {"cpu": frozenset(("bfloat16", "float16")), "cuda": frozenset(("bfloat16",))}
_LOW_NAMES = frozenset().union(*COMPUTED_IN_FLOAT32.values())


@dataclass(frozen=True)
class Variant:
    """One registered implementation of a kernel op."""

    op: str
    device: str
    name: str
    fn: Callable[..., Any] = field(repr=False)
    description: str
    dtypes: tuple[str, ...] = FLOAT_DTYPES
    reference: bool = False
    tolerance: float | None = None  # overrides the op's tolerance (e.g. TF32 tensor cores)
    when: Callable[..., bool] | None = field(default=None, repr=False)
    condition: str = ""  # ``when`` in words, for kernels.list() and error messages

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def supports_dtype(self, dtype: Any) -> bool:
        """Whether ``dtype`` (a NumPy dtype or its name) is one this variant computes in."""
        return (dtype if isinstance(dtype, str) else _dtype_name(dtype)) in self.dtypes

    def supports(self, *args: Any, **kwargs: Any) -> bool:
        """Whether this variant takes the call ``fn(*args, **kwargs)``: the first array's dtype is
        one of ``dtypes`` and ``when`` (if any) holds. A reference supports every call."""
        if self.reference:
            return True
        first = next((a for a in args if hasattr(a, "dtype")), None)
        if first is not None and _dtype_name(first.dtype) not in self.dtypes:
            return False
        return self.accepts(*args, **kwargs)

    def accepts(self, *args: Any, **kwargs: Any) -> bool:
        """Whether ``when`` (the variant's condition beyond dtypes) holds for this call."""
        return self.when is None or bool(self.when(*args, **kwargs))


@dataclass(frozen=True)
class Case:
    """One set of inputs for a kernel op: positional arrays and keyword options."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpSpec:
    """What the lab needs to validate and benchmark every variant of one op.

    * ``cases(xp, dtype)``: the awkward validation cases (odd sizes, tile edges,
      non-contiguous inputs, ...), arrays made with ``xp``;
    * ``make_inputs(size, xp, dtype)``: the benchmark input for a size string
      such as ``"1024"`` or ``"32x64x32x32"``;
    * ``flops(case)`` and ``bytes(case)``: work and minimum memory traffic;
    * ``default_sizes``: per device, the sizes ``bench`` runs when none are given;
    * ``tolerance``: per dtype name, the max relative error a variant may show.
    """

    op: str
    description: str
    cases: Callable[[Any, Any], builtins.list[Case]]
    make_inputs: Callable[[str, Any, Any], Case]
    flops: Callable[[Case], int]
    bytes: Callable[[Case], int]
    default_sizes: dict[str, tuple[str, ...]]
    tolerance: dict[str, float] = field(default_factory=lambda: {"float32": 1e-4, "float64": 1e-10})


@functools.cache
def _dtype_name(dtype: Any) -> str:
    """ "float32" for np.float32 / np.dtype("float32") (cached: numpy's .name is slow)."""
    return str(dtype)


_specs: dict[str, OpSpec] = {}


def define_op(spec: OpSpec) -> OpSpec:
    """Declare a kernel op (once, next to its reference variant)."""
    if spec.op in _specs:
        raise ValueError(f"kernels.define_op: op {spec.op!r} is defined twice")
    _specs[spec.op] = spec
    return spec


def spec(op: str) -> OpSpec:
    if op not in _specs:
        raise KeyError(f"kernels: unknown op {op!r}; known ops: {sorted(_specs)}")
    return _specs[op]


def ops() -> builtins.list[str]:
    """Names of every defined kernel op."""
    return sorted(_specs)


_variants: dict[tuple[str, str], dict[str, Variant]] = {}
_defaults: dict[tuple[str, str], str] = {}
_chosen: dict[tuple[str, str], str] = {}
_order: dict[tuple[str, str], tuple[Variant, ...]] = {}  # pick's search order, rebuilt after any change
# (op, device, dtype) -> the variant a call of that dtype gets when no ``when`` decides: run's shortcut
_by_dtype: dict[tuple[str, str, Any], Variant] = {}


def _forget_order() -> None:
    """After a registration or a change of choice or default: search orders and shortcuts are rebuilt."""
    _order.clear()
    _by_dtype.clear()


def register(
    op: str,
    device: str,
    name: str,
    description: str,
    dtypes: tuple[str, ...] = FLOAT_DTYPES,
    reference: bool = False,
    default: bool = False,
    tolerance: float | None = None,
    when: Callable[..., bool] | None = None,
    condition: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn`` as variant ``name`` of ``op`` on ``device``.

    ``reference=True`` marks the variant every other one is validated against
    (it must take every call the op accepts); ``default=True`` makes it the
    engine's first choice on that device (the reference is the default until
    some variant claims it). ``when(*args, **kwargs)`` narrows the calls the
    variant takes beyond ``dtypes``; ``condition`` says it in words.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = (op, device)
        table = _variants.setdefault(key, {})
        if name in table:
            raise ValueError(f"kernels.register: {op}/{device}/{name} is registered twice")
        if reference and when is not None:
            raise ValueError(f"kernels.register: the reference {op}/{device}/{name} must take every call (no when=)")
        table[name] = Variant(op, device, name, fn, description, tuple(dtypes), reference, tolerance, when, condition)
        if default or (reference and key not in _defaults):
            _defaults[key] = name
        _forget_order()
        return fn

    return decorate


def _table(op: str, device: str) -> dict[str, Variant]:
    table = _variants.get((op, device))
    if not table:
        known = sorted({o for o, _ in _variants})
        raise KeyError(f"kernels: no variants of op {op!r} on device {device!r} (ops: {known})")
    return table


def variant(op: str, device: str, name: str) -> Variant:
    """The variant called ``name``, or KeyError listing the names there are."""
    table = _table(op, device)
    if name not in table:
        raise KeyError(f"kernels: {op!r} on {device!r} has no variant {name!r}; choose from {sorted(table)}")
    return table[name]


def reference(op: str, device: str) -> Variant:
    """The variant the others are checked against."""
    for v in _table(op, device).values():
        if v.reference:
            return v
    raise KeyError(f"kernels: {op!r} on {device!r} has no reference variant")


def order(op: str, device: str) -> tuple[Variant, ...]:
    """The variants ``pick`` tries, first to last: the user's choice, the default, the others in
    registration order, the reference (if it was not among the first two)."""
    key = (op, device)
    found = _order.get(key)
    if found is None:
        table = _table(op, device)
        first = [table[n] for n in dict.fromkeys((_chosen.get(key), _defaults.get(key))) if n in table]
        rest = [v for v in table.values() if v not in first]
        found = _order[key] = (*first, *(v for v in rest if not v.reference), *(v for v in rest if v.reference))
    return found


def pick(op: str, device: str, *args: Any, **kwargs: Any) -> Variant:
    """The variant that runs ``op(*args, **kwargs)`` on ``device``: the first in ``order`` that
    supports the call."""
    first = next((a for a in args if hasattr(a, "dtype")), None)
    return _first_taker(op, device, None if first is None else _dtype_name(first.dtype), args, kwargs)


def _first_taker(
    op: str, device: str, dtype: str | None, args: tuple, kwargs: dict, shortcut: tuple | None = None
) -> Variant:
    """``Variant.supports`` over ``order``, written out: ``run`` calls this for every kernel-backed
    op, forward and backward, so it makes no method call per variant. A variant that the dtype alone
    chose (no ``when`` was consulted) is kept in ``_by_dtype`` under ``shortcut`` (op, device, dtype)."""
    asked = False  # whether a ``when`` was consulted (then the choice depends on the call, not the dtype alone)
    for v in _order.get((op, device)) or order(op, device):
        if v.reference or ((dtype is None or dtype in v.dtypes) and v.when is None):
            if not asked and shortcut is not None:
                _by_dtype[shortcut] = v
            return v
        if (dtype is None or dtype in v.dtypes) and v.when(*args, **kwargs):
            return v
        asked = asked or dtype is None or dtype in v.dtypes
    raise KeyError(f"kernels: no variant of {op!r} on {device!r} takes this call, and it has no reference")


def run(op: str, *args: Any, **kwargs: Any) -> Any:
    """Run ``op`` on its first array argument's device with the variant ``pick`` chooses:
    the one call every kernel-backed Function makes."""
    first = args[0] if args and hasattr(args[0], "dtype") else next((a for a in args if hasattr(a, "dtype")), None)
    if first is None:
        raise TypeError(f"kernels.run({op!r}): needs an array argument to find the device, got {len(args)} others")
    device = "cpu" if type(first) is ndarray else device_of(first)
    taker = _by_dtype.get((op, device, first.dtype))
    if taker is None:
        dtype = _dtype_name(first.dtype)
        if dtype in _LOW_NAMES and dtype in COMPUTED_IN_FLOAT32[device]:
            return _run_in_float32(op, device, first.dtype, args, kwargs)
        taker = _first_taker(op, device, dtype, args, kwargs, shortcut=(op, device, first.dtype))
    return taker.fn(*args, **kwargs)


def _run_in_float32(op: str, device: str, low: Any, args: tuple, kwargs: dict) -> Any:
    """``run`` for a bfloat16/float16 call: every low-precision array (also inside a tuple or list
    argument) widened to float32, the float32 variant run, its float32 results rounded to ``low``.
    A result that is one of the widened inputs was updated in place (optimizer steps): it is written
    back into the caller's array, which is returned instead."""
    widened: dict[int, tuple[Any, Any]] = {}  # id(float32 copy) -> (copy, caller's array)

    def widen(a: Any) -> Any:
        if isinstance(a, tuple | builtins.list):
            return type(a)(widen(x) for x in a)
        if getattr(a, "dtype", None) in _dtypes.LOW_PRECISION and hasattr(a, "astype"):
            wide = a.astype(_dtypes.COMPUTE_DTYPE)
            widened[id(wide)] = (wide, a)
            return wide
        return a

    def narrow(out: Any) -> Any:
        if isinstance(out, tuple | builtins.list):
            return type(out)(narrow(x) for x in out)
        pair = widened.get(id(out))
        if pair is not None and pair[0] is out:
            pair[1][...] = out
            return pair[1]
        if getattr(out, "dtype", None) == _dtypes.COMPUTE_DTYPE and hasattr(out, "astype"):
            with np.errstate(over="ignore"):  # past float16's range is inf, silently, as PyTorch rounds
                return out.astype(low)
        return out

    wide_args = widen(args)
    wide_kwargs = {k: widen(v) for k, v in kwargs.items()}
    taker = _first_taker(op, device, _dtypes.COMPUTE_DTYPE.name, wide_args, wide_kwargs)
    return narrow(taker.fn(*wide_args, **wide_kwargs))


def get(op: str, device: str, dtype: Any = None) -> Variant:
    """The variant ``run`` would pick for a first argument of ``dtype`` (any dtype when None) and
    no other condition: what ``use`` and the defaults select, for tools and tests."""
    for v in order(op, device):
        if v.reference or ((dtype is None or v.supports_dtype(dtype)) and v.when is None):
            return v
    return order(op, device)[0]


def set_default(op: str, device: str, name: str) -> None:
    """Make ``name`` the default of ``op`` on ``device`` (benchmarks decide which)."""
    variant(op, device, name)
    _defaults[(op, device)] = name
    _forget_order()


class use:  # noqa: N801 - reads as a verb: kernels.use("matmul", "tiled")
    """Pick a variant: ``use("matmul", "tiled")`` or ``with use("matmul", "tiled"): ...``.

    ``device`` defaults to every device that has a variant of that name.
    ``name=None`` goes back to the default.
    """

    def __init__(self, op: str, name: str | None, device: str | None = None) -> None:
        devices = [device] if device else [d for (o, d) in _variants if o == op]
        if name is not None:
            devices = [d for d in devices if name in _variants.get((op, d), {})]
            if not devices:
                options = {d: sorted(t) for (o, d), t in _variants.items() if o == op}
                raise KeyError(f"kernels.use: op {op!r} has no variant {name!r}; variants: {options}")
        self._previous = {(op, d): _chosen.get((op, d)) for d in devices}
        for key in self._previous:
            _chosen.pop(key, None)
            if name is not None:
                _chosen[key] = name
        _forget_order()

    def __enter__(self) -> use:
        return self

    def __exit__(self, *exc: object) -> None:
        for key, name in self._previous.items():
            _chosen.pop(key, None)
            if name is not None:
                _chosen[key] = name
        _forget_order()


def list(op: str | None = None, device: str | None = None) -> builtins.list[Variant]:
    """Every registered variant, optionally only of one op and/or device."""
    return [
        v
        for (o, d), table in sorted(_variants.items())
        if (op is None or o == op) and (device is None or d == device)
        for v in table.values()
    ]


def default_name(op: str, device: str) -> str:
    return _defaults[(op, device)]
