"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import kernels
from ..engine.tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """For each parameter p with gradient g (PyTorch's exact order of operations):

    g ← g + λ·p                                  (weight_decay λ)
    b ← g                    on the first step,
    b ← μ·b + (1 - τ)·g      afterwards          (momentum μ, dampening τ)
    g ← g + μ·b  if nesterov  else  b
    p ← p - η·g                                  (lr η; maximize flips g's sign)

    One ``kernels.run("sgd_update", ...)`` per parameter computes it (kernels/optim/).
    """

    nonnegative = ("lr", "momentum", "dampening", "weight_decay")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any]) -> None:
        super().check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov momentum requires momentum > 0 and dampening = 0, "
                f"got momentum {group['momentum']}, dampening {group['dampening']}"
            )

    def update(self, group: dict[str, Any], param: Tensor, grad: Any, state: dict[str, Any]) -> None:
        buffer, first_step = None, False
        if group["momentum"] != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # the kernel fills it with the first step's gradient
                buffer = state["momentum_buffer"] = param.xp.empty_like(param.array)
                first_step = True
        kernels.run(
            "sgd_update",
            param.array,
            grad,
            buffer,
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
            first_step=first_step,
        )
