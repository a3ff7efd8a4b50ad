"""The cuda defaults a GPU benchmark measured: compute capability -> op -> variant name.

``measured_defaults.json`` ships in the package, next to this file (``{}`` until a GPU run writes
it). Only ``python -m glassgrad bench OP --device cuda --write-defaults`` writes it, and only for a
variant that, in that same run, passed ``kernels.validate`` on the op's cases at the op's own float32
tolerance (so a TF32 variant, looser than FP32, never becomes the float32 default: PyTorch's float32
matmul is full FP32 unless asked otherwise) and was faster than the reference at every size timed.
The registry keeps one default per (op, device), and float32 is the engine's dtype, so only float32
runs write it.

``apply`` runs once, the first time CuPy is initialised (``engine/backend._cupy_or_reason``): it
calls ``kernels.set_default`` for every entry of the current GPU's capability ("sm_90" for an
H100/H200). A CPU-only process never reads the file.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("measured_defaults.json")


def capability(cupy: Any) -> str:
    """ "sm_90" for the current device of ``cupy`` (compute capability 9.0)."""
    return f"sm_{cupy.cuda.Device().compute_capability}"


def load(path: Path = PATH) -> dict[str, dict[str, str]]:
    """The whole table ({} when the file is missing)."""
    if not path.exists():
        return {}
    table = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ValueError(f"{path}: expected {{capability: {{op: variant}}}}, got {table!r}")
    return table


def apply(cap: str, path: Path = PATH) -> dict[str, str]:
    """``kernels.set_default(op, "cuda", name)`` for each entry of capability ``cap``; returns what was set.

    An entry naming a variant this build does not have is skipped with a warning.
    """
    from .. import registry

    applied = {}
    for op, name in load(path).get(cap, {}).items():
        try:
            registry.set_default(op, "cuda", name)
        except KeyError as err:
            warnings.warn(f"measured_defaults: {cap} {op} -> {name} skipped ({err})", RuntimeWarning, stacklevel=2)
            continue
        applied[op] = name
    return applied


def apply_for(cupy: Any, path: Path = PATH) -> dict[str, str]:
    """``apply`` for CuPy's current GPU; never raises (a broken table must not stop CUDA from starting)."""
    try:
        return apply(capability(cupy), path)
    except Exception as err:  # a bad file, an odd device: warn and keep the registered defaults
        warnings.warn(f"measured_defaults: not applied ({type(err).__name__}: {err})", RuntimeWarning, stacklevel=2)
        return {}


def choose(rows: Iterable[Any], validated: Callable[[str, str], bool]) -> dict[str, str]:
    """Per op, the variant to make default from one run's benchmark rows (``harness.BenchRow``).

    A candidate is a non-reference float32 variant that ran at every size the reference ran, was
    faster than it at each (``vs_reference > 1``) and for which ``validated(op, name)`` holds; the
    winner has the largest geometric-mean speed-up. Ops with no candidate are left out.
    """
    rows = list(rows)
    out = {}
    for op in sorted({r.op for r in rows}):
        sizes = {r.size for r in rows if r.op == op and r.variant == _reference_name(rows, op)}
        best, best_speedup = None, 1.0
        for name in sorted({r.variant for r in rows if r.op == op}):
            mine = [r for r in rows if r.op == op and r.variant == name and r.dtype == "float32"]
            if name == _reference_name(rows, op) or not mine or {r.size for r in mine} != sizes:
                continue
            if not all(r.vs_reference > 1 for r in mine):
                continue
            speedup = math.exp(sum(math.log(r.vs_reference) for r in mine) / len(mine))
            if speedup > best_speedup and validated(op, name):
                best, best_speedup = name, speedup
        if best is not None:
            out[op] = best
    return out


def _reference_name(rows: list[Any], op: str) -> str:
    """The reference variant of ``op`` on cuda (the harness times it first, at ``vs_reference`` 1)."""
    from .. import registry

    return registry.reference(op, "cuda").name


def validated_at_op_tolerance(op: str, name: str) -> bool:
    """``kernels.validate`` on cuda in float32, at the op's float32 tolerance (not a looser variant's own)."""
    from .. import registry
    from ..validation import validate

    v, spec = registry.variant(op, "cuda", name), registry.spec(op)
    if v.tolerance is not None and v.tolerance > spec.tolerance.get("float32", 1e-4):
        return False
    return validate(op, name, "cuda", dtypes=("float32",)).passed


def write(cap: str, choices: dict[str, str], path: Path = PATH) -> dict[str, dict[str, str]]:
    """Merge ``choices`` into capability ``cap``'s entries (other capabilities kept) and write the file."""
    table = load(path)
    table.setdefault(cap, {}).update(choices)
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return table
