"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..engine.tensor import Tensor
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """For each parameter p with gradient g, at step t = 1, 2, ...:

    g ← g + λ·p
    η_t = η / (1 + (t - 1)·lr_decay)
    S ← S + g²                                 (starts at initial_accumulator_value)
    p ← p - η_t · g / (√S + ε)
    """

    nonnegative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, group: dict[str, Any], param: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp, p = param.xp, param.array
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        p -= clr * (grad / (xp.sqrt(state["sum"]) + group["eps"]))
