"""Loss functions, each a Function with its derivative written out.

Pointwise losses give one value l per element (d = x − y); given g = dL/dl:

    mse        l = d²                                   dL/dx = 2d · g
    l1         l = |d|                                  dL/dx = sign d · g
    huber      l = ½d² if |d| < δ else δ(|d| − ½δ)      dL/dx = clip(d, −δ, δ) · g
    smooth_l1  l = ½d²/β if |d| < β else |d| − ½β       dL/dx = clip(d/β, −1, 1) · g  (β = 0: sign d)
    bce        l = −w[y log x + (1−y) log(1−x)]         dL/dx = w(x − y) / (x(1 − x)) · g
    bce_logits l = w[(1−y)x + (1 + (p−1)y) softplus(−x)]  dL/dx = w[(py + 1 − y)σ(x) − py] · g
    kl_div     l = y(log y − x)                         dL/dx = −y · g

(mse, l1, huber, smooth_l1 and kl_div broadcast input and target as PyTorch does, the first four with
PyTorch's UserWarning when the shapes differ; shapes that don't broadcast raise RuntimeError; the two
binary cross-entropies want equal shapes, ValueError otherwise) and ``reduction`` ("none" | "mean" | "sum") is then applied with the ordinary
mean/sum ops. The class losses weight each class c of each sample n by q_nc (one-hot
of the class, smoothed, times the class weight; or the given probabilities: the
kernels' ``class_weights``, glassgrad/kernels/fused/reference.py). With logits x of
shape (N, C, ...), cross-entropy (the ``cross_entropy`` kernels, which fuse the
log-softmax) is

    l_n = −Σ_c q_nc log softmax(x)_nc,     dL/dx_nc = (softmax(x)_nc · Σ_c' q_nc' − q_nc) · g_n,

which for plain one-hot targets is the familiar (softmax − target) · g. Under
reduction="mean" the sum is divided by N·d1·... for probabilities and by Σ_n w[y_n]
over the kept targets for class indices (the number of kept targets without
``weight``): ``mean_divisor``, here, for both class losses.

A Function whose backward uses an intermediate of its forward or a kernel has a ``decomposition``:
the same forward in engine ops, what a recorded backward (``create_graph=True``) differentiates.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from ...kernels.fused.reference import class_weights, weighted_sum
from .. import backend, dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import as_float, check_broadcast
from .operands import float_operands
from .reductions import mean, sum
from .select import maximum, where
from .softmax import LogSoftmax

REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------- argument checks
def check_reduction(op: str, reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; expected one of {allowed}")


def _check_same_shape(op: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: target size {target.shape} must be the same as input size {input.shape} "
            "(as in PyTorch, this loss does not broadcast its target)"
        )


def _check_broadcast(op: str, input: Tensor, target: Tensor, warn: bool = True) -> None:
    """PyTorch's pointwise losses broadcast target against input: RuntimeError naming ``op`` and both shapes
    when they don't broadcast, and (``warn``) its UserWarning when they broadcast but differ, the usual sign
    of a (N,) vs (N, 1) slip."""
    check_broadcast(op, input, target)
    if warn and input.shape != target.shape:
        warnings.warn(
            f"{op}: using a target size {target.shape} that is different to the input size {input.shape}; "
            "this will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def _check_tensor(op: str, **values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


# ---------------------------------------------------------------- pointwise losses
class SquaredError(Function):
    """z = (x − y)²;  dL/dx = 2(x − y) · g,  dL/dy = −2(x − y) · g"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        d = x - y
        ctx.save_for_backward(d)
        return d * d

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (d,) = ctx.saved_arrays
        g = 2 * d * grad
        return g, -g

    @staticmethod
    def decomposition(x: Tensor, y: Tensor) -> Tensor:
        """z = d · d,  d = x − y"""
        d = x - y
        return d * d


