"""Max-pooling kernels: the arg-max of each window and the gradient's scatter onto it.

Average pooling needs no kernel: it is two small matrix products (engine/ops/pooling.py).
"""

from . import cpu_numba, numba_cuda, reference, spec  # define the ops and register the variants
