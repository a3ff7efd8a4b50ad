"""The reference optimizer updates: one parameter's step in a few whole-array NumPy (or CuPy) calls.

Each op updates ``param`` and its state arrays in place, in PyTorch's order of
operations (torch.optim's single-tensor path, so results agree to rounding), and
returns the arrays it wrote, for validation to compare. ``grad`` is only read.
Each line is one array op, so each reads and writes the whole array: Adam makes
about a dozen passes over memory where a fused kernel makes one.

Written with the array module of their input, so one function is the "numpy"
reference on cpu and the "cupy" reference on cuda. For a parameter p with
gradient g (−g when ``maximize``), step t = 1, 2, ...:

    sgd       g ← g + λp;  b ← g (first step) or μb + (1 − τ)g;  g ← g + μb (nesterov) or b;  p ← p − ηg
    adam      g ← g + λp (or p ← p(1 − ηλ), decoupled: AdamW);  m ← lerp(m, g, 1 − β₁);
              v ← β₂v + (1 − β₂)g²;  v̂ ← max(v̂, v) (amsgrad);
              p ← p − (η / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)
    rmsprop   g ← g + λp;  s ← αs + (1 − α)g²;  a ← √(s − ḡ²) + ε with ḡ ← lerp(ḡ, g, 1 − α) (centered)
              or √s + ε;  b ← μb + g/a, p ← p − ηb (momentum μ > 0)  or  p ← p − ηg/a
    adagrad   g ← g + λp;  S ← S + g²;  p ← p − η_t·g / (√S + ε),  η_t = η / (1 + (t − 1)·lr_decay)

lerp(a, b, w) is PyTorch's: a + w(b − a) for w < ½, else b − (b − a)(1 − w).
An optional state array (momentum buffer, amsgrad's v̂, centered RMSprop's ḡ)
is None when its option is off.
"""

from __future__ import annotations

import math
from typing import Any

from ...engine import backend
from ..registry import register


def adam_scalars(step: int, lr: float, beta1: float, beta2: float) -> tuple[float, float]:
    """(η / (1 − β₁ᵗ), √(1 − β₂ᵗ)): Adam's step size and second-moment correction at step t."""
    return lr / (1 - beta1**step), math.sqrt(1 - beta2**step)


def adagrad_lr(step: int, lr: float, lr_decay: float) -> float:
    """η_t = η / (1 + (t − 1)·lr_decay)."""
    return lr / (1 + (step - 1) * lr_decay)


def sgd_scalar_values(lr: float, momentum: float, dampening: float, weight_decay: float) -> list[float]:
    """SGD's scalars as the fused kernels take them (cpu_numba's, cuda/multi_tensor.cu's SgdSlot order):
    [η, μ, 1 − τ, λ]."""
    return [float(lr), float(momentum), float(1 - dampening), float(weight_decay)]