class AbsoluteError(Function):
    """z = |x − y|;  dL/dx = sign(x − y) · g,  dL/dy = −sign(x − y) · g  (0 at the kink, as PyTorch)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        d = x - y
        ctx.save_for_backward(d)
        return ctx.xp.abs(d)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (d,) = ctx.saved_arrays
        g = ctx.xp.sign(d) * grad
        return g, -g

    @staticmethod
    def decomposition(x: Tensor, y: Tensor) -> Tensor:
        """z = |x − y|"""
        return (x - y).abs()


class HuberError(Function):
    """z = ½d² if |d| < δ else δ(|d| − ½δ), d = x − y;  dL/dx = clip(d, −δ, δ) · g = −dL/dy"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, delta: float) -> Any:
        xp = ctx.xp
        d = x - y
        ctx.save_for_backward(d)
        ctx.delta = delta
        a = xp.abs(d)
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (d,) = ctx.saved_arrays
        g = ctx.xp.clip(d, -ctx.delta, ctx.delta) * grad
        return g, -g

    @staticmethod
    def decomposition(x: Tensor, y: Tensor, delta: float) -> Tensor:
        """z = ½d² if |d| < δ else δ(|d| − ½δ),  d = x − y"""
        d = x - y
        a = d.abs()
        return where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


class SmoothL1Error(Function):
    """z = ½d²/β if |d| < β else |d| − ½β, d = x − y;  dL/dx = g · (d/β if |d| < β else sign d) = −dL/dy
    (β = 0 is the L1 loss, with gradient 0 at d = 0 as PyTorch)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, beta: float) -> Any:
        xp = ctx.xp
        d = x - y
        ctx.save_for_backward(d)
        ctx.beta = beta
        a = xp.abs(d)
        if beta == 0:
            return a
        return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        (d,) = ctx.saved_arrays
        slope = xp.sign(d) if ctx.beta == 0 else xp.where(xp.abs(d) < ctx.beta, d / ctx.beta, xp.sign(d))
        g = slope * grad
        return g, -g

    @staticmethod
    def decomposition(x: Tensor, y: Tensor, beta: float) -> Tensor:
        """z = ½d²/β if |d| < β else |d| − ½β,  d = x − y  (β = 0: |d|)"""
        d = x - y
        a = d.abs()
        return a if beta == 0 else where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


class BinaryCrossEntropy(Function):
    """z = −w[y·log x + (1−y)·log(1−x)], each log clamped at −100 as PyTorch;
    dL/dx = w(x − y) / max(x(1 − x), 1e-12) · g,  dL/dy = w[log(1−x) − log x] · g"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, weight: Any) -> Any:
        xp = ctx.xp
        with np.errstate(divide="ignore"):  # log 0 = -inf, clamped just below
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        ctx.save_for_backward(x, y, weight, log_x, log_1mx)
        loss = -(y * log_x + (1 - y) * log_1mx)
        return loss if weight is None else weight * loss

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, y, weight, log_x, log_1mx = ctx.saved_arrays
        g = grad if weight is None else grad * weight
        dx = g * (x - y) / ctx.xp.maximum(x * (1 - x), 1e-12)
        dy = g * (log_1mx - log_x)
        return dx, dy, None

    @staticmethod
    def decomposition(x: Tensor, y: Tensor, weight: Tensor | None) -> Tensor:
        """z = −w[y·max(log x, −100) + (1−y)·max(log(1−x), −100)]  (w a constant, as in backward)"""
        with np.errstate(divide="ignore"):
            log_x = maximum(x.log(), -100)
            log_1mx = maximum((-x).log1p(), -100)
        loss = -(y * log_x + (1 - y) * log_1mx)
        return loss if weight is None else weight.detach() * loss


