"""Scaled dot-product attention: a full-matrix reference (cpu and cuda), a FlashAttention-style numba kernel
(cpu default, cpu_flash.py) and its numba.cuda teaching version (numba_cuda.py, forward and backward)."""

from . import cpu_flash, numba_cuda, reference, spec, cuda_flash  # noqa: I001 (cuda_flash registers after numba_cuda)
