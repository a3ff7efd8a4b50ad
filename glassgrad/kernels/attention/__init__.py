"""Scaled dot-product attention: a full-matrix reference and a FlashAttention-style numba kernel."""

from . import cpu_flash, numba_cuda, reference, spec  # define the ops and register the variants
