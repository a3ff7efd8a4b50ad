"""Dropout with a counter-based mask: the kernel ops ``dropout`` and ``dropout_backward``.

    dropout(x, p, seed, offset)            z = 0 where u < p, else x/(1 − p)
    dropout_backward(g, p, seed, offset)   dL/dx = 0 where u < p, else g/(1 − p)

with u ∈ [0, 1) element i's Philox4x32-10 draw of (seed, offset, i) (philox.py). The
mask is a function of those three numbers, so the backward recomputes it instead of
keeping it, a replayed CUDA graph can take a new mask by rewriting (seed, offset) in
device memory, and the cpu and cuda variants draw the same mask. p = 1 drops everything
(scale 0). Both ops come from formulas.DROPOUT / DROPOUT_BACKWARD: the reference (cpu and
cuda) is the generated NumPy function, run with the input's array module; "generated" on
cuda is the CuPy ElementwiseKernel (not yet run on a GPU).

The engine's Dropout (engine/ops/dropout.py) still draws its mask from the device's
generator; these ops are here for it to switch to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Case, OpSpec, define_op, register
from ..spec_helpers import flops_per_element, normal
from .formulas import DROPOUT, DROPOUT_BACKWARD
from .register import DTYPES, cupy_formula_kernel, numpy_formula

UINT64 = 1 << 64


def dropout_scale(op: str, p: float, seed: int, offset: int) -> float:
    """1/(1 − p) (0 for p = 1), after checking p ∈ [0, 1] and seed, offset ∈ [0, 2⁶⁴)."""
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")
    for name, value in (("seed", seed), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < UINT64:
            raise ValueError(f"{op}: {name} must be an integer in [0, 2**64), got {value!r}")
    return 0.0 if p == 1 else 1.0 / (1.0 - p)


@register("dropout", "cpu", "numpy", "formulas.DROPOUT as generated NumPy (Philox mask)", reference=True)
@register("dropout", "cuda", "cupy", "formulas.DROPOUT as generated NumPy code on CuPy arrays", reference=True)
def dropout(x: Any, p: float, seed: int, offset: int) -> Any:
    """z = 0 where u < p, else x/(1 − p)."""
    scale = dropout_scale("dropout", p, seed, offset)
    return numpy_formula(DROPOUT)(x, p, scale, int(seed), int(offset))


@register("dropout_backward", "cpu", "numpy", "formulas.DROPOUT_BACKWARD as generated NumPy", reference=True)
@register("dropout_backward", "cuda", "cupy", "formulas.DROPOUT_BACKWARD as generated NumPy on CuPy", reference=True)
def dropout_backward(grad: Any, p: float, seed: int, offset: int) -> Any:
    """dL/dx = 0 where u < p, else g/(1 − p) (the forward's mask, drawn again)."""
    scale = dropout_scale("dropout_backward", p, seed, offset)
    return numpy_formula(DROPOUT_BACKWARD)(grad, p, scale, int(seed), int(offset))


@register("dropout", "cuda", "generated", "a CuPy ElementwiseKernel from formulas.DROPOUT (not yet run on a GPU)",
          dtypes=DTYPES)  # fmt: skip
def dropout_cuda(x: Any, p: float, seed: int, offset: int) -> Any:
    scale = dropout_scale("dropout", p, seed, offset)
    return cupy_formula_kernel(DROPOUT)(x, p, scale, np.uint64(seed), np.uint64(offset))


@register("dropout_backward", "cuda", "generated",
          "a CuPy ElementwiseKernel from formulas.DROPOUT_BACKWARD (not yet run on a GPU)", dtypes=DTYPES)  # fmt: skip
def dropout_backward_cuda(grad: Any, p: float, seed: int, offset: int) -> Any:
    scale = dropout_scale("dropout_backward", p, seed, offset)
    return cupy_formula_kernel(DROPOUT_BACKWARD)(grad, p, scale, np.uint64(seed), np.uint64(offset))


SHAPES = [(1,), (7,), (33, 33), (5, 1000), (2, 5, 33), (4097,)]
PROBABILITIES = (0.0, 0.1, 0.5, 1.0)


def _cases(xp: Any, dtype: Any) -> list[Case]:
    out = []
    for i, shape in enumerate(SHAPES):
        for j, p in enumerate(PROBABILITIES):
            seed, offset = 1000 * i + j, (1 << 40) + 7 * i  # an offset past 2³²: both counter words matter
            out.append(Case(f"{'x'.join(map(str, shape))} p={p}", (normal(xp, shape, dtype, i), p, seed, offset)))
    out.append(Case("transposed view (40x9).T p=0.3", (normal(xp, (40, 9), dtype, 9).T, 0.3, 5, 6)))
    return out


def _inputs(size: str, xp: Any, dtype: Any) -> Case:
    """ "ROWSxCOLS" at p = 0.1."""
    shape = tuple(int(n) for n in size.split("x"))
    return Case(size, (normal(xp, shape, dtype, 0), 0.1, 0, 0))


for _op in ("dropout", "dropout_backward"):
    define_op(
        OpSpec(
            op=_op,
            description="dropout with a Philox mask of (seed, offset, index)" + (", backward" if "back" in _op else ""),
            cases=_cases,
            make_inputs=_inputs,
            flops=flops_per_element(30),  # ten Philox rounds: two 32-bit multiplies and xors each
            bytes=lambda case: 2 * case.args[0].nbytes,
            default_sizes={"cpu": ("1024x1024",), "cuda": ("8192x8192",)},
        )
    )
