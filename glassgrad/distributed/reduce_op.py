"""ReduceOp: how ``all_reduce`` and ``reduce_scatter`` combine one value per rank into one.

For ranks r = 0..N-1 holding x_r: SUM = Σ_r x_r, AVG = (1/N) Σ_r x_r, PRODUCT = Π_r x_r,
MIN = min_r x_r, MAX = max_r x_r, elementwise.
"""

from __future__ import annotations

import enum


class ReduceOp(enum.Enum):
    """``torch.distributed.ReduceOp``'s names for the elementwise reductions across ranks."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def check_reduce_op(api: str, op: object) -> ReduceOp:
    """``op`` if it is a ReduceOp, else TypeError naming ``api``."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{api}: op must be a glassgrad.distributed.ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), got {op!r}")
    return op
