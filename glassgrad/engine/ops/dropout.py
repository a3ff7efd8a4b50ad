"""Dropout (inverted): zero each element with probability p, scale the rest by 1/(1 − p).

    z = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p);   dL/dx = g ⊙ m / (1 − p)

The mask is drawn from glassgrad's seeded generator on the tensor's own device.
In evaluation mode (``training=False``) dropout is the identity.
"""

from __future__ import annotations

from typing import Any

from .. import random
from ..function import Context, Function
from ..tensor import Tensor
from .operands import promote


class Dropout(Function):
    """z = x ⊙ keep · scale;  dL/dx = g ⊙ keep · scale  (scale = 1/(1 − p), 0 when p = 1)"""

    @staticmethod
    def forward(ctx: Context, x: Any, keep: Any, scale: float) -> Any:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x * (keep * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (keep,) = ctx.saved_arrays
        return grad * (keep * ctx.scale).astype(grad.dtype, copy=False), None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Randomly zero elements with probability ``p`` while training; identity otherwise."""
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout: input must be a Tensor, got {type(input).__name__}")
    if not training or p == 0.0:
        return input
    (x,) = promote("dropout", input, to_float=True)
    keep = random.generator(x.device).random(x.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return Dropout.apply(x, keep, scale=scale)
