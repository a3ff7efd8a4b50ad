"""The optimizer updates as one parallel numba pass over the flattened parameter.

Each element's whole update is done in registers: every array is read once and
each written array written once (Adam: read p, g, m, v; write p, m, v), where
the reference makes a dozen whole-array passes and allocates temporaries. The
math and its order of operations are the reference's (reference.py), element by
element; the scalars (η, β, the bias corrections, computed once in Python by the
same helpers) come in as Python floats and bools (the cheapest arguments for
numba's dispatcher, and one compiled signature whatever number types the caller
used) and are cast to the parameter's dtype first, as NumPy and PyTorch do, so
float32 parameters are updated in float32 arithmetic.

The kernels take arrays of one dtype laid out alike in one contiguous block
(``when=``): all C-contiguous, or all with the parameter's strides in one block,
as a Linear weight's F-ordered gradient and the states made ``zeros_like`` it
are; ``ravel(order="K")`` then walks them all in memory order without a copy.
Any other layout goes to the reference. An option that is off passes an empty array for its
state, so each kernel compiles once per dtype, on its first call.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..cpu_parallel import OPTIM_MIN_SIZE, parallel_njit
from ..registry import register
from .reference import adagrad_lr, adam_scalar_values, check_state, sgd_scalar_values

CONDITION = "arrays of the parameter's dtype and strides, each one contiguous block"


def contiguous(*arrays: Any, **options: Any) -> bool:
    """Every array given (None for a state that is off) has the first one's dtype, and either all are
    C-contiguous or all share the first one's strides and are contiguous in some order."""
    first = arrays[0]
    given = [a for a in arrays if a is not None]
    if any(a.dtype != first.dtype for a in given):
        return False
    if all(a.flags.c_contiguous for a in given):
        return True
    return all(a.strides == first.strides and (a.flags.f_contiguous or a.flags.c_contiguous) for a in given)


_OFF = {np.dtype(t): np.empty(0, t) for t in (np.float32, np.float64)}  # a kernel never writes a 0-size state


def _flat(array: Any, like: Any) -> Any:
    """The 1-D view of ``array`` (an empty array of ``like``'s dtype for a state that is off)."""
    return _OFF[like.dtype] if array is None else array.ravel(order="K")


@numba.njit(cache=True, inline="always")
def _lerp(a, b, weight, complement):  # pragma: no cover - compiled
    """PyTorch's lerp(a, b, w): a + w(b − a) for w < ½, else b − (b − a)(1 − w); complement = 1 − w."""
    return a + weight * (b - a) if weight < 0.5 else b - (b - a) * complement


