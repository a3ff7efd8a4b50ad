"""What the OpSpecs of the row ops and the elementwise ops share: seeded inputs and work counts
over a (rows, cols) array (the op works on the last dim)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .registry import Case


def normal(xp: Any, shape: tuple[int, ...], dtype: Any, seed: int, scale: float = 3.0) -> Any:
    """``scale`` · N(0, 1) samples of ``shape`` from ``seed``, as an array of ``xp``."""
    return xp.asarray((scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype))


def rows_and_cols(case: Case) -> tuple[int, int]:
    """(rows, cols) of the case's main array: its first argument that is not None."""
    a = next(a for a in case.args if a is not None)
    return a.size // max(a.shape[-1], 1), a.shape[-1]


def flops_per_element(per_element: int) -> Callable[[Case], int]:
    """flops(case) for an op that does ``per_element`` operations per element of its main array."""

    def count(case: Case) -> int:
        rows, cols = rows_and_cols(case)
        return per_element * rows * cols

    return count