def adam_scalar_values(
    step: int, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> list[float]:
    """Adam's scalars at step t as the fused kernels take them (cpu_numba's, cuda/multi_tensor.cu's AdamSlot
    order): [w₁ = 1 − β₁, 1 − w₁, β₂, 1 − β₂, ε, λ, 1 − ηλ, η / (1 − β₁ᵗ), √(1 − β₂ᵗ)]."""
    step_size, bias2_sqrt = adam_scalars(step, lr, beta1, beta2)
    weight1 = 1 - beta1
    return [
        float(weight1),
        float(1 - weight1),
        float(beta2),
        float(1 - beta2),
        float(eps),
        float(weight_decay),
        float(1 - lr * weight_decay),
        float(step_size),
        float(bias2_sqrt),
    ]


def check_state(op: str, name: str, array: Any, wanted: bool, option: str) -> None:
    """The optional state array ``name`` is given exactly when ``option`` asks for it."""
    if (array is not None) != wanted:
        raise ValueError(f"kernels.{op}: {name} must be {'an array' if wanted else 'None'} when {option}")


def _lerp_into(a: Any, b: Any, weight: float) -> None:
    """a ← lerp(a, b, w) in place, in PyTorch's two forms (the one that rounds better for w)."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)


def _updated(*arrays: Any) -> tuple[Any, ...]:
    return tuple(a for a in arrays if a is not None)


@register("sgd_update", "cpu", "numpy", "SGD step in whole-array NumPy ops", reference=True)
@register("sgd_update", "cuda", "cupy", "SGD step in whole-array CuPy ops", reference=True)
def sgd_update(
    param: Any,
    grad: Any,
    momentum_buffer: Any,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
    first_step: bool = False,
) -> tuple[Any, ...]:
    """g ← g + λp;  b ← g (first step) or μb + (1 − τ)g;  g ← g + μb (nesterov) or b;  p ← p − ηg.

    ``momentum_buffer`` is None exactly when momentum is 0; on the first step its
    values are ignored (it becomes g). Returns (param, momentum_buffer) or (param,).
    """
    check_state("sgd_update", "momentum_buffer", momentum_buffer, momentum != 0, f"momentum is {momentum}")
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    if momentum_buffer is not None:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g
    return _updated(param, momentum_buffer)


@register("adam_update", "cpu", "numpy", "Adam/AdamW step in whole-array NumPy ops", reference=True)
@register("adam_update", "cuda", "cupy", "Adam/AdamW step in whole-array CuPy ops", reference=True)
def adam_update(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    max_exp_avg_sq: Any,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    maximize: bool = False,
) -> tuple[Any, ...]:
    """Adam (AdamW when ``decoupled``) at step t ≥ 1; amsgrad when ``max_exp_avg_sq`` is an array:

    g ← g + λp  (decoupled: p ← p(1 − ηλ));  m ← lerp(m, g, 1 − β₁);  v ← β₂v + (1 − β₂)g²;
    v̂ ← max(v̂, v);  p ← p − (η / (1 − β₁ᵗ))·m / (√v̂ / √(1 − β₂ᵗ) + ε)   (v̂ = v without amsgrad).

    Returns (param, exp_avg, exp_avg_sq[, max_exp_avg_sq]).
    """
    xp = backend.xp_of(param)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * param
    _lerp_into(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    step_size, bias2_sqrt = adam_scalars(step, lr, beta1, beta2)
    denom = xp.sqrt(second) / bias2_sqrt + eps
    param -= step_size * exp_avg / denom
    return _updated(param, exp_avg, exp_avg_sq, max_exp_avg_sq)


@register("rmsprop_update", "cpu", "numpy", "RMSprop step in whole-array NumPy ops", reference=True)
@register("rmsprop_update", "cuda", "cupy", "RMSprop step in whole-array CuPy ops", reference=True)
def rmsprop_update(
    param: Any,
    grad: Any,
    square_avg: Any,
    grad_avg: Any,
    momentum_buffer: Any,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    maximize: bool = False,
) -> tuple[Any, ...]:
    """RMSprop; centered when ``grad_avg`` is an array, with momentum when ``momentum_buffer`` is:

    g ← g + λp;  s ← αs + (1 − α)g²;  a ← √(s − ḡ²) + ε with ḡ ← lerp(ḡ, g, 1 − α)  (else √s + ε);
    b ← μb + g/a, p ← p − ηb  (else p ← p − ηg/a).

    ``momentum_buffer`` is an array exactly when momentum > 0.
    Returns (param, square_avg[, grad_avg][, momentum_buffer]).
    """
    check_state("rmsprop_update", "momentum_buffer", momentum_buffer, momentum > 0, f"momentum is {momentum}")
    xp = backend.xp_of(param)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if grad_avg is not None:
        _lerp_into(grad_avg, g, 1 - alpha)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = xp.sqrt(square_avg) + eps
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * g / avg
    return _updated(param, square_avg, grad_avg, momentum_buffer)


@register("adagrad_update", "cpu", "numpy", "Adagrad step in whole-array NumPy ops", reference=True)
@register("adagrad_update", "cuda", "cupy", "Adagrad step in whole-array CuPy ops", reference=True)
def adagrad_update(
    param: Any,
    grad: Any,
    state_sum: Any,
    *,
    step: int,
    lr: float,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    weight_decay: float = 0.0,
    maximize: bool = False,
) -> tuple[Any, ...]:
    """Adagrad at step t ≥ 1:  g ← g + λp;  S ← S + g²;  p ← p − η_t·g / (√S + ε),  η_t = η / (1 + (t − 1)·lr_decay).

    Returns (param, state_sum).
    """
    xp = backend.xp_of(param)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    state_sum += g * g
    param -= adagrad_lr(step, lr, lr_decay) * g / (xp.sqrt(state_sum) + eps)
    return param, state_sum
