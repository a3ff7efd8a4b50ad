"""validate(op, variant): run a variant against the op's reference on the awkward cases.

The cases come from the op's spec (sizes off every tile, non-square, batched,
transposed and sliced inputs). Each output (a variant may return several
arrays) is compared by its max absolute error and its error relative to the
reference's largest magnitude, against the spec's tolerance for the dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import backend
from .registry import reference, spec, variant


@dataclass
class CaseResult:
    case: str
    dtype: str
    max_abs_error: float = float("nan")
    max_rel_error: float = float("nan")
    passed: bool = False
    skipped: str = ""


@dataclass
class ValidationReport:
    op: str
    variant: str
    device: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every case that ran passed, and at least one ran."""
        ran = [r for r in self.results if not r.skipped]
        return bool(ran) and all(r.passed for r in ran)

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.skipped and not r.passed]

    def __str__(self) -> str:
        lines = [f"{self.op}/{self.device}/{self.variant}: {'PASS' if self.passed else 'FAIL'}"]
        for r in self.results:
            status = f"skipped ({r.skipped})" if r.skipped else ("ok" if r.passed else "FAIL")
            lines.append(f"  {r.dtype:8s} {r.case:40s} abs {r.max_abs_error:9.2e} rel {r.max_rel_error:9.2e}  {status}")
        return "\n".join(lines)


def as_outputs(result: Any) -> tuple[Any, ...]:
    """A variant's result as a tuple of arrays."""
    return tuple(result) if isinstance(result, tuple | list) else (result,)


def compare(got: Any, want: Any) -> tuple[float, float]:
    """(max |got - want|, that divided by max(|want|)) over all outputs, on the host in float64."""
    worst_abs = worst_rel = 0.0
    for g, w in zip(as_outputs(got), as_outputs(want), strict=True):
        if g is None or w is None:  # an output the op does not compute (no weight: no dL/dweight)
            if (g is None) != (w is None):
                return float("inf"), float("inf")
            continue
        g = np.asarray(backend.to_device(g, "cpu"), dtype=np.float64)
        w = np.asarray(backend.to_device(w, "cpu"), dtype=np.float64)
        if g.shape != w.shape:
            return float("inf"), float("inf")
        if g.size == 0:
            continue
        err = float(np.max(np.abs(g - w))) if np.isfinite(g).all() else float("inf")
        worst_abs = max(worst_abs, err)
        worst_rel = max(worst_rel, err / max(float(np.max(np.abs(w))), 1e-30))
    return worst_abs, worst_rel


def validate(
    op: str, name: str, device: str = "cpu", dtypes: tuple[str, ...] = ("float32", "float64")
) -> ValidationReport:
    """Check variant ``name`` of ``op`` on ``device`` against the reference, case by case."""
    op_spec = spec(op)
    candidate, ref = variant(op, device, name), reference(op, device)
    xp = backend.array_module(device)
    report = ValidationReport(op, name, device)
    for dtype in dtypes:
        if not candidate.supports_dtype(dtype):
            report.results.append(CaseResult("all", dtype, skipped=f"{name} does not support {dtype}"))
            continue
        tolerance = candidate.tolerance or op_spec.tolerance.get(dtype, 1e-4)
        cases = op_spec.cases(xp, dtype if dtype == "bfloat16" else np.dtype(dtype))
        # A storage type the reference lacks (bf16 bits) is checked against the reference run
        # on the float32 cases drawn from the same seeds: the error then includes bf16 rounding.
        ref_cases = cases if ref.supports_dtype(dtype) else op_spec.cases(xp, np.dtype("float32"))
        for case, ref_case in zip(cases, ref_cases, strict=True):
            if not candidate.accepts(*case.args, **case.kwargs):
                report.results.append(CaseResult(case.name, dtype, skipped=f"{name} takes only {candidate.condition}"))
                continue
            want = ref(*ref_case.args, **ref_case.kwargs)
            got = candidate(*case.args, **case.kwargs)
            abs_err, rel_err = compare(got, want)
            report.results.append(CaseResult(case.name, dtype, abs_err, rel_err, rel_err <= tolerance))
    return report
