"""Activations as kernel ops: gelu, silu, bias + activation (``act(x + b)``) and sigmoid, each with its
backward, and tanh's backward (from the output).

Each op has a whole-array NumPy/CuPy reference (reference.py, registered on
cpu and cuda) and, on the cpu, a parallel numba variant that makes one pass
over memory (cpu_numba.py); spec.py holds the validation cases and benchmark
sizes. Importing this package registers everything; nothing is compiled until
a variant is first called.
"""

from ..elementwise import register as _generated  # the "generated" variants (kernels/elementwise/)
from . import cpu_numba, reference, spec  # define the ops and register the variants