@parallel_njit(min_size=OPTIM_MIN_SIZE, cache=True)
def _sgd_kernel(p, g, buf, lr, momentum, undamped, weight_decay, nesterov, maximize, first_step):  # pragma: no cover
    """p ← p − η·d with d = ±g + λp, through the momentum buffer b when it is not empty
    (b ← d on the first step, else μb + (1 − τ)d = μb + undamped·d)."""
    t = p.dtype.type
    lr, momentum, undamped, weight_decay = t(lr), t(momentum), t(undamped), t(weight_decay)
    has_buffer = buf.size > 0
    for i in numba.prange(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        if has_buffer:
            b = d if first_step else buf[i] * momentum + undamped * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d


@register(
    "sgd_update",
    "cpu",
    "numba_fused",
    "SGD step in one parallel numba pass (read p, g, b; write p, b)",
    default=True,
    when=contiguous,
    condition=CONDITION,
)
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
    """The reference's SGD step (reference.sgd_update), fused."""
    check_state("sgd_update", "momentum_buffer", momentum_buffer, momentum != 0, f"momentum is {momentum}")
    _sgd_kernel(
        param.ravel(order="K"),
        grad.ravel(order="K"),
        _flat(momentum_buffer, param),
        *sgd_scalar_values(lr, momentum, dampening, weight_decay),
        bool(nesterov),
        bool(maximize),
        bool(first_step),
    )
    return (param,) if momentum_buffer is None else (param, momentum_buffer)


@parallel_njit(min_size=OPTIM_MIN_SIZE, cache=True)
def _adam_kernel(
    p,
    g,
    m,
    v,
    vmax,
    weight1,
    complement1,
    beta2,
    weight2,
    eps,
    weight_decay,
    decay,
    step_size,
    bias2_sqrt,
    decoupled,
    maximize,
):  # pragma: no cover - compiled
    """Adam per element: m ← lerp(m, d, w₁), v ← β₂v + w₂d², v̂ ← max(v̂, v) when v̂ is not empty,
    p ← p·decay − step_size·m / (√v̂ / bias2_sqrt + ε)  (decay = 1 − ηλ when decoupled, else d += λp)."""
    t = p.dtype.type
    weight1, complement1, beta2, weight2, eps = t(weight1), t(complement1), t(beta2), t(weight2), t(eps)
    weight_decay, decay, step_size, bias2_sqrt = t(weight_decay), t(decay), t(step_size), t(bias2_sqrt)
    amsgrad = vmax.size > 0
    for i in numba.prange(p.size):
        d = -g[i] if maximize else g[i]
        x = p[i]
        if weight_decay != 0:
            if decoupled:
                x = x * decay
            else:
                d = d + weight_decay * x
        mi = _lerp(m[i], d, weight1, complement1)
        vi = v[i] * beta2 + weight2 * d * d
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = np.maximum(vmax[i], vi)
            vmax[i] = vi
        p[i] = x - step_size * mi / (np.sqrt(vi) / bias2_sqrt + eps)


@register(
    "adam_update",
    "cpu",
    "numba_fused",
    "Adam/AdamW step in one parallel numba pass (read p, g, m, v; write p, m, v)",
    default=True,
    when=contiguous,
    condition=CONDITION,
)
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
    """The reference's Adam/AdamW step (reference.adam_update), fused."""
    _adam_kernel(
        param.ravel(order="K"),
        grad.ravel(order="K"),
        exp_avg.ravel(order="K"),
        exp_avg_sq.ravel(order="K"),
        _flat(max_exp_avg_sq, param),
        *adam_scalar_values(step, lr, beta1, beta2, eps, weight_decay),
        bool(decoupled),
        bool(maximize),
    )
    return (param, exp_avg, exp_avg_sq) + (() if max_exp_avg_sq is None else (max_exp_avg_sq,))


@parallel_njit(min_size=OPTIM_MIN_SIZE, cache=True)
def _rmsprop_kernel(
    p, g, s, gavg, buf, lr, alpha, weight, complement, eps, weight_decay, momentum, maximize
):  # pragma: no cover
    """RMSprop per element: s ← αs + w·d², a ← √(s − ḡ²) + ε with ḡ ← lerp(ḡ, d, w) when ḡ is not
    empty (else √s + ε), then p ← p − η·b with b ← μb + d/a when b is not empty, else p ← p − η·d/a."""
    t = p.dtype.type
    lr, alpha, weight, complement, eps = t(lr), t(alpha), t(weight), t(complement), t(eps)
    weight_decay, momentum = t(weight_decay), t(momentum)
    centered, has_buffer = gavg.size > 0, buf.size > 0
    for i in numba.prange(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        si = s[i] * alpha + weight * d * d
        s[i] = si
        if centered:
            gi = _lerp(gavg[i], d, weight, complement)
            gavg[i] = gi
            a = np.sqrt(si - gi * gi) + eps
        else:
            a = np.sqrt(si) + eps
        if has_buffer:
            b = buf[i] * momentum + d / a
            buf[i] = b
            p[i] = p[i] - lr * b
        else:
            p[i] = p[i] - lr * d / a


@register(
    "rmsprop_update",
    "cpu",
    "numba_fused",
    "RMSprop step in one parallel numba pass",
    default=True,
    when=contiguous,
    condition=CONDITION,
)
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
    """The reference's RMSprop step (reference.rmsprop_update), fused."""
    check_state("rmsprop_update", "momentum_buffer", momentum_buffer, momentum > 0, f"momentum is {momentum}")
    weight = 1 - alpha
    _rmsprop_kernel(
        param.ravel(order="K"),
        grad.ravel(order="K"),
        square_avg.ravel(order="K"),
        _flat(grad_avg, param),
        _flat(momentum_buffer, param),
        float(lr),
        float(alpha),
        float(weight),
        float(1 - weight),
        float(eps),
        float(weight_decay),
        float(momentum),
        bool(maximize),
    )
    return tuple(a for a in (param, square_avg, grad_avg, momentum_buffer) if a is not None)


@parallel_njit(min_size=OPTIM_MIN_SIZE, cache=True)
def _adagrad_kernel(p, g, total, clr, eps, weight_decay, maximize):  # pragma: no cover - compiled
    """Adagrad per element: S ← S + d², p ← p − η_t·d / (√S + ε)."""
    t = p.dtype.type
    clr, eps, weight_decay = t(clr), t(eps), t(weight_decay)
    for i in numba.prange(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        si = total[i] + d * d
        total[i] = si
        p[i] = p[i] - clr * d / (np.sqrt(si) + eps)


@register(
    "adagrad_update",
    "cpu",
    "numba_fused",
    "Adagrad step in one parallel numba pass (read p, g, S; write p, S)",
    default=True,
    when=contiguous,
    condition=CONDITION,
)
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
    """The reference's Adagrad step (reference.adagrad_update), fused."""
    _adagrad_kernel(
        param.ravel(order="K"),
        grad.ravel(order="K"),
        state_sum.ravel(order="K"),
        float(adagrad_lr(step, lr, lr_decay)),
        float(eps),
        float(weight_decay),
        bool(maximize),
    )
    return param, state_sum
