"""What the numba row kernels share: the (rows, cols) view of an array and blocks of rows.

A kernel runs ``prange`` over blocks of whole rows, each block about BLOCK_VALUES values (small
enough to stay in L2 while the block is read a second time), so every row is read from memory once
and written once. Column sums (dγ, dβ of the norms) are summed per block of rows into float64
partial rows, then the partials are added.
"""

from __future__ import annotations

import math

import numpy as np

BLOCK_VALUES = 16384


def as_rows(x: np.ndarray) -> np.ndarray:
    """x as (rows, cols) over its last dim: itself when 2-D (any strides), else a reshape (a copy
    only when the rows are not evenly strided)."""
    return x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])


def rows_per_block(cols: int) -> int:
    """How many rows of ``cols`` values make one block of about BLOCK_VALUES values (at least 1)."""
    return max(1, BLOCK_VALUES // max(cols, 1))


def blocks(rows: int, cols: int) -> int:
    """The number of blocks of ``rows_per_block(cols)`` rows that cover ``rows`` rows."""
    return -(-rows // rows_per_block(cols))
