"""Launch shapes for the row kernels, and access to the compiled fused kernels.

A row of ``cols`` floats is owned by ``threads`` threads, each holding up to
ITEMS values of it in registers (rows.cuh):

* ``cols <= 32 · ITEMS``: one warp per row, WARP_ROWS_PER_BLOCK rows per
  block — reductions are warp shuffles only;
* longer rows: one block per row, the fewest threads (64 … 1024, powers of two)
  with ``threads · ITEMS >= cols``; rows past ITEMS · 1024 loop over the remainder.

The constants that a .cu file and its launcher share are written here once and
passed to the compiler as ``-D`` defines (``DEFINES``); the .cu files refuse to
compile without them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..cuda.compile import ceil_div, kernel

SOURCES = Path(__file__).parent
ITEMS = 8  # values of a row each thread keeps in registers
WARP_ROWS_PER_BLOCK = 4  # rows of a short-row block (blockDim.y); the kernels read it from blockDim
PARAM_COLS, PARAM_ROWS = 32, 8  # the block of layer_norm_backward_params (dγ, dβ column sums)

#: -D defines per .cu file: the .cu files get these values from here only.
DEFINES: dict[str, dict[str, int]] = {
    "softmax.cu": {"ITEMS": ITEMS},
    "cross_entropy.cu": {"ITEMS": ITEMS},
    "layer_norm.cu": {"ITEMS": ITEMS, "PARAM_COLS": PARAM_COLS, "PARAM_ROWS": PARAM_ROWS},
}


def row_launch(rows: int, cols: int) -> tuple[tuple[int], tuple[int, int]]:
    """(grid, block) for a row kernel over a (rows, cols) array."""
    threads = 32
    while threads < 1024 and threads * ITEMS < cols:
        threads *= 2
    if threads == 32:
        return (ceil_div(rows, WARP_ROWS_PER_BLOCK),), (32, WARP_ROWS_PER_BLOCK)
    return (rows,), (threads, 1)


def fused_kernel(file: str, name: str) -> Any:
    """The kernel ``name`` from ``file`` (a .cu in this folder), compiled once by NVRTC with its DEFINES."""
    return kernel(SOURCES / file, name, defines=DEFINES[file])


def as_rows(x: Any) -> Any:
    """A C-contiguous float32 (rows, cols) view (a copy only when x is not contiguous)."""
    import cupy

    if x.dtype != cupy.float32:
        raise TypeError(f"fused kernels: expected float32, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError("fused kernels: expected at least 1 dim (the row)")
    return cupy.ascontiguousarray(x).reshape(math.prod(x.shape[:-1]), x.shape[-1])
