"""Every loss against PyTorch (forward and gradients for input and target, float32
and float64, all reductions), modules as well as F forms; bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn

from oracle import compare_with_torch

DTYPES = ["float32", "float64"]
REDUCTIONS = ["none", "mean", "sum"]


@pytest.fixture
def pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((4, 3)), rng.standard_normal((4, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.MSELoss, torch.nn.MSELoss),
        (nn.L1Loss, torch.nn.L1Loss),
        (lambda reduction: nn.HuberLoss(reduction, delta=0.7), lambda reduction: torch.nn.HuberLoss(reduction, 0.7)),
    ],
)
def test_regression_losses(ours, theirs, reduction: str, dtype: str, pair) -> None:
    compare_with_torch(ours(reduction=reduction), theirs(reduction=reduction), pair, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction: str, dtype: str, rng: np.random.Generator) -> None:
    probs, target = rng.uniform(0.05, 0.95, (5, 2)), rng.uniform(0, 1, (5, 2))
    weight = rng.uniform(0.5, 2, (2,))
    compare_with_torch(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), [probs, target], dtype)
    compare_with_torch(
        lambda x, y, w: F.binary_cross_entropy(x, y, w.detach(), reduction=reduction),
        lambda x, y, w: TF.binary_cross_entropy(x, y, w.detach(), reduction=reduction),
        [probs, target, weight],
        dtype,
    )


def test_bce_clamps_log_at_minus_100() -> None:
    x, y = gg.tensor([0.0, 1.0, 0.5]), gg.tensor([1.0, 0.0, 1.0])
    got = F.binary_cross_entropy(x, y, reduction="none").numpy()
    want = TF.binary_cross_entropy(torch.tensor([0.0, 1.0, 0.5]), torch.tensor([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)
    assert got[0] == 100


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_weight_and_pos_weight(reduction: str, dtype: str, rng: np.random.Generator) -> None:
    logits, target = 4 * rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3))
    weight, pos_weight = rng.uniform(0.5, 2, (3,)), rng.uniform(0.5, 3, (3,))
    compare_with_torch(
        lambda x, y, w, p: F.binary_cross_entropy_with_logits(x, y, w.detach(), reduction, p.detach()),
        lambda x, y, w, p: TF.binary_cross_entropy_with_logits(
            x, y, w.detach(), reduction=reduction, pos_weight=p.detach()
        ),
        [logits, target, weight, pos_weight],
        dtype,
    )
    compare_with_torch(
        nn.BCEWithLogitsLoss(reduction=reduction),
        torch.nn.BCEWithLogitsLoss(reduction=reduction),
        [logits, target],
        dtype,
    )


def test_bce_with_logits_is_stable_for_huge_logits() -> None:
    x = gg.tensor([1000.0, -1000.0, 80.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, gg.tensor([0.0, 1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000.0, 1000.0, 0.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0], atol=1e-6)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", [*REDUCTIONS, "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction: str, log_target: bool, dtype: str, rng: np.random.Generator) -> None:
    log_q = np.log(rng.dirichlet(np.ones(4), size=3))
    p = rng.dirichlet(np.ones(4), size=3)
    target = np.log(p + 1e-3) if log_target else p
    compare_with_torch(
        nn.KLDivLoss(reduction=reduction, log_target=log_target),
        torch.nn.KLDivLoss(reduction=reduction, log_target=log_target),
        [log_q, target],
        dtype,
    )


def test_kl_div_zero_target_contributes_nothing() -> None:
    """0·log 0 = 0: the loss and the input gradient match PyTorch; the target gradient
    there is 0 (PyTorch gives nan)."""
    log_q = gg.tensor(np.log([[0.2, 0.3, 0.5]]), requires_grad=True)
    p = gg.tensor([[0.0, 0.4, 0.6]], dtype=gg.float64, requires_grad=True)
    loss = F.kl_div(log_q, p, reduction="sum")
    log_q_t = torch.tensor(np.log([[0.2, 0.3, 0.5]]), requires_grad=True)
    loss_t = TF.kl_div(log_q_t, torch.tensor([[0.0, 0.4, 0.6]], dtype=torch.float64), reduction="sum")
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(log_q.grad.numpy(), log_q_t.grad.numpy(), rtol=1e-12)
    assert p.grad.numpy()[0, 0] == 0 and np.isfinite(p.grad.numpy()).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(
    reduction: str, label_smoothing: float, weighted: bool, dtype: str, rng: np.random.Generator
) -> None:
    logits = 3 * rng.standard_normal((6, 4))
    target = np.array([0, 3, 1, -100, 2, 3])  # one ignored sample
    weight = rng.uniform(0.5, 2, (4,)) if weighted else None
    kwargs = {"ignore_index": -100, "reduction": reduction, "label_smoothing": label_smoothing}
    ours = nn.CrossEntropyLoss(weight=gg.tensor(weight, dtype=getattr(gg, dtype)) if weighted else None, **kwargs)
    theirs = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(weight, dtype=getattr(torch, dtype)) if weighted else None, **kwargs
    )
    compare_with_torch(ours, theirs, [logits, target], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_ignore_index(reduction: str, dtype: str, rng: np.random.Generator) -> None:
    logits = rng.standard_normal((2, 3, 4, 5))
    target = rng.integers(0, 3, (2, 4, 5))
    target[0, 1, 2] = 1  # ignore_index below is 1: a real class ignored
    compare_with_torch(
        lambda x, y: F.cross_entropy(x, y, ignore_index=1, reduction=reduction, label_smoothing=0.1),
        lambda x, y: TF.cross_entropy(x, y, ignore_index=1, reduction=reduction, label_smoothing=0.1),
        [logits, target],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_class_probabilities(
    reduction: str, label_smoothing: float, dtype: str, rng: np.random.Generator
) -> None:
    logits, probs = rng.standard_normal((5, 4)), rng.dirichlet(np.ones(4), size=5)
    weight = rng.uniform(0.5, 2, (4,))
    compare_with_torch(
        lambda x, t, w: F.cross_entropy(x, t, w.detach(), reduction=reduction, label_smoothing=label_smoothing),
        lambda x, t, w: TF.cross_entropy(x, t, w.detach(), reduction=reduction, label_smoothing=label_smoothing),
        [logits, probs, weight],
        dtype,
    )


def test_cross_entropy_unbatched_and_gradient_is_softmax_minus_target(rng: np.random.Generator) -> None:
    compare_with_torch(
        lambda x, y: F.cross_entropy(x, y), lambda x, y: TF.cross_entropy(x, y), [rng.standard_normal(5), np.array(2)]
    )
    x = gg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = gg.tensor([0, 2, 1, 1])
    F.cross_entropy(x, y).backward()
    expected = (F.softmax(x.detach(), 1).numpy() - np.eye(3)[[0, 2, 1, 1]]) / 4
    np.testing.assert_allclose(x.grad.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction: str, dtype: str, rng: np.random.Generator) -> None:
    log_probs = np.log(rng.dirichlet(np.ones(5), size=6))
    target = np.array([4, 0, 1, 1, 7, 2])
    weight = rng.uniform(0.5, 2, (5,))
    kwargs = {"ignore_index": 7, "reduction": reduction}
    compare_with_torch(
        lambda x, y: F.nll_loss(x, y, gg.tensor(weight, dtype=getattr(gg, dtype)), **kwargs),
        lambda x, y: TF.nll_loss(x, y, torch.tensor(weight, dtype=getattr(torch, dtype)), **kwargs),
        [log_probs, target],
        dtype,
    )
    compare_with_torch(
        nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), [log_probs, target % 5], dtype
    )


def test_log_softmax_then_nll_equals_cross_entropy(rng: np.random.Generator) -> None:
    x, y = gg.tensor(rng.standard_normal((3, 4))), gg.tensor([1, 0, 3])
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, 1), y).item(), F.cross_entropy(x, y).item(), rtol=1e-12)


def test_integer_class_target_for_mse_is_promoted() -> None:
    loss = F.mse_loss(gg.tensor([1.0, 2.0]), gg.tensor([1, 4]))
    assert loss.dtype == np.float32 and loss.item() == 2.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: F.l1_loss(gg.ones(2), gg.ones(2), reduction="avg"), ValueError, "'avg' is not a valid value"),
        (lambda: nn.MSELoss(reduction="total"), ValueError, "MSELoss: 'total' is not a valid value"),
        (lambda: F.cross_entropy(gg.ones(2, 3), gg.tensor([0, 3])), IndexError, "target 3 is out of bounds for 3"),
        (lambda: F.cross_entropy(gg.ones(2, 3), gg.tensor([0, -1])), IndexError, "target -1 is out of bounds"),
        (lambda: F.cross_entropy(gg.ones(2, 3), gg.tensor([0, 1, 1])), ValueError, r"must have shape \(2,\)"),
        (lambda: F.cross_entropy(gg.ones(2, 3), gg.ones(2, 4)), ValueError, r"probability target of shape \(2, 4\)"),
        (
            lambda: F.cross_entropy(gg.ones(2, 3), gg.tensor([0, 1]), gg.ones(4)),
            ValueError,
            r"weight must be a Tensor of shape \(3,\)",
        ),
        (lambda: F.kl_div(gg.ones(2), gg.ones(2), reduction="batch"), ValueError, "'batch' is not a valid value"),
        (lambda: F.mse_loss([1.0], gg.ones(1)), TypeError, "mse_loss: input must be a Tensor, got list"),
    ],
)
def test_bad_arguments_are_rejected(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def _ones(m, *shape):
    return m.ones(*shape, dtype=m.float32)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, f: f.mse_loss(_ones(m, 2, 3), _ones(m, 4)), r"mse_loss: .*\(2, 3\) and \(4,\) don't broadcast"),
        (lambda m, f: f.l1_loss(_ones(m, 2, 3), _ones(m, 4)), r"l1_loss: .*\(2, 3\) and \(4,\) don't broadcast"),
        (lambda m, f: f.huber_loss(_ones(m, 2), _ones(m, 3)), r"huber_loss: .*\(2,\) and \(3,\) don't broadcast"),
        (lambda m, f: f.smooth_l1_loss(_ones(m, 2), _ones(m, 3)), r"smooth_l1_loss: .*don't broadcast"),
        (lambda m, f: f.kl_div(_ones(m, 2, 3), _ones(m, 4)), r"kl_div: .*don't broadcast"),
        (lambda m, f: m.nn.MSELoss()(_ones(m, 2, 3), _ones(m, 4)), r"mse_loss: .*don't broadcast"),
        (lambda m, f: f.binary_cross_entropy(_ones(m, 3) / 2, _ones(m, 3, 1)), r"binary_cross_entropy: .*\(3, 1\)"),
        (lambda m, f: f.binary_cross_entropy_with_logits(_ones(m, 3), _ones(m, 3, 1)), r"with_logits: .*\(3, 1\)"),
        (lambda m, f: f.huber_loss(_ones(m, 2), _ones(m, 2), delta=0), r"huber_loss: .*non-positive .*delta, got 0"),
        (lambda m, f: f.huber_loss(_ones(m, 2), _ones(m, 2), delta=-1.0), r"huber_loss: .*delta, got -1"),
        (lambda m, f: f.huber_loss(_ones(m, 2), _ones(m, 2), delta="a"), r"huber_loss: argument 'delta' must be float"),
        (lambda m, f: f.smooth_l1_loss(_ones(m, 2), _ones(m, 2), beta="a"), r"smooth_l1_loss: .*'beta'.*str"),
        (lambda m, f: f.binary_cross_entropy(_ones(m, 2) * 2, _ones(m, 2)), r"binary_cross_entropy: .*between 0 and 1"),
        (
            lambda m, f: f.cross_entropy(_ones(m, 2, 3), m.tensor([0, 1]), label_smoothing=1.5),
            r"cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5",
        ),
        (
            lambda m, f: f.cross_entropy(_ones(m, 2, 3), m.tensor([0, 1]), label_smoothing="a"),
            r"cross_entropy: argument 'label_smoothing' must be float, not str",
        ),
        (lambda m, f: f.nll_loss(_ones(m, 2, 3), m.tensor([0.0, 1.0])), r"nll_loss: expected target dtype .* float32"),
        (lambda m, f: f.nll_loss(_ones(m, 2, 3), _ones(m, 2, 3)), r"nll_loss: expected target dtype .* float32"),
    ],
)
@pytest.mark.filterwarnings("ignore:Using a target size", "ignore:reduction. 'mean' divides")
def test_bad_arguments_raise_what_pytorch_raises(call, message) -> None:
    with pytest.raises(Exception) as theirs:  # the type is read from torch
        call(torch, TF)
    with pytest.raises(theirs.type, match=message):
        call(gg, F)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (F.mse_loss, TF.mse_loss),
        (F.l1_loss, TF.l1_loss),
        (F.huber_loss, TF.huber_loss),
        (F.smooth_l1_loss, TF.smooth_l1_loss),
    ],
)
@pytest.mark.filterwarnings("ignore:Using a target size")  # PyTorch's own; ours starts with the op's name
def test_pointwise_losses_broadcast_with_pytorchs_warning(ours, theirs, rng: np.random.Generator) -> None:
    """(3,) against (3, 1) broadcasts to (3, 3) in PyTorch, with a UserWarning; so here, gradients included."""
    with pytest.warns(UserWarning, match="target size"):
        theirs(torch.ones(3), torch.ones(3, 1))
    with pytest.warns(UserWarning, match=r"target size \(3, 1\) that is different to the input size \(3,\)"):
        compare_with_torch(
            lambda x, y: ours(x, y, reduction="sum"),
            lambda x, y: theirs(x, y, reduction="sum"),
            [rng.standard_normal(3), rng.standard_normal((3, 1))],
            "float64",
        )
