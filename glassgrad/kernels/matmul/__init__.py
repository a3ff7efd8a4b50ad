"""Matrix multiply variants: C = A @ B for (M, K) @ (K, N) or batched (B, M, K) @ (B, K, N).

Every variant takes arrays of any strides (transposed views included) and
returns a new C-contiguous array.
"""

from . import cpu_numba, cuda_hopper, cuda_ladder, epilogue_spec, numba_cuda, reference, spec  # the op and its variants
