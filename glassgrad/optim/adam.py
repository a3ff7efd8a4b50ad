"""Adam and AdamW: adaptive moments with bias correction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import kernels
from ..engine.tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """For each parameter p with gradient g (-g when maximize), at step t = 1, 2, ...:

    g ← g + λ·p                              (weight_decay λ; AdamW: p ← p·(1 - η·λ) instead)
    m ← β₁·m + (1 - β₁)·g                    (first moment, as PyTorch's lerp(m, g, 1 - β₁))
    v ← β₂·v + (1 - β₂)·g²                   (second moment; amsgrad: v̂ ← max(v̂, v), used for v below)
    p ← p - (η / (1 - β₁ᵗ)) · m / (√v / √(1 - β₂ᵗ) + ε)

    One ``kernels.run("adam_update", ...)`` per parameter computes it (kernels/optim/).
    """

    decoupled_weight_decay = False
    nonnegative = ("lr", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize
        )
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any]) -> None:
        super().check_group(group)
        betas = group["betas"]
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{type(self).__name__}: betas must be two numbers in [0, 1), got {betas}")

    def update(self, group: dict[str, Any], param: Tensor, grad: Any, state: dict[str, Any]) -> None:
        xp, p = param.xp, param.array
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        kernels.run(
            "adam_update",
            p,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state["max_exp_avg_sq"] if group["amsgrad"] else None,
            step=state["step"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled=self.decoupled_weight_decay,
            maximize=group["maximize"],
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p ← p·(1 - η·λ) before the Adam step."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
