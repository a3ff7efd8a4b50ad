"""Max-pooling kernels: the arg-max of each window and the gradient's scatter onto it.

Average pooling needs no kernel: it is two small matrix products (engine/ops/pooling.py).
"""

from . import avg_spec, cpu_numba, cuda_c, numba_cuda, reference, spec  # define the ops and register the variants
