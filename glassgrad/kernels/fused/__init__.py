"""The row ops: softmax, log_softmax, layer norm, RMS norm and softmax + cross-entropy, with their backward.

Each op has a reference (reference.py: whole-array NumPy/CuPy calls, one pass
over memory each, registered as "numpy" on cpu and "cupy" on cuda). On cpu,
parallel numba row kernels (cpu_softmax.py, cpu_norms.py, cpu_cross_entropy.py,
compiled on first call) read each row once and write it once. On cuda,
fused CUDA C kernels (*.cu, launched from softmax.py, layer_norm.py,
cross_entropy.py) read their input once and write their output once, reducing
each row with warp shuffles (rows.cuh); rms_norm has no CUDA kernel. A variant
declares the calls it takes (calls.py: softmax over the last dim; the
cross-entropy kernels: 2-D logits, class indices) and the registry gives the
rest to the reference. The validation cases and benchmark inputs are in
spec.py. Importing this package registers everything; it needs neither CuPy
nor a GPU, and compiles nothing.
"""

from . import (  # define the ops, register the variants
    cpu_cross_entropy,
    cpu_norms,
    cpu_softmax,
    cross_entropy,
    layer_norm,
    reference,
    softmax,
    spec,
)
