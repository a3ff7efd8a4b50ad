"""What every numba.cuda kernel module needs before it compiles: ``numba.cuda`` itself, imported late.

The kernels are compiled on first use, so importing glassgrad needs no GPU and
no CUDA toolkit. With ``NUMBA_ENABLE_CUDASIM=1`` the module returned is numba's
CUDA simulator, which runs each CUDA thread as a Python thread on NumPy arrays.
A kernel module keeps it in a module global (``global cuda; cuda = numba_cuda()``),
not a closure cell: the simulator swaps the kernel's global ``cuda`` for its fake.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def numba_cuda() -> Any:
    """The ``numba.cuda`` module (or its simulator)."""
    if not hasattr(np, "row_stack"):  # numba-cuda (0.2x) still names np.row_stack, which NumPy 2.4 removed
        np.row_stack = np.vstack
    from numba import cuda

    return cuda
