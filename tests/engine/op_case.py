"""One entry of the op table: the same function in glassgrad and PyTorch, and the input shapes to run it on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class OpCase:
    name: str
    ours: Callable[..., Any]
    theirs: Callable[..., Any]
    shapes: tuple[tuple[tuple[int, ...], ...], ...]
    positive: bool = False  # inputs drawn from (0.5, 2) instead of a standard normal
    gradcheck: bool = True  # False only for ops whose gradient is not defined at random inputs
    domain: tuple[float, float] | None = None  # inputs drawn uniformly from (low, high), e.g. (-0.9, 0.9) for asin


def draw_inputs(op: OpCase, shapes: tuple[tuple[int, ...], ...], seed: int) -> list[np.ndarray]:
    """Random float64 inputs of ``shapes`` from the op's domain (standard normal unless it says otherwise)."""
    rng = np.random.default_rng(seed)
    if op.domain is not None:
        return [rng.uniform(*op.domain, s) for s in shapes]
    return [rng.uniform(0.5, 2.0, s) if op.positive else rng.standard_normal(s) for s in shapes]
