"""Launch shapes for the row kernels, and access to the compiled fused kernels.

A row of ``cols`` floats is owned by ``threads`` threads, each holding up to
ITEMS (8, as in rows.cuh) values of it in registers:

* ``cols <= 256``: one warp per row, 4 rows per 128-thread block — reductions
  are warp shuffles only;
* longer rows: one block per row, the fewest threads (64 … 1024, powers of two)
  with ``threads · 8 >= cols``; rows past 8192 loop over the remainder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..cuda.compile import ceil_div, kernel

SOURCES = Path(__file__).parent
ITEMS = 8  # must match rows.cuh
WARP_ROWS_PER_BLOCK = 4


def row_launch(rows: int, cols: int) -> tuple[tuple[int], tuple[int, int]]:
    """(grid, block) for a row kernel over a (rows, cols) array."""
    threads = 32
    while threads < 1024 and threads * ITEMS < cols:
        threads *= 2
    if threads == 32:
        return (ceil_div(rows, WARP_ROWS_PER_BLOCK),), (32, WARP_ROWS_PER_BLOCK)
    return (rows,), (threads, 1)


def fused_kernel(file: str, name: str) -> Any:
    """The kernel ``name`` from ``file`` (a .cu in this folder), compiled once by NVRTC."""
    return kernel(SOURCES / file, name)


def as_rows(x: Any) -> Any:
    """A C-contiguous float32 (rows, cols) view (a copy only when x is not contiguous)."""
    import cupy

    if x.dtype != cupy.float32:
        raise TypeError(f"fused kernels: expected float32, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError("fused kernels: expected at least 1 dim (the row)")
    return cupy.ascontiguousarray(x).reshape(math.prod(x.shape[:-1]), x.shape[-1])
