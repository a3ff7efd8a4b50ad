"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import kernels
from ..engine.tensor import Tensor
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """For each parameter p with gradient g (-g when maximize), at step t = 1, 2, ...:

    g ← g + λ·p
    η_t = η / (1 + (t - 1)·lr_decay)
    S ← S + g²                                 (starts at initial_accumulator_value)
    p ← p - η_t · g / (√S + ε)

    One ``kernels.run("adagrad_update", ...)`` per parameter computes it (kernels/optim/).
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
        if not state:
            state["step"] = 0
            state["sum"] = param.xp.full_like(param.array, group["initial_accumulator_value"])
        state["step"] += 1
        kernels.run(
            "adagrad_update",
            param.array,
            grad,
            state["sum"],
            step=state["step"],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
