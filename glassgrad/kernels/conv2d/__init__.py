"""conv2d variants: forward, input gradient and weight gradient, NCHW.

The cpu variants and the cuda reference are im2col + GEMM (gemm.py); they differ in how the
columns are built and scattered back: ``reference`` with strided NumPy views, ``numba_im2col``
with parallel numba loops (the cpu default). ``numba_direct`` (cuda, numba_cuda.py) is the direct
convolution for teaching: one thread per element of the result, no im2col buffer.
"""

from . import cpu_numba, cuda_implicit_gemm, numba_cuda, reference, spec  # define the ops and register the variants
