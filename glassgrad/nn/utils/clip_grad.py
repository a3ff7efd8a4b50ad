"""Gradient clipping, in place on ``.grad``."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ...engine.function import common_device
from ...engine.tensor import Tensor


def _grads(op: str, parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """The gradients of ``parameters`` that exist, all on one device."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
    grads = [p.grad for p in params if p.grad is not None]
    common_device(op, grads)
    return grads


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients by min(1, max_norm / (‖g‖ + 1e-6)), where ‖g‖ is the p-norm of
    every gradient concatenated; return ‖g‖ (a 0-d tensor on the gradients' device)."""
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type}")
    grads = _grads("clip_grad_norm_", parameters)
    if not grads:
        from ...engine.creation import tensor

        return tensor(0.0)
    xp = grads[0].xp
    if math.isinf(norm_type):
        total = xp.max(xp.stack([xp.abs(g.array).max() for g in grads]))
    else:
        total = xp.sum(xp.stack([(xp.abs(g.array) ** norm_type).sum() for g in grads])) ** (1 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} is non-finite ({float(total)})")
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g.array *= scale.astype(g.dtype)
    return Tensor(xp.asarray(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads("clip_grad_value_", parameters):
        g.xp.clip(g.array, -clip_value, clip_value, out=g.array)
