"""The activations written with whole-array NumPy (cpu) or CuPy (cuda) calls, one pass per line.

These are the references the fused variants are validated and benchmarked
against, and the variants that take every call (any dtype, any layout). The
math follows PyTorch's kernels; with g = dL/dz:

    gelu       z = x·Φ(x), Φ(x) = ½(1 + erf(x/√2));      dL/dx = g·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π)
    gelu tanh  z = ½x(1 + tanh u), u = √(2/π)(x + κx³), κ = 0.044715;
               dL/dx = g·(½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3κx²))
    silu       z = x·σ(x);                                 dL/dx = g·σ(x)(1 + x(1 − σ(x)))
    sigmoid    z = σ(x) = 1/(1 + e^(−x));                  dL/dx = g·z(1 − z), from the output z
    tanh       (forward: the array module's tanh);         dL/dx = g·(1 − z²), from the output z
    relu       z = max(x, 0) (NaN stays NaN);              dL/dx = 0 where x ≤ 0, else g
    bias_act   z = act(x + b), b broadcast over the last dim;
               dL/dx = g·act'(x + b),  dL/db = Σ dL/dx over all but the last dim

A result has its input's dtype (float16 is computed in float32, as PyTorch's
CPU kernels do, and rounded back), except sigmoid and the two backward ops
from the output, which compute in the input's own dtype, whatever it is.
"""

from __future__ import annotations

import math
from typing import Any

from ...engine import backend
from ...engine.special import erf
from ..registry import register

SQRT1_2 = 1 / math.sqrt(2)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
KAPPA = 0.044715

#: bias_act's activations: each name and the elementwise op it applies after the bias add
ACTIVATIONS = ("identity", "relu", "gelu", "gelu_tanh", "silu")


def _computed(x: Any) -> Any:
    """``x`` in the dtype its activation is computed in: float16 and integers go to float32 / float64."""
    xp = backend.xp_of(x)
    if x.dtype.kind != "f":
        return x.astype(xp.float64)
    return x.astype(xp.float32) if x.dtype.itemsize < 4 else x


def _sigmoid(xp: Any, x: Any) -> Any:
    """σ(x) without overflow: 1/(1 + e^(−x)) for x ≥ 0, eˣ/(1 + eˣ) below."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _value(h: Any, activation: str) -> Any:
    """act(h) for one of ACTIVATIONS."""
    xp = backend.xp_of(h)
    if activation == "identity":
        return h
    if activation == "relu":
        return xp.maximum(h, 0)  # NaN stays NaN
    if activation == "gelu":
        return h * (0.5 * (1 + erf(xp, h * SQRT1_2)))
    if activation == "gelu_tanh":
        return 0.5 * h * (1 + xp.tanh(SQRT_2_OVER_PI * (h + KAPPA * h * h * h)))
    if activation == "silu":
        return h * _sigmoid(xp, h)
    raise ValueError(f"bias_act: activation must be one of {ACTIVATIONS}, got {activation!r}")


def _slope(h: Any, grad: Any, activation: str) -> Any:
    """dL/dh = g·act'(h) for one of ACTIVATIONS."""
    xp = backend.xp_of(h)
    if activation == "identity":
        return grad
    if activation == "relu":
        return xp.where(h <= 0, 0, grad)  # NaN compares False, so g passes
    if activation == "gelu":
        cdf = 0.5 * (1 + erf(xp, h * SQRT1_2))
        return grad * (cdf + h * (xp.exp(-0.5 * h * h) * INV_SQRT_2PI))
    if activation == "gelu_tanh":
        t = xp.tanh(SQRT_2_OVER_PI * (h + KAPPA * h * h * h))
        return grad * (0.5 * (1 + t) + 0.5 * h * (1 - t * t) * (SQRT_2_OVER_PI * (1 + 3 * KAPPA * h * h)))
    if activation == "silu":
        s = _sigmoid(xp, h)
        return grad * s * (1 + h * (1 - s))
    raise ValueError(f"bias_act_backward: activation must be one of {ACTIVATIONS}, got {activation!r}")


