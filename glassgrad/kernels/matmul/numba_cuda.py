"""numba.cuda teaching versions of ladder steps 1 and 3: naive and shared-memory tiled matmul.

The same two ideas as ``cuda/naive.cu`` and ``cuda/smem_tiled.cu``, written in
Python with ``numba.cuda``: a kernel is a Python function run by every thread
of a grid; ``cuda.blockIdx``/``cuda.threadIdx`` say which thread this is,
``cuda.shared.array`` is the block's shared memory and ``cuda.syncthreads()``
its barrier. They take CuPy arrays (any strides, 2-D or batched 3-D) through
the CUDA array interface, and run in numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) on NumPy arrays, which is how CI tests them.

The kernels are compiled on first use; importing this module needs no GPU.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ...engine import backend
from ..numba_cuda_support import numba_cuda
from ..registry import register

TILE = 16  # the shared-memory tile is TILE x TILE, one thread per element


@functools.cache
def _kernels() -> tuple[Any, Any]:
    """(naive, tiled) kernels, each C[z] = A[z] @ B[z] over 3-D operands.

    An operand with batch size 1 is shared by every z (a 2-D operand seen as (1, M, K)).
    """
    # module globals, not closure cells: the CUDA simulator swaps the kernel's global ``cuda`` for its fake
    global cuda, float32
    from numba import float32

    cuda = numba_cuda()

    @cuda.jit
    def naive(a, b, c):  # pragma: no cover - runs on the GPU or in the simulator subprocess
        # one thread per output C[z, row, col]; x runs along the columns, so a
        # warp reads consecutive B elements (coalesced) and broadcasts A's
        col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        row = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
        z = cuda.blockIdx.z
        za = z if a.shape[0] > 1 else 0
        zb = z if b.shape[0] > 1 else 0
        if row < c.shape[1] and col < c.shape[2]:
            acc = np.float32(0.0)
            for k in range(a.shape[2]):
                acc += a[za, row, k] * b[zb, k, col]
            c[z, row, col] = acc

    @cuda.jit
    def tiled(a, b, c):  # pragma: no cover - runs on the GPU or in the simulator subprocess
        # the block stages one TILE x TILE tile of A and of B in shared memory per
        # step along k, so each global element is loaded once per tile, not once per output
        a_tile = cuda.shared.array((TILE, TILE), float32)
        b_tile = cuda.shared.array((TILE, TILE), float32)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        col = cuda.blockIdx.x * TILE + tx
        row = cuda.blockIdx.y * TILE + ty
        z = cuda.blockIdx.z
        za = z if a.shape[0] > 1 else 0
        zb = z if b.shape[0] > 1 else 0
        m, n, k_total = c.shape[1], c.shape[2], a.shape[2]
        acc = np.float32(0.0)
        for k0 in range(0, k_total, TILE):
            # every thread loads one element of each tile (zero past the edges) ...
            a_tile[ty, tx] = a[za, row, k0 + tx] if row < m and k0 + tx < k_total else np.float32(0.0)
            b_tile[ty, tx] = b[zb, k0 + ty, col] if k0 + ty < k_total and col < n else np.float32(0.0)
            cuda.syncthreads()  # ... the tiles are complete before anyone reads them
            for k in range(TILE):
                acc += a_tile[ty, k] * b_tile[k, tx]
            cuda.syncthreads()  # everyone is done reading before the next load overwrites
        if row < m and col < n:
            c[z, row, col] = acc

    return naive, tiled


def _launch(which: int, a: Any, b: Any) -> Any:
    xp = backend.xp_of(a)
    if a.dtype != "float32" or b.dtype != "float32":
        raise TypeError(f"matmul(cuda, numba): expects float32 operands, got {a.dtype} and {b.dtype}")
    if a.ndim not in (2, 3) or b.ndim not in (2, 3) or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul(cuda, numba): shapes {a.shape} and {b.shape} cannot be multiplied")
    a3 = a if a.ndim == 3 else a[None]
    b3 = b if b.ndim == 3 else b[None]
    batch = max(a3.shape[0], b3.shape[0])
    if a3.shape[0] not in (1, batch) or b3.shape[0] not in (1, batch):
        raise ValueError(f"matmul(cuda, numba): batch sizes of {a.shape} and {b.shape} differ")
    m, n = a3.shape[1], b3.shape[2]
    c = xp.zeros((batch, m, n), dtype=xp.float32)
    if c.size and a3.shape[2]:
        grid = ((n + TILE - 1) // TILE, (m + TILE - 1) // TILE, batch)
        _kernels()[which][grid, (TILE, TILE)](a3, b3, c)
    return c if max(a.ndim, b.ndim) == 3 else c[0]


@register("matmul", "cuda", "numba_naive", "numba.cuda: one thread per output (teaching twin of step 1)", ("float32",))
def numba_naive(a: Any, b: Any) -> Any:
    return _launch(0, a, b)


@register(
    "matmul", "cuda", "numba_smem", "numba.cuda: 16x16 shared-memory tiles (teaching twin of step 3)", ("float32",)
)
def numba_smem(a: Any, b: Any) -> Any:
    return _launch(1, a, b)