def _softplus(xp: Any, x: Any) -> Any:
    """log(1 + eˣ) without overflow: max(x, 0) + log1p(e^−|x|)."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class BinaryCrossEntropyWithLogits(Function):
    """z = w[(1−y)x + (1 + (p−1)y)·softplus(−x)]  (= −w[p·y·log σ(x) + (1−y)·log(1−σ(x))]);
    dL/dx = w[(p·y + 1 − y)σ(x) − p·y] · g,  dL/dy = w[p·softplus(−x) − softplus(x)] · g"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, weight: Any, pos_weight: Any) -> Any:
        xp = ctx.xp
        p = 1 if pos_weight is None else pos_weight
        sp_neg = _softplus(xp, -x)
        ctx.save_for_backward(x, y, weight, pos_weight, sp_neg)
        loss = (1 - y) * x + (1 + (p - 1) * y) * sp_neg
        return loss if weight is None else weight * loss

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        x, y, weight, pos_weight, sp_neg = ctx.saved_arrays
        p = 1 if pos_weight is None else pos_weight
        g = grad if weight is None else grad * weight
        sigma = xp.exp(-_softplus(xp, -x))
        dx = g * ((p * y + 1 - y) * sigma - p * y)
        dy = g * (p * sp_neg - (sp_neg + x))  # softplus(x) = x + softplus(−x)
        return dx, dy, None, None

    @staticmethod
    def decomposition(x: Tensor, y: Tensor, weight: Tensor | None, pos_weight: Tensor | None) -> Tensor:
        """z = w[(1−y)x + (1 + (p−1)y)·softplus(−x)],  softplus(−x) = max(−x, 0) + log(1 + e^−|x|)
        (w and p constants, as in backward)"""
        p = 1 if pos_weight is None else pos_weight.detach()
        sp_neg = maximum(-x, 0) + (-x.abs()).exp().log1p()
        loss = (1 - y) * x + (1 + (p - 1) * y) * sp_neg
        return loss if weight is None else weight.detach() * loss


