"""bfloat16 as storage: the top 16 bits of an IEEE float32, kept in uint16 arrays.

NumPy has no bfloat16 dtype, so kernels that take bf16 operands receive uint16
arrays holding the bit patterns. Rounding is to nearest, ties to even.
"""

from __future__ import annotations

from typing import Any

from ...engine.backend import xp_of


def to_bfloat16_bits(x: Any) -> Any:
    """float32 array -> uint16 array of bf16 bits (round to nearest even; NaN stays NaN)."""
    xp = xp_of(x)
    bits = xp.ascontiguousarray(x, dtype=xp.float32).view(xp.uint32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    rounded = ((bits + rounding) >> 16).astype(xp.uint16)
    nan = xp.isnan(x)
    return xp.where(nan, xp.uint16(0x7FC0), rounded)


def from_bfloat16_bits(bits: Any) -> Any:
    """uint16 array of bf16 bits -> float32 array (exact)."""
    xp = xp_of(bits)
    return (bits.astype(xp.uint32) << 16).view(xp.float32)