def gelu_activation(approximate: str) -> str:
    """The ACTIVATIONS name of gelu with PyTorch's ``approximate`` ("none" or "tanh")."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return "gelu" if approximate == "none" else "gelu_tanh"


@register("gelu", "cuda", "cupy", "CuPy elementwise calls, one pass over memory each", reference=True)
@register(
    "gelu", "cpu", "numpy", "NumPy elementwise calls (erf a numba ufunc), one pass over memory each", reference=True
)
def gelu(x: Any, approximate: str = "none") -> Any:
    """z = x·Φ(x) (approximate="none") or ½x(1 + tanh(√(2/π)(x + 0.044715x³))) ("tanh")."""
    return _value(_computed(x), gelu_activation(approximate)).astype(x.dtype, copy=False)


@register("gelu_backward", "cuda", "cupy", "CuPy elementwise calls, one pass over memory each", reference=True)
@register("gelu_backward", "cpu", "numpy", "NumPy elementwise calls, one pass over memory each", reference=True)
def gelu_backward(x: Any, grad: Any, approximate: str = "none") -> Any:
    """dL/dx = g·gelu'(x), in either form."""
    return _slope(_computed(x), grad, gelu_activation(approximate)).astype(x.dtype, copy=False)


@register("silu", "cuda", "cupy", "CuPy elementwise calls, one pass over memory each", reference=True)
@register("silu", "cpu", "numpy", "NumPy elementwise calls, one pass over memory each", reference=True)
def silu(x: Any) -> Any:
    """z = x·σ(x)."""
    return _value(_computed(x), "silu").astype(x.dtype, copy=False)


@register("silu_backward", "cuda", "cupy", "CuPy elementwise calls, one pass over memory each", reference=True)
@register("silu_backward", "cpu", "numpy", "NumPy elementwise calls, one pass over memory each", reference=True)
def silu_backward(x: Any, grad: Any) -> Any:
    """dL/dx = g·σ(x)(1 + x(1 − σ(x)))."""
    return _slope(_computed(x), grad, "silu").astype(x.dtype, copy=False)


@register("bias_act", "cuda", "cupy", "CuPy broadcast add, then the activation's elementwise calls", reference=True)
@register("bias_act", "cpu", "numpy", "NumPy broadcast add, then the activation's elementwise calls", reference=True)
def bias_act(x: Any, bias: Any, activation: str = "identity") -> Any:
    """z = act(x + b), b of shape (x.shape[-1],) broadcast over the rows."""
    return _value(_computed(x + bias), activation).astype(x.dtype, copy=False)


@register("bias_act_backward", "cuda", "cupy", "CuPy elementwise calls and a sum over the rows", reference=True)
@register("bias_act_backward", "cpu", "numpy", "NumPy elementwise calls and a sum over the rows", reference=True)
def bias_act_backward(x: Any, bias: Any, grad: Any, activation: str = "identity") -> tuple[Any, Any]:
    """(dL/dx, dL/db) = (g·act'(x + b), Σ_rows g·act'(x + b)). ``x`` is not read for "identity"
    (it may be None there: dL/dx is ``grad`` itself)."""
    if activation == "identity":
        dx = grad
    else:
        dx = _slope(_computed(x + bias), grad, activation).astype(grad.dtype, copy=False)
    return dx, dx.sum(axis=tuple(range(dx.ndim - 1))).astype(grad.dtype, copy=False)


@register("sigmoid", "cuda", "cupy", "CuPy elementwise calls on e^(−|x|), one pass over memory each", reference=True)
@register("sigmoid", "cpu", "numpy", "NumPy elementwise calls on e^(−|x|), one pass over memory each", reference=True)
def sigmoid(x: Any) -> Any:
    """z = σ(x) = 1/(1 + e^(−|x|)) for x ≥ 0 and e^(−|x|)/(1 + e^(−|x|)) below: nothing overflows,
    σ(−∞) = 0, σ(∞) = 1, NaN stays NaN."""
    return _sigmoid(backend.xp_of(x), x)


@register("sigmoid_backward", "cuda", "cupy", "CuPy elementwise calls", reference=True)
@register("sigmoid_backward", "cpu", "numpy", "NumPy elementwise calls", reference=True)
def sigmoid_backward(z: Any, grad: Any) -> Any:
    """dL/dx = g·(1 − z)·z from the output z = σ(x) (PyTorch's order of the products)."""
    return grad * (1 - z) * z


@register("tanh_backward", "cuda", "cupy", "CuPy elementwise calls", reference=True)
@register("tanh_backward", "cpu", "numpy", "NumPy elementwise calls", reference=True)
def tanh_backward(z: Any, grad: Any) -> Any:
    """dL/dx = g·(1 − z²) from the output z = tanh x."""
    return grad * (1 - z * z)
