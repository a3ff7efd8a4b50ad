"""Mixed precision: ``autocast`` (which ops run in bfloat16/float16, which in float32: ``op_lists``) and
``GradScaler`` (dynamic loss scaling for float16)."""

from .autocast_mode import autocast, get_autocast_dtype, is_autocast_cache_enabled, is_autocast_enabled
from .grad_scaler import GradScaler, OptState

__all__ = [
    "GradScaler",
    "OptState",
    "autocast",
    "get_autocast_dtype",
    "is_autocast_cache_enabled",
    "is_autocast_enabled",
]
