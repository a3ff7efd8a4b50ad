"""Activation functions, each with its derivative.

PyTorch's conventions at the kinks and at NaN (each backward tests the same
condition as PyTorch's kernel as written, so a NaN input takes the same branch;
PyTorch's vectorised CPU loop differs from its scalar loop at NaN for hardtanh,
relu6, hardswish and the elu family, giving 0 or NaN there, and glassgrad
follows the scalar loop everywhere):

* relu'(0) = 0 and relu passes the upstream gradient where x is NaN (PyTorch
  zeroes it only where x ≤ 0); hardtanh, relu6 and hardswish do the same at
  their edges: hardtanh'(min_val) = hardtanh'(max_val) = 0, hardswish'(-3) = 0,
  hardswish'(3) = 1;
* hardsigmoid' is 1/6 only strictly inside (-3, 3) (0 at ±3 and at NaN);
* leaky_relu'(0) = negative_slope; elu, celu and selu take their x ≤ 0 branch
  at 0 (elu'(0) = α, selu'(0) = λα) and their x > 0 branch at NaN.

GELU and SiLU (whose backward is a kernel) and Mish and GLU (whose backward
reads a value the forward computed: tanh(softplus x), σ(b)) have a
``decomposition``: the same forward written in engine ops, which a backward with
``create_graph=True`` differentiates instead.
"""

from __future__ import annotations

import warnings
from typing import Any

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from ...kernels.activations.reference import KAPPA, SQRT1_2, SQRT_2_OVER_PI
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import as_float, named
from .error_function import erf
from .operands import normalize_dim

#: SELU's constants (Klambauer et al. 2017), as PyTorch spells them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(xp: Any, x: Any) -> Any:
    """σ(x) without overflow: 1/(1 + e^(-x)) for x ≥ 0, eˣ/(1 + eˣ) below."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus_of(x: Tensor, beta: float) -> Tensor:
    """ln(1 + e^(βx))/β = (max(βx, 0) + ln(1 + e^(−|βx|)))/β in engine ops (no overflow), for decompositions."""
    bx = x * beta
    return (relu(bx) + (-bx.abs()).exp().log1p()) / beta


class ReLU(Function):
    """z = max(x, 0);  dL/dx = g where x > 0 (and where x is NaN), 0 where x ≤ 0"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = ctx.xp.maximum(x, 0)  # NaN stays NaN
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays  # z ≤ 0 exactly where x ≤ 0; NaN compares False, so g passes
        return ctx.xp.where(z <= 0, 0, grad)


class LeakyReLU(Function):
    """z = x if x > 0 else a·x;  dL/dx = g if x > 0 else a·g"""

    @staticmethod
    def forward(ctx: Context, x: Any, negative_slope: float) -> Any:
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return ctx.xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return ctx.xp.where(x > 0, grad, grad * ctx.slope)


