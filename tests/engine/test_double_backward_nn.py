"""Second derivatives of softmax, the normalizations and the losses beyond the op table's entries.

These ops run kernels, so ``create_graph`` differentiates each one's ``decomposition`` (the same forward in
plain engine ops). First: every decomposition gives the forward's values, in float64, for every option
(dims, eps, weight/bias None, running statistics, reductions, ignore_index, label smoothing, class weights,
probability targets). Then the options the op table does not cover: ``gradgradcheck`` and PyTorch's
``torch.autograd.grad(..., create_graph=True)``, as tests/engine/test_double_backward.py does for the table.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.engine.function import Function
from glassgrad.engine.ops.losses import (
    AbsoluteError,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    HuberError,
    NegativeLogLikelihood,
    SmoothL1Error,
    SquaredError,
)
from glassgrad.engine.ops.normalization import BatchNorm, GroupNorm, LayerNorm, RMSNorm
from glassgrad.engine.ops.softmax import LogSoftmax, Softmax
from glassgrad.engine.recorded_backward import decomposition_call

import second_order
from op_case import OpCase, draw_inputs
from oracle import first

RNG = np.random.default_rng(7)
X3 = RNG.standard_normal((2, 3, 4))
Y3 = RNG.standard_normal((2, 3, 4))
P3 = RNG.uniform(0.05, 0.95, (2, 3, 4))
LOGITS = RNG.standard_normal((4, 3, 2))  # (N, C, d1)
CLASSES = np.array([[0, 2], [1, -100], [2, 0], [-100, 1]])  # (N, d1), two ignored (the default ignore_index)
PROBS = RNG.dirichlet(np.ones(3), (4, 2)).transpose(0, 2, 1)  # (N, C, d1), each sample's classes sum to 1
CLASS_WEIGHT = np.array([0.5, 2.0, 1.5])


def _t(a: np.ndarray, grad: bool = True) -> gg.Tensor:
    return gg.tensor(a, requires_grad=grad)


# ------------------------------------------------------------------ decompositions give the forward's values
def _assert_decomposition_matches(out: gg.Tensor, function: type[Function]) -> None:
    """The node that made ``out`` is ``function``'s; its decomposition, on the same call, gives ``out``."""
    node = out.grad_fn
    assert node is not None and node.function is function
    args, kwargs = decomposition_call(node)
    again = function.decomposition(*args, **kwargs)
    assert again.shape == out.shape and again.dtype == out.dtype
    np.testing.assert_allclose(again.array, out.array, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_decompositions_match(dim: int) -> None:
    x = _t(X3)
    _assert_decomposition_matches(F.softmax(x, dim), Softmax)
    _assert_decomposition_matches(F.log_softmax(x, dim), LogSoftmax)


def test_softmax_decomposition_of_masked_logits() -> None:
    x = gg.tensor(np.where(X3 > 1.0, -np.inf, X3), requires_grad=True)
    _assert_decomposition_matches(F.softmax(x, -1), Softmax)
    _assert_decomposition_matches(F.log_softmax(x, -1), LogSoftmax)


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize(("shape", "eps"), [((4,), 1e-5), ((3, 4), 0.1)])
def test_layer_norm_decomposition_matches(affine: str, shape: tuple[int, ...], eps: float) -> None:
    w = _t(RNG.standard_normal(shape)) if affine in ("both", "weight") else None
    b = _t(RNG.standard_normal(shape)) if affine in ("both", "bias") else None
    _assert_decomposition_matches(F.layer_norm(_t(X3), shape, w, b, eps=eps), LayerNorm)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize(("shape", "eps"), [((4,), None), ((3, 4), 0.1), ((4,), 1e-3)])
def test_rms_norm_decomposition_matches(weighted: bool, shape: tuple[int, ...], eps: float | None) -> None:
    w = _t(RNG.standard_normal(shape)) if weighted else None
    _assert_decomposition_matches(F.rms_norm(_t(X3), shape, w, eps=eps), RMSNorm)


def test_rms_norm_decomposition_of_float16_computes_in_float32() -> None:
    x = gg.tensor(X3.astype(np.float16), requires_grad=True)
    out = F.rms_norm(x, (4,))
    args, kwargs = decomposition_call(out.grad_fn)
    again = RMSNorm.decomposition(*args, **kwargs)
    assert again.dtype == np.float16
    np.testing.assert_array_equal(again.array, out.array)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(("shape", "groups", "eps"), [((2, 6, 3), 3, 1e-5), ((2, 4, 2, 2), 1, 0.1), ((3, 4), 4, 1e-5)])
def test_group_norm_decomposition_matches(affine: bool, shape: tuple[int, ...], groups: int, eps: float) -> None:
    c = shape[1]
    w, b = (_t(RNG.standard_normal(c)), _t(RNG.standard_normal(c))) if affine else (None, None)
    _assert_decomposition_matches(F.group_norm(_t(RNG.standard_normal(shape)), groups, w, b, eps=eps), GroupNorm)


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
def test_batch_norm_decomposition_matches(affine: str, training: bool, shape: tuple[int, ...]) -> None:
    w = _t(RNG.standard_normal(3)) if affine != "none" else None
    b = _t(RNG.standard_normal(3)) if affine == "both" else None
    running_mean, running_var = gg.tensor(RNG.standard_normal(3)), gg.tensor(RNG.uniform(0.5, 2.0, 3))
    out = F.batch_norm(_t(RNG.standard_normal(shape)), running_mean, running_var, w, b, training=training, eps=0.01)
    _assert_decomposition_matches(out, BatchNorm)


POINTWISE = [
    (lambda x, y: F.mse_loss(x, y, reduction="none"), SquaredError),
    (lambda x, y: F.l1_loss(x, y, reduction="none"), AbsoluteError),
    (lambda x, y: F.huber_loss(x, y, reduction="none", delta=0.7), HuberError),
    (lambda x, y: F.smooth_l1_loss(x, y, reduction="none", beta=0.7), SmoothL1Error),
    (lambda x, y: F.smooth_l1_loss(x, y, reduction="none", beta=0.0), SmoothL1Error),
]


@pytest.mark.parametrize(("loss", "function"), POINTWISE, ids=lambda p: getattr(p, "__name__", ""))
@pytest.mark.parametrize("target_shape", [(2, 3, 4), (3, 1)])
def test_pointwise_loss_decompositions_match(loss, function: type[Function], target_shape: tuple[int, ...]) -> None:
    y = _t(RNG.standard_normal(target_shape))
    with pytest.warns(UserWarning) if target_shape != X3.shape else contextlib.nullcontext():
        _assert_decomposition_matches(loss(_t(X3), y), function)


@pytest.mark.parametrize("weighted", [True, False])
def test_binary_cross_entropy_decomposition_matches(weighted: bool) -> None:
    w = gg.tensor(RNG.uniform(0.5, 2.0, (2, 3, 4))) if weighted else None
    edges = P3.copy()
    edges[0, 0, :2] = (0.0, 1.0)  # log 0 clamped at −100
    out = F.binary_cross_entropy(_t(edges), _t(P3[::-1].copy()), weight=w, reduction="none")
    _assert_decomposition_matches(out, BinaryCrossEntropy)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("pos_weighted", [True, False])
def test_binary_cross_entropy_with_logits_decomposition_matches(weighted: bool, pos_weighted: bool) -> None:
    w = gg.tensor(RNG.uniform(0.5, 2.0, (2, 3, 4))) if weighted else None
    p = gg.tensor(RNG.uniform(0.5, 2.0, (4,))) if pos_weighted else None
    out = F.binary_cross_entropy_with_logits(_t(X3 * 5), _t(P3), weight=w, reduction="none", pos_weight=p)
    _assert_decomposition_matches(out, BinaryCrossEntropyWithLogits)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_decomposition_matches(reduction: str, weighted: bool, smoothing: float, ignore_index: int):
    w = gg.tensor(CLASS_WEIGHT) if weighted else None
    x = _t(LOGITS)
    target = gg.tensor(np.where(CLASSES == -100, ignore_index, CLASSES))
    options = {"weight": w, "ignore_index": ignore_index, "reduction": reduction}
    out = F.cross_entropy(x, target, label_smoothing=smoothing, **options)
    _assert_decomposition_matches(out, CrossEntropy)
    _assert_decomposition_matches(F.nll_loss(x, target, **options), NegativeLogLikelihood)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_decomposition_with_probabilities_matches(reduction: str, weighted: bool, smoothing: float):
    w = gg.tensor(CLASS_WEIGHT) if weighted else None
    out = F.cross_entropy(_t(LOGITS), _t(PROBS), w, reduction=reduction, label_smoothing=smoothing)
    _assert_decomposition_matches(out, CrossEntropy)


def test_class_loss_decompositions_with_masked_logits_match() -> None:
    logits = np.where(np.arange(3)[None, :, None] == 1, -np.inf, LOGITS)  # class 1 masked; no target is 1
    target = gg.tensor(np.where(CLASSES == 1, 0, CLASSES))
    x = _t(logits)
    _assert_decomposition_matches(F.cross_entropy(x, target, reduction="sum"), CrossEntropy)
    _assert_decomposition_matches(F.nll_loss(x, target, reduction="none"), NegativeLogLikelihood)


# ------------------------------------------------------------------ second derivatives: the cases the op table lacks
def _const(a, values):
    """A constant (no grad) on the device of ``a``: class weights, targets, running statistics."""
    values = np.asarray(values)  # floats in float64, as the inputs
    return gg.tensor(values, device=a.device) if isinstance(a, gg.Tensor) else torch.tensor(values)


W3 = [0.5, 2.0, 1.5]
T_IDX = [[0, 2], [1, 0], [2, 2], [1, 1]]  # (N=4, d1=2) class indices for (4, 3, 2) logits
T_IGN = [[0, 2], [-1, 0], [2, -1], [1, 1]]  # two of them ignored with ignore_index=-1
PAIR = (((3, 4), (3, 4)), ((2, 3), (2, 3)))
CE_SHAPES = (((4, 3, 2),),)
PROB_SHAPES = (((4, 3, 2), (4, 3, 2)),)
BN_SHAPES = (((4, 3), (3,), (3,)), ((2, 3, 2), (3,), (3,)))


def _ce(a, target, **options):
    fn = F.cross_entropy if isinstance(a, gg.Tensor) else TF.cross_entropy
    return fn(a, _const(a, target), **options)


def _nll(a, target, log_softmax: bool = True, **options):
    lib = F if isinstance(a, gg.Tensor) else TF
    return lib.nll_loss(lib.log_softmax(a, 1) if log_softmax else a, _const(a, target), **options)


def _both(name, fn, shapes, domain=None, **options):
    """``fn`` of the two libraries' functional module (F, TF) and the inputs, with the same options."""
    return OpCase(name, lambda *a: fn(F, *a, **options), lambda *a: fn(TF, *a, **options), shapes, domain=domain)


CASES: list[OpCase] = [
    _both("mse_loss", lambda lib, a, b: lib.mse_loss(a, b), PAIR),
    _both("mse_loss_none", lambda lib, a, b: lib.mse_loss(a, b, reduction="none"), PAIR),
    _both("l1_loss_sum", lambda lib, a, b: lib.l1_loss(a, b, reduction="sum"), PAIR),
    _both("huber_loss", lambda lib, a, b: lib.huber_loss(a, b), PAIR),
    _both("huber_loss_delta_none", lambda lib, a, b: lib.huber_loss(a, b, reduction="none", delta=0.5), PAIR),
    _both("smooth_l1_loss_sum", lambda lib, a, b: lib.smooth_l1_loss(a, b, reduction="sum", beta=2.0), PAIR),
    _both(
        "binary_cross_entropy",
        lambda lib, a, b: lib.binary_cross_entropy(a, b, weight=_const(a, [0.5, 1.0, 2.0, 1.5])),
        (((3, 4), (3, 4)),),
        domain=(0.1, 0.9),
    ),
    _both(
        "binary_cross_entropy_sum", lambda lib, a, b: lib.binary_cross_entropy(a, b, reduction="sum"), PAIR, (0.1, 0.9)
    ),
    _both(
        "bce_with_logits",
        lambda lib, a, b: lib.binary_cross_entropy_with_logits(4 * a - 2, b, reduction="none"),
        PAIR,
        domain=(0.05, 0.95),
    ),
    _both(
        "bce_with_logits_weights",
        lambda lib, a, b: lib.binary_cross_entropy_with_logits(
            4 * a - 2, b, weight=_const(a, [0.5, 1.0, 2.0, 1.5]), pos_weight=_const(a, [3.0, 1.0, 0.5, 2.0])
        ),
        (((3, 4), (3, 4)),),
        domain=(0.05, 0.95),
    ),
    _both("kl_div_batchmean", lambda lib, a, b: lib.kl_div(a.log(), b, reduction="batchmean"), PAIR, (0.1, 0.9)),
    _both("kl_div_log_target", lambda lib, a, b: lib.kl_div(a, b, reduction="sum", log_target=True), PAIR),
    OpCase("cross_entropy", lambda a: _ce(a, T_IDX), lambda a: _ce(a, T_IDX), CE_SHAPES),
    OpCase(
        "cross_entropy_options",
        lambda a: _ce(a, T_IGN, weight=_const(a, W3), ignore_index=-1, label_smoothing=0.2),
        lambda a: _ce(a, T_IGN, weight=_const(a, W3), ignore_index=-1, label_smoothing=0.2),
        CE_SHAPES,
    ),
    OpCase(
        "cross_entropy_none",
        lambda a: _ce(a, T_IGN, ignore_index=-1, reduction="none"),
        lambda a: _ce(a, T_IGN, ignore_index=-1, reduction="none"),
        CE_SHAPES,
    ),
    OpCase(
        "cross_entropy_unbatched",
        lambda a: _ce(a, 2, label_smoothing=0.1),
        lambda a: _ce(a, 2, label_smoothing=0.1),
        (((4,),),),
    ),
    _both(
        "cross_entropy_probabilities",
        lambda lib, a, b: lib.cross_entropy(a, lib.softmax(b, 1), weight=_const(a, W3), label_smoothing=0.2),
        PROB_SHAPES,
    ),
    _both(
        "cross_entropy_probabilities_none",
        lambda lib, a, b: lib.cross_entropy(a, lib.softmax(b, 1), reduction="none"),
        PROB_SHAPES,
    ),
    OpCase("nll_loss", lambda a: _nll(a, T_IDX), lambda a: _nll(a, T_IDX), CE_SHAPES),
    OpCase(
        "nll_loss_options",
        lambda a: _nll(a, T_IGN, weight=_const(a, W3), ignore_index=-1, reduction="none"),
        lambda a: _nll(a, T_IGN, weight=_const(a, W3), ignore_index=-1, reduction="none"),
        CE_SHAPES,
    ),
    OpCase(
        "nll_loss_linear",
        lambda a: _nll(a, T_IGN, False, weight=_const(a, W3), ignore_index=-1),
        lambda a: _nll(a, T_IGN, False, weight=_const(a, W3), ignore_index=-1),
        CE_SHAPES,
    ),
    _both("softmax_dim1", lambda lib, a: lib.softmax(a, 1), (((2, 3, 4),),)),
    _both("log_softmax_dim2", lambda lib, a: lib.log_softmax(a, -1), (((2, 3, 4),),)),
    _both("layer_norm_no_affine", lambda lib, a: lib.layer_norm(a, (3, 4)), (((2, 3, 4),),)),
    _both("layer_norm_weight_only", lambda lib, a, w: lib.layer_norm(a, (4,), w, eps=0.1), (((3, 4), (4,)),)),
    _both("group_norm_no_affine", lambda lib, a: lib.group_norm(a, 2, eps=0.1), (((2, 4, 3),),)),
    _both("group_norm_one_group", lambda lib, a, w, b: lib.group_norm(a, 1, w, b), (((2, 3, 2, 2), (3,), (3,)),)),
    _both(
        "batch_norm_eval",
        lambda lib, a, w, b: lib.batch_norm(
            a, _const(a, [0.1, -0.3, 0.5]), _const(a, [0.7, 1.2, 2.0]), w, b, training=False, eps=0.01
        ),
        BN_SHAPES,
    ),
    _both(
        "batch_norm_training_running_stats",
        lambda lib, a: lib.batch_norm(a, _const(a, [0.0, 0.0, 0.0]), _const(a, [1.0, 1.0, 1.0]), training=True),
        (((4, 3),), ((2, 3, 2),)),
    ),
    _both("rms_norm_eps_none_3d", lambda lib, a, w: lib.rms_norm(a, (4,), w), (((2, 3, 4), (4,)),)),
]
PAIRS = [(op, i) for op in CASES for i in range(len(op.shapes))]


@pytest.mark.parametrize(("op", "index"), PAIRS, ids=[f"{op.name}-{i}" for op, i in PAIRS])
def test_second_derivatives_match_torch(op: OpCase, index: int) -> None:
    second_order.assert_match_torch(op, index, seed=400)


@pytest.mark.parametrize("op", CASES, ids=[op.name for op in CASES])
def test_gradgradcheck(op: OpCase) -> None:
    arrays = draw_inputs(op, op.shapes[0], seed=500)
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    assert gg.gradgradcheck(lambda *xs: first(op.ours(*xs)), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