class KLDivergence(Function):
    """Pointwise KL term with x = log q (the input) and target y:
    log_target=False: z = y(log y − x) (0 where y = 0);  dL/dx = −y · g,  dL/dy = (log y + 1 − x) · g
                      (dL/dy is taken as 0 where y = 0, where PyTorch gives nan)
    log_target=True:  z = eʸ(y − x);                     dL/dx = −eʸ · g,  dL/dy = eʸ(y − x + 1) · g"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, log_target: bool) -> Any:
        xp = ctx.xp
        ctx.log_target = log_target
        ctx.save_for_backward(x, y)
        if log_target:
            return xp.exp(y) * (y - x)
        positive = y > 0
        log_y = xp.log(xp.where(positive, y, 1))
        return xp.where(positive, y * (log_y - x), 0)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        x, y = ctx.saved_arrays
        if ctx.log_target:
            e = xp.exp(y)
            return -e * grad, e * (y - x + 1) * grad
        positive = y > 0
        log_y = xp.log(xp.where(positive, y, 1))
        return -y * grad, xp.where(positive, (log_y + 1 - x) * grad, 0)


# ------------------------------------------------------------------ class losses
def mean_divisor(xp: Any, shape: tuple[int, ...], target: Any, weight: Any, ignore_index: int, dtype: Any) -> Any:
    """What reduction="mean" divides the summed loss by, for logits of ``shape`` (N, C, d1, ...):
    N·d1·... for probability targets; Σ_n w[y_n] over the targets y_n ≠ ignore_index for class
    indices (their number when ``weight`` is None), in ``dtype``."""
    if dtypes.is_floating(target.dtype):
        return max(int(np.prod(shape)) // shape[1], 1)
    kept = target != ignore_index
    if weight is None:
        return kept.sum(dtype=dtype)
    return (weight[xp.where(kept, target, 0)] * kept).sum(dtype=dtype)


def _reduced(ctx: Context, loss: Any) -> Any:
    """Apply ``ctx.reduction`` to per-sample losses (N, d1, ...)."""
    if ctx.reduction == "none":
        return loss
    total = loss.sum()
    return total / ctx.divisor if ctx.reduction == "mean" else total


def _class_loss_decomposition(
    log_p: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, reduction: str, label_smoothing: float
) -> Tensor:
    """l_n = −Σ_c q_nc · log p_nc, reduced; q = ``class_weights``: a constant for class indices (a weight-0
    class adds 0, even at log p = −∞), w_c((1 − ε) t_nc + ε/C) for probabilities t (differentiable in t)"""
    shape, dtype = log_p.shape, log_p.dtype
    w = None if weight is None else weight.array
    if dtypes.is_floating(target.dtype):
        w_c = 1 if weight is None else weight.reshape((1, shape[1]) + (1,) * (len(shape) - 2))
        loss = -(w_c * ((1 - label_smoothing) * target + label_smoothing / shape[1]) * log_p).sum(dim=1)
    else:
        xp = backend.xp_of(log_p.array)
        q = Tensor(class_weights(xp, shape, target.array, w, ignore_index, label_smoothing, dtype))
        with np.errstate(invalid="ignore"):  # 0 · (−∞), then replaced by 0
            loss = -where(q != 0, q * log_p, 0).sum(dim=1)
    if reduction == "none":
        return loss
    total = loss.sum()
    divisor = mean_divisor(backend.xp_of(log_p.array), shape, target.array, w, ignore_index, dtype)
    return total / float(divisor) if reduction == "mean" else total


def _loss_grad(ctx: Context, grad: Any) -> Any:
    """dL/dl_n: ``grad`` per sample (N, d1, ...) for reduction="none", else one value (for "mean"
    divided by ``ctx.divisor``)."""
    return ctx.xp.asarray(grad / ctx.divisor) if ctx.reduction == "mean" else grad


class NegativeLogLikelihood(Function):
    """l_n = −Σ_c q_nc · x_nc with x = log-probabilities (q: ``class_weights``, w[y_n] at the target class,
    0 for an ignored target);  dL/dx_nc = −q_nc · g_n"""

    @staticmethod
    def forward(ctx: Context, x: Any, target: Any, weight: Any, ignore_index: int, reduction: str) -> Any:
        xp = ctx.xp
        q = class_weights(xp, x.shape, target, weight, ignore_index, 0.0, x.dtype)
        ctx.reduction = reduction
        ctx.divisor = mean_divisor(xp, x.shape, target, weight, ignore_index, x.dtype)
        ctx.save_for_backward(q)
        return _reduced(ctx, -weighted_sum(xp, q, x, probabilities=False))  # a weight-0 class adds 0, even at -inf

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (q,) = ctx.saved_arrays
        g = _loss_grad(ctx, grad)
        return -q * (ctx.xp.expand_dims(g, 1) if ctx.reduction == "none" else g), None, None

    @staticmethod
    def decomposition(x: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, reduction: str) -> Tensor:
        """l_n = −Σ_c q_nc · x_nc, reduced (``_class_loss_decomposition`` with ε = 0)"""
        return _class_loss_decomposition(x, target, weight, ignore_index, reduction, 0.0)


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over the class dim 1 (q: ``class_weights``):
    l_n = −Σ_c q_nc · log softmax(x)_nc;  dL/dx_nc = (softmax(x)_nc · Σ_c' q_nc' − q_nc) · g_n
    (= (softmax − one_hot) · g for plain targets); for probability targets t,
    dL/dt_nc = −(1 − ε) · w_c · log softmax(x)_nc · g_n"""

    @staticmethod
    def forward(
        ctx: Context, x: Any, target: Any, weight: Any, ignore_index: int, reduction: str, label_smoothing: float
    ) -> Any:
        loss, lse = kernels.run(
            "cross_entropy", x, target, ignore_index=ignore_index, weight=weight, label_smoothing=label_smoothing
        )
        ctx.save_for_backward(x, target, lse, weight)
        ctx.ignore_index, ctx.label_smoothing, ctx.reduction = ignore_index, label_smoothing, reduction
        ctx.divisor = mean_divisor(ctx.xp, x.shape, target, weight, ignore_index, x.dtype)
        return _reduced(ctx, loss)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, target, lse, weight = ctx.saved_arrays
        g = _loss_grad(ctx, grad)
        options = {"ignore_index": ctx.ignore_index, "weight": weight, "label_smoothing": ctx.label_smoothing}
        dx, dtarget = kernels.run("cross_entropy_backward", x, target, lse, g, **options)
        return dx, dtarget, None

    @staticmethod
    def decomposition(
        x: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, reduction: str, label_smoothing: float
    ) -> Tensor:
        """l_n = −Σ_c q_nc · log softmax(x)_nc over dim 1, reduced (``_class_loss_decomposition``)"""
        log_p = LogSoftmax.decomposition(x, 1)
        return _class_loss_decomposition(log_p, target, weight, ignore_index, reduction, label_smoothing)