class ELU(Function):
    """The ELU family (elu, celu, selu), PyTorch's one kernel with a scale s and an input scale i:

    z = s·x if x > 0 else s·α(e^(i·x) − 1);
    dL/dx = g·s if x > 0 (or NaN) else g·s·α·i·e^(i·x) = g·i·(z + s·α)

    elu: s = i = 1;  celu: s = 1, i = 1/α;  selu: α = 1.6733, s = λ = 1.0507, i = 1.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Any:
        xp = ctx.xp
        neg = x <= 0
        z = xp.where(neg, (alpha * scale) * xp.expm1(xp.minimum(x, 0) * input_scale), x * scale)
        ctx.save_for_backward(neg, z)
        ctx.coef = (alpha * scale, scale, input_scale)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        neg, z = ctx.saved_arrays
        negcoef, scale, input_scale = ctx.coef
        return ctx.xp.where(neg, grad * (input_scale * (z + negcoef)), grad * scale)


class Hardtanh(Function):
    """z = min(max(x, lo), hi);  dL/dx = g for lo < x < hi (and NaN), 0 for x ≤ lo or x ≥ hi

    (relu6 is hardtanh with lo = 0, hi = 6)."""

    @staticmethod
    def forward(ctx: Context, x: Any, min_val: float, max_val: float) -> Any:
        xp = ctx.xp
        ctx.save_for_backward((x <= min_val) | (x >= max_val))
        return xp.minimum(xp.maximum(x, min_val), max_val).astype(x.dtype, copy=False)  # NaN stays NaN; ints stay ints

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (outside,) = ctx.saved_arrays
        return ctx.xp.where(outside, 0, grad)


class Hardsigmoid(Function):
    """z = min(max(x + 3, 0), 6) / 6;  dL/dx = g/6 for -3 < x < 3, else 0 (0 at NaN too)

    (1/6 is rounded to float32 as in PyTorch's kernel, also for float64.)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward((x > -3) & (x < 3))
        return xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (inside,) = ctx.saved_arrays
        # PyTorch's kernel multiplies by 1/6 rounded to float32, in float64 too; so do we
        return ctx.xp.where(inside, grad * ctx.xp.asarray(1 / 6, dtype="float32").astype(grad.dtype), 0)


class Hardswish(Function):
    """z = x·min(max(x + 3, 0), 6) / 6;
    dL/dx = 0 for x ≤ -3,  g·(x/3 + ½) for -3 < x < 3,  g for x ≥ 3 (and NaN)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(x)
        return x * xp.minimum(xp.maximum(x + 3, 0), 6) / 6

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        (x,) = ctx.saved_arrays
        return xp.where(x <= -3, 0, xp.where(x < 3, grad * (x / 3 + 0.5), grad))


class Mish(Function):
    """z = x·tanh(softplus(x)), softplus(x) = ln(1 + eˣ);
    dL/dx = g·(t + x·σ(x)·(1 − t²)) with t = tanh(softplus(x))"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        t = xp.tanh(xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x))))  # softplus without overflow
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, t = ctx.saved_arrays
        return grad * (t + x * _sigmoid(ctx.xp, x) * (1 - t * t))

    @staticmethod
    def decomposition(x: Tensor) -> Tensor:
        return x * _softplus_of(x, 1.0).tanh()


class LogSigmoid(Function):
    """z = ln σ(x) = min(x, 0) − ln(1 + e^(−|x|));  dL/dx = g·σ(−x) = g·(1 − σ(x))"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * _sigmoid(ctx.xp, -x)


class GLU(Function):
    """x split in halves a, b along dim;  z = a·σ(b);
    dL/da = g·σ(b),  dL/db = g·a·σ(b)(1 − σ(b))  (joined back along dim)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = ctx.xp
        a, b = xp.split(x, 2, axis=dim)
        s = _sigmoid(xp, b)
        ctx.save_for_backward(a, s)
        ctx.dim = dim
        return a * s

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        a, s = ctx.saved_arrays
        ga = grad * s
        return ctx.xp.concatenate([ga, ga * a * (1 - s)], axis=ctx.dim)

    @staticmethod
    def decomposition(x: Tensor, dim: int) -> Tensor:
        a, b = x.chunk(2, dim)
        return a * b.sigmoid()


class GELU(Function):
    """Exact:  z = x·Φ(x), Φ(x) = ½(1 + erf(x/√2));  dL/dx = g·(Φ(x) + x·φ(x)), φ(x) = e^(-x²/2)/√(2π)

    Tanh:   z = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³);
            dL/dx = g·(½(1 + tanh u) + ½x(1 - tanh²u)·√(2/π)(1 + 3·0.044715x²))

    The kernel ops "gelu" and "gelu_backward" (kernels/activations/) compute both forms;
    backward recomputes Φ (or tanh u) from the saved x in the same pass.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, approximate: str) -> Any:
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        return kernels.run("gelu", x, approximate=approximate)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return kernels.run("gelu_backward", x, grad, approximate=ctx.approximate)

    @staticmethod
    def decomposition(x: Tensor, approximate: str) -> Tensor:
        if approximate == "tanh":
            return 0.5 * x * (1 + ((x + KAPPA * x * x * x) * SQRT_2_OVER_PI).tanh())
        return 0.5 * x * (1 + erf(x * SQRT1_2))


class SiLU(Function):
    """z = x·σ(x);  dL/dx = g·σ(x)(1 + x(1 - σ(x)))

    The kernel ops "silu" and "silu_backward" (kernels/activations/); backward recomputes σ(x)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return kernels.run("silu", x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return kernels.run("silu_backward", x, grad)

    @staticmethod
    def decomposition(x: Tensor) -> Tensor:
        return x * x.sigmoid()


class Softplus(Function):
    """z = ln(1 + e^(βx))/β (z = x where βx > threshold);
    dL/dx = g·σ(βx) = g·(1 − e^(−βz)) (g where βx > threshold)

    (σ(βx) from the output: e^(−βz) = 1/(1 + e^(βx)); so a second backward goes through z.)"""

    @staticmethod
    def forward(ctx: Context, x: Any, beta: float, threshold: float) -> Any:
        xp = ctx.xp
        bx = beta * x
        over = bx > threshold
        z = xp.where(over, x, (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta)
        ctx.save_for_backward(over, z)
        ctx.beta = beta
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        over, z = ctx.saved_arrays
        return xp.where(over, grad, grad * -xp.expm1(-ctx.beta * z))


class Threshold(Function):
    """z = x if x > t else v;  dL/dx = g where x > t (and where x is NaN), 0 where x ≤ t"""

    @staticmethod
    def forward(ctx: Context, x: Any, threshold: float, value: float) -> Any:
        xp = ctx.xp
        below = x <= threshold  # False at NaN, as in PyTorch's kernel
        ctx.save_for_backward(below)
        return xp.where(below, xp.asarray(value).astype(x.dtype), x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (below,) = ctx.saved_arrays
        return ctx.xp.where(below, 0, grad)


class Shrink(Function):
    """hard:  z = x if |x| > λ else 0;   soft:  z = x − λ·sign(x) if |x| > λ else 0;
    both: dL/dx = g where |x| > λ (and where x is NaN), 0 for −λ ≤ x ≤ λ"""

    @staticmethod
    def forward(ctx: Context, x: Any, lambd: float, soft: bool) -> Any:
        xp = ctx.xp
        inside = (x >= -lambd) & (x <= lambd)
        ctx.save_for_backward(inside)
        if soft:
            x = xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, x))
        return xp.where(inside, 0, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (inside,) = ctx.saved_arrays
        return ctx.xp.where(inside, 0, grad)


class PReLU(Function):
    """z = x if x > 0 else a·x, a learned per channel (dim 1);
    dL/dx = g if x > 0 else a·g;   dL/da = Σ g·x over the positions where x ≤ 0"""

    @staticmethod
    def forward(ctx: Context, x: Any, a: Any) -> Any:
        pos = x > 0
        ctx.save_for_backward(x, a, pos)
        return ctx.xp.where(pos, x, a * x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        xp = ctx.xp
        x, a, pos = ctx.saved_arrays
        # the engine sums dL/da back to a's broadcast shape (1, C, 1, ...)
        return xp.where(pos, grad, a * grad), xp.where(pos, 0, grad * x)


def _float(op: str, x: Tensor) -> Tensor:
    """``x`` if it is a float tensor; PyTorch's activation kernels raise NotImplementedError on int and bool."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument 'input' must be Tensor, not {type(x).__name__}")
    if not dtypes.is_floating(x.dtype):
        raise NotImplementedError(f"{op}: not implemented for {x.dtype} input (PyTorch's kernel takes floats only)")
    return x


def _not_bool(op: str, x: Tensor) -> Tensor:
    """relu and hardtanh work on integer tensors (the result keeps their dtype) but not on bool."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument 'input' must be Tensor, not {type(x).__name__}")
    if x.dtype.kind == "b":
        raise RuntimeError(f"{op}: bool inputs are not supported")
    return x


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). ``inplace`` is accepted for PyTorch compatibility; the result is always new."""
    return ReLU.apply(_not_bool("relu", input))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    slope = as_float("leaky_relu", "negative_slope", negative_slope, "Number")
    return LeakyReLU.apply(_float("leaky_relu", input), negative_slope=slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return ELU.apply(_float("elu", input), alpha=as_float("elu", "alpha", alpha, "Number"))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    check_approximate("gelu", approximate)
    return GELU.apply(_float("gelu", input), approximate=approximate)


def check_approximate(op: str, approximate: Any) -> None:
    """gelu's ``approximate``: TypeError when not a str, RuntimeError when not "none" or "tanh" (as PyTorch)."""
    if not isinstance(approximate, str):
        raise TypeError(f"{op}: argument 'approximate' must be str, not {type(approximate).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"{op}: approximate argument must be either 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return SiLU.apply(_float("silu", input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    if autocast_state.enabled:
        (input,) = autocast_args("softplus", input)
    beta, threshold = (
        as_float("softplus", "beta", beta, "Number"),
        as_float("softplus", "threshold", threshold, "Number"),
    )
    return Softplus.apply(_float("softplus", input), beta=beta, threshold=threshold)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α(e^(x/α) − 1)); the ELU kernel with input scale 1/α."""
    x = _float("celu", input)
    alpha = as_float("celu", "alpha", alpha, "Number")
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return ELU.apply(x, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """λ·elu(x, α) with SELU's fixed α = 1.6733 and λ = 1.0507."""
    return ELU.apply(_float("selu", input), alpha=SELU_ALPHA, scale=SELU_SCALE)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    x = _not_bool("hardtanh", input)
    as_float("hardtanh", "min_val", min_val, "Number"), as_float("hardtanh", "max_val", max_val, "Number")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}")
    return Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6), with its gradient conventions."""
    return Hardtanh.apply(_not_bool("relu6", input), min_val=0.0, max_val=6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return Hardsigmoid.apply(_float("hardsigmoid", input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return Hardswish.apply(_float("hardswish", input))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return Mish.apply(_float("mish", input))


def logsigmoid(input: Tensor) -> Tensor:
    return LogSigmoid.apply(_float("logsigmoid", input))


def softsign(input: Tensor) -> Tensor:
    """z = x / (1 + |x|), composed as PyTorch composes it (div and abs);
    their backward gives dL/dx = g / (1 + |x|)² (NaN at ±inf, as in PyTorch)."""
    if input.dtype.kind == "b":
        raise NotImplementedError("softsign: not implemented for bool input (abs is not)")
    return input / (input.abs() + 1)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    x = _float("glu", input)
    if x.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    d = normalize_dim("glu", dim, x.ndim)
    if x.shape[d] % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {x.shape[d]}")
    return GLU.apply(x, dim=d)


def legacy_softmax_dim(op: str, ndim: int, warn: bool = True) -> int:
    """PyTorch's dim when softmax/softmin is called without one: 0 for 0-, 1- and 3-d input, else 1."""
    if warn:
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(−x) along dim, composed of neg and softmax; their backward gives
    dL/dx = −z ⊙ (g − Σ g·z) with z = softmin(x)."""
    from .softmax import softmax

    if not dtypes.is_floating(input.dtype) and input.dtype.kind != "c" and dtype is None:
        raise NotImplementedError(f"softmin: not implemented for {input.dtype} input")
    if dim is None:
        dim = legacy_softmax_dim("softmin", input.ndim)
    return softmax(-input, dim, dtype=dtype)


def normalize(input: Tensor, p: float = 2.0, dim: Any = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """z = x / max(‖x‖_p, eps) along dim, composed of norm, clamp and div as PyTorch composes it;
    for ‖x‖_p > eps (p = 2) their backward gives dL/dx = (g − z·Σ g·z) / ‖x‖."""
    from .reductions import norm

    if out is not None:
        raise TypeError("normalize: out= is not supported (glassgrad ops return new tensors)")
    if not dtypes.is_floating(input.dtype):
        raise RuntimeError(f"normalize: expected a floating point tensor as input, got {input.dtype}")
    with named("normalize", "norm"):
        denom = norm(input, p, dim, keepdim=True).clamp(min=as_float("normalize", "eps", eps))
    return input / denom.expand_as(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value (integer tensors keep their dtype)."""
    if isinstance(input, Tensor) and input.dtype.kind == "b":
        raise NotImplementedError("threshold: not implemented for bool input")
    as_float("threshold", "threshold", threshold, "Number"), as_float("threshold", "value", value, "Number")
    return Threshold.apply(_not_bool("threshold", input), threshold=threshold, value=value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return Shrink.apply(_float("hardshrink", input), lambd=as_float("hardshrink", "lambd", lambd, "Number"), soft=False)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    x = _float("softshrink", input)
    lambd = as_float("softshrink", "lambd", lambd, "Number")
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be non-negative, but found {lambd}")
    return Shrink.apply(x, lambd=lambd, soft=True)


def tanhshrink(input: Tensor) -> Tensor:
    """z = x − tanh x, composed as PyTorch composes it; tanh's backward gives dL/dx = g·tanh²x."""
    if input.dtype.kind == "b":
        raise NotImplementedError("tanhshrink: not implemented for bool input")
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + a·min(0, x) with ``weight`` a of 1 element or one per channel (dim 1)."""
    if autocast_state.enabled:
        input, weight = autocast_args("prelu", input, weight)
    x = _float("prelu", input)
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"prelu: type promoting not supported, got input {x.dtype} and weight {weight.dtype}")
    n = weight.numel()
    if n != 1:
        if x.ndim == 0:
            raise RuntimeError(f"prelu: not allow zero-dim input tensor with a weight of {n} elements")
        channels = x.shape[1] if x.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(
                "prelu: mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{n} and channel size = {channels}."
            )
        weight = weight.reshape(1, n, *([1] * (x.ndim - 2)))
    elif weight.ndim:
        weight = weight.reshape(())
    return PReLU.apply(x, weight)
