"""Elementwise kernels generated from the ops' own formulas: one source of truth for NumPy and CUDA.

formulas.py writes each activation's forward z = f(x) and slope f' once, as a
small expression tree; codegen_numpy.py prints NumPy functions from it and
codegen_cuda.py CuPy ElementwiseKernel sources (forward, and backward g·f'),
also with a bias added first (bias + activation). register.py registers them as
the "generated" variants of the activation ops (kernels/activations/), on cuda
and, as their NumPy twins, on cpu; none is a default. dropout.py adds the ops
dropout/dropout_backward, whose mask is a Philox draw of (seed, offset, index)
(philox.py, philox_uniform.cuh), from the same formulas.
"""

from . import dropout, register  # register the generated variants and the dropout ops
