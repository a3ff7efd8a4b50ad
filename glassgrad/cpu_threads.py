"""How numba's parallel loops share the CPU cores with BLAS's threads.

A training step on the CPU alternates numba's parallel loops (im2col, col2im,
pooling) with OpenBLAS's GEMMs, each with its own pool of threads. Under
numba's OpenMP layer the pool's threads spin for a while after every loop,
and the GEMM that runs next finds its cores taken: one mnist-cnn epoch took
12.1 s that way, against 3.4 s with the workqueue layer (threads that sleep
at once) and 2.7 s with TBB (threads that spin briefly, then sleep), on the
2-core machine of benchmarks/results/training_cpu.json. Making OpenMP's
threads passive (OMP_WAIT_POLICY) would also have slowed PyTorch, which
shares the process in the benchmarks.

So glassgrad asks numba for TBB first (the ``tbb`` package comes with
glassgrad where PyPI has it), then workqueue, and OpenMP last, unless the user
has chosen with NUMBA_THREADING_LAYER or NUMBA_THREADING_LAYER_PRIORITY.
"""

from __future__ import annotations

import os

PRIORITY = "tbb workqueue omp"


def prefer_threads_that_sleep() -> None:
    """Set numba's threading-layer priority (before its first parallel loop runs) unless the user set one."""
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    os.environ["NUMBA_THREADING_LAYER_PRIORITY"] = PRIORITY  # read by numba's config on its next reload
    import numba

    numba.config.THREADING_LAYER_PRIORITY = PRIORITY.split()


prefer_threads_that_sleep()
