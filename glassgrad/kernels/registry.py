"""The kernel registry: every variant of every kernel op, by (op, device, name).

A variant is a plain function on NumPy or CuPy arrays (kernels know nothing of
Tensor). The engine asks ``get(op, device)`` for the variant to run: the one
the user picked with ``use(op, name)``, else the device's default (the fastest
variant that passes validation). ``use`` also works as a ``with`` block that
restores the previous choice on exit.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FLOAT_DTYPES = ("float32", "float64")


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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def supports(self, dtype: Any) -> bool:
        return (dtype if isinstance(dtype, str) else _dtype_name(dtype)) in self.dtypes


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


def register(
    op: str,
    device: str,
    name: str,
    description: str,
    dtypes: tuple[str, ...] = FLOAT_DTYPES,
    reference: bool = False,
    default: bool = False,
    tolerance: float | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn`` as variant ``name`` of ``op`` on ``device``.

    ``reference=True`` marks the variant every other one is validated against;
    ``default=True`` makes it the engine's choice on that device (the reference
    is the default until some variant claims it).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = (op, device)
        table = _variants.setdefault(key, {})
        if name in table:
            raise ValueError(f"kernels.register: {op}/{device}/{name} is registered twice")
        table[name] = Variant(op, device, name, fn, description, tuple(dtypes), reference, tolerance)
        if default or (reference and key not in _defaults):
            _defaults[key] = name
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


def get(op: str, device: str, dtype: Any = None) -> Variant:
    """The variant the engine runs now: the user's choice, else the default.

    If that variant does not support ``dtype`` the reference runs instead.
    """
    key = (op, device)
    table = _variants.get(key)
    name = _chosen.get(key) or _defaults.get(key)
    chosen = table[name] if table and name in table else variant(op, device, name or "")
    if dtype is not None and not chosen.supports(dtype):
        return reference(op, device)
    return chosen


def set_default(op: str, device: str, name: str) -> None:
    """Make ``name`` the default of ``op`` on ``device`` (benchmarks decide which)."""
    variant(op, device, name)
    _defaults[(op, device)] = name


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

    def __enter__(self) -> use:
        return self

    def __exit__(self, *exc: object) -> None:
        for key, name in self._previous.items():
            _chosen.pop(key, None)
            if name is not None:
                _chosen[key] = name


def list(op: str | None = None, device: str | None = None) -> builtins.list[Variant]:  # noqa: A001
    """Every registered variant, optionally only of one op and/or device."""
    return [
        v
        for (o, d), table in sorted(_variants.items())
        if (op is None or o == op) and (device is None or d == device)
        for v in table.values()
    ]


def default_name(op: str, device: str) -> str:
    return _defaults[(op, device)]