# ------------------------------------------------------------ functional forms
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((x − y)²)."""
    if autocast_state.enabled:
        input, target = autocast_args("mse_loss", input, target)
    _check_tensor("mse_loss", input=input, target=target)
    check_reduction("mse_loss", reduction)
    _check_broadcast("mse_loss", input, target)
    return _reduce(SquaredError.apply(*float_operands("mse_loss", input, target)), reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|x − y|)."""
    if autocast_state.enabled:
        input, target = autocast_args("l1_loss", input, target)
    _check_tensor("l1_loss", input=input, target=target)
    check_reduction("l1_loss", reduction)
    _check_broadcast("l1_loss", input, target)
    return _reduce(AbsoluteError.apply(*float_operands("l1_loss", input, target)), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Quadratic for |x − y| < delta, linear beyond."""
    if autocast_state.enabled:
        input, target = autocast_args("huber_loss", input, target)
    _check_tensor("huber_loss", input=input, target=target)
    check_reduction("huber_loss", reduction)
    _check_broadcast("huber_loss", input, target)
    delta = as_float("huber_loss", "delta", delta)
    if not delta > 0:
        raise RuntimeError(f"huber_loss: does not support non-positive values for delta, got {delta}")
    return _reduce(HuberError.apply(*float_operands("huber_loss", input, target), delta=delta), reduction)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: None = None,
    reduce: None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Quadratic ½d²/beta for |d| < beta, linear |d| − ½beta beyond (d = x − y); beta = 0 is L1.
    ``size_average`` and ``reduce`` are PyTorch's deprecated arguments, kept for their positions."""
    if autocast_state.enabled:
        input, target = autocast_args("smooth_l1_loss", input, target)
    _check_tensor("smooth_l1_loss", input=input, target=target)
    if size_average is not None or reduce is not None:
        raise ValueError("smooth_l1_loss: size_average and reduce are deprecated; use reduction=")
    check_reduction("smooth_l1_loss", reduction)
    _check_broadcast("smooth_l1_loss", input, target)
    if not dtypes.is_floating(input.dtype):
        raise NotImplementedError(f"smooth_l1_loss: not implemented for {input.dtype} input")
    beta = as_float("smooth_l1_loss", "beta", beta)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: does not support negative values for beta, got {beta}")
    x, y = float_operands("smooth_l1_loss", input, target)
    return _reduce(SmoothL1Error.apply(x, y, beta=beta), reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """−[y log x + (1−y) log(1−x)] for probabilities x in [0, 1]."""
    if autocast_state.enabled:
        input, target, weight = autocast_args("binary_cross_entropy", input, target, weight)
    _check_tensor("binary_cross_entropy", input=input, target=target)
    check_reduction("binary_cross_entropy", reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    x, y, w = float_operands("binary_cross_entropy", input, target, weight)
    if x.numel() and (float(x.array.min()) < 0 or float(x.array.max()) > 1):
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1, got values in "
            f"[{float(x.array.min())}, {float(x.array.max())}]"
        )
    return _reduce(BinaryCrossEntropy.apply(x, y, w), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable step (never forms log σ(x) directly)."""
    if autocast_state.enabled:
        input, target, weight, pos_weight = autocast_args(
            "binary_cross_entropy_with_logits", input, target, weight, pos_weight
        )
    op = "binary_cross_entropy_with_logits"
    _check_tensor(op, input=input, target=target)
    check_reduction(op, reduction)
    _check_same_shape(op, input, target)
    x, y, w, p = float_operands(op, input, target, weight, pos_weight)
    return _reduce(BinaryCrossEntropyWithLogits.apply(x, y, w, p), reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target ‖ exp(input)) pointwise; ``input`` holds log-probabilities.
    reduction="batchmean" divides the sum by the batch size (the true KL per sample)."""
    if autocast_state.enabled:
        input, target = autocast_args("kl_div", input, target)
    _check_tensor("kl_div", input=input, target=target)
    check_reduction("kl_div", reduction, (*REDUCTIONS, "batchmean"))
    _check_broadcast("kl_div", input, target, warn=False)
    loss = KLDivergence.apply(*float_operands("kl_div", input, target), log_target=bool(log_target))
    if reduction == "batchmean":
        return sum(loss) / input.shape[0] if input.ndim else sum(loss)
    return _reduce(loss, reduction)


def _class_loss(
    op: str,
    function: type[Function],
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """Check the arguments of cross_entropy / nll_loss and apply the fused op.

    input (N, C, d1, ...) or (C,); target class indices (N, d1, ...) / () or, for
    cross_entropy only, probabilities shaped like input.
    """
    _check_tensor(op, input=input, target=target)
    check_reduction(op, reduction)
    if not dtypes.is_floating(input.dtype):  # PyTorch has no integer log-softmax or nll kernel
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} input; the input must be floating point")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dim (C,) or (N, C, ...), got a 0-d tensor")
    label_smoothing = as_float(op, "label_smoothing", label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    classes = input.shape[1]
    probabilities = dtypes.is_floating(target.dtype)
    if probabilities:
        if function is NegativeLogLikelihood:
            raise RuntimeError(f"{op}: expected target dtype to be int64 (Long) or uint8 (Byte), got {target.dtype}")
        if target.shape != input.shape:
            raise ValueError(f"{op}: probability target of shape {target.shape} must match input shape {input.shape}")
    else:
        expected = (input.shape[0], *input.shape[2:])
        if dtypes.category(target.dtype) != 1:
            raise TypeError(f"{op}: target must be class indices (int64) or probabilities (float), got {target.dtype}")
        if target.shape != expected:
            raise ValueError(
                f"{op}: for input of shape {input.shape} the class-index target must have shape {expected}, "
                f"got {target.shape}"
            )
        # Checked on the cpu only: on cuda reading the targets back would stall every
        # training step on a device-to-host copy (PyTorch checks there with an asynchronous
        # device-side assert; out-of-range targets then give a zero one-hot row here).
        kept = target.array[target.array != ignore_index] if target.device == "cpu" else target.array[:0]
        if kept.size and (int(kept.min()) < 0 or int(kept.max()) >= classes):
            bad = int(kept.min()) if int(kept.min()) < 0 else int(kept.max())
            raise IndexError(f"{op}: target {bad} is out of bounds for {classes} classes")
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape != (classes,)):
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"{op}: weight must be a Tensor of shape ({classes},), got {shape}")
    if probabilities:
        x, target, w = float_operands(op, input, target, weight)
    else:
        x, w = float_operands(op, input, weight)
    options = {"ignore_index": int(ignore_index), "reduction": reduction}
    if function is CrossEntropy:
        options["label_smoothing"] = label_smoothing
    loss = function.apply(x, target, None if w is None else w.detach(), **options)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C, ...) against class indices or probabilities."""
    if autocast_state.enabled:
        input, target, weight = autocast_args("cross_entropy", input, target, weight)
    return _class_loss("cross_entropy", CrossEntropy, input, target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices ``target``."""
    if autocast_state.enabled:
        input, weight = autocast_args("nll_loss", input, weight)
    return _class_loss("nll_loss", NegativeLogLikelihood, input, target, weight, ignore_index, reduction, 0.0)
