"""Scaled dot-product attention: a full-matrix reference and a FlashAttention-style numba kernel."""

from . import cpu_flash, reference, spec  # noqa: F401 - define the ops and register the variants
