"""RMSprop: divide by a running root-mean-square of the gradient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import kernels
from ..engine.tensor import Tensor
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """For each parameter p with gradient g (-g when maximize):

    g ← g + λ·p
    s ← α·s + (1 - α)·g²                       (square average)
    a ← √(s - ḡ²) + ε  with ḡ ← α·ḡ + (1 - α)·g  if centered,  else  √s + ε
    b ← μ·b + g/a,  p ← p - η·b               if momentum μ > 0,  else  p ← p - η·g/a

    One ``kernels.run("rmsprop_update", ...)`` per parameter computes it (kernels/optim/).
    """

    nonnegative = ("lr", "alpha", "eps", "weight_decay", "momentum")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, group: dict[str, Any], param: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp, p = param.xp, param.array
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        kernels.run(
            "rmsprop_update",
            p,
            grad,
            state["square_avg"],
            state["grad_avg"] if group["centered"] else None,
            state["momentum_buffer"] if group["momentum"] > 0 else None,
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            maximize=group["maximize"],
        )
