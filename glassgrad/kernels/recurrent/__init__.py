"""Recurrent layers over time (rnn, gru, lstm), forward and backward through time: a NumPy/CuPy reference
(reference.py) and a numba CPU variant whose fused gate kernels run between NumPy's GEMMs (cpu_numba.py)."""

from . import cpu_numba, reference, spec  # define the ops and register the variants
