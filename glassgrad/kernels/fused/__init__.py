"""Fused memory-bound kernels on cuda: softmax, log_softmax, layer norm and softmax + cross-entropy.

Each op has a composite CuPy reference (reference.py: one array op per line,
one pass over memory each) and a fused CUDA C kernel (*.cu, launched from
softmax.py, layer_norm.py, cross_entropy.py) that reads its input once and
writes its output once, reducing each row with warp shuffles (rows.cuh).
Importing this package registers everything; it needs neither CuPy nor a GPU.
"""

from . import cross_entropy, layer_norm, reference, softmax, spec  # noqa: F401 - define the ops, register the variants
