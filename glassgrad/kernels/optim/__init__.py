"""The optimizers' update step as kernel ops: one parameter's SGD, Adam/AdamW, RMSprop or Adagrad step, in place.

Each op has a whole-array reference (reference.py: NumPy on cpu, CuPy on cuda,
PyTorch's order of operations) and a fused numba pass on cpu (cpu_numba.py)
that reads and writes each array once; spec.py holds the validation cases and
benchmark inputs. ``glassgrad.optim`` calls ``kernels.run("adam_update", ...)``
once per parameter per step; ``sgd_update_all``/``adam_update_all`` (cuda_multi_tensor.py) take
every parameter at once, in one CUDA launch.
"""

from . import cpu_numba, cuda_multi_tensor, reference, spec  # define the ops and register the variants
