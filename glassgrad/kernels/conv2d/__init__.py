"""conv2d variants: forward, input gradient and weight gradient, NCHW.

Each variant is im2col + GEMM (gemm.py); they differ in how the columns are
built and scattered back: ``reference`` with strided NumPy views,
``numba_im2col`` with parallel numba loops (the cpu default).
"""

from . import cpu_numba, numba_cuda, reference, spec  # define the ops and register the variants
