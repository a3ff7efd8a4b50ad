"""Finite-difference gradchecks (float64, tiny shapes) of the nn engine ops:
batch/layer/group norm (closed-form backward), dropout, embedding and every loss."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F


def leaf(rng: np.random.Generator, *shape: int, low: float | None = None, high: float | None = None) -> gg.Tensor:
    values = rng.standard_normal(shape) if low is None else rng.uniform(low, high, shape)
    return gg.tensor(values, dtype=gg.float64, requires_grad=True)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training: bool, rng: np.random.Generator) -> None:
    x, w, b = leaf(rng, 3, 2, 2), leaf(rng, 2), leaf(rng, 2)
    mean, var = gg.tensor(rng.standard_normal(2)), gg.tensor(rng.uniform(0.5, 2, 2))

    def fn(x: gg.Tensor, w: gg.Tensor, b: gg.Tensor) -> gg.Tensor:
        # running stats are copies, so the check's repeated calls don't drift them
        return F.batch_norm(x, mean.clone(), var.clone(), w, b, training=training)

    assert gg.gradcheck(fn, (x, w, b))


def test_layer_norm_gradcheck(rng: np.random.Generator) -> None:
    x, w, b = leaf(rng, 2, 3, 4), leaf(rng, 3, 4), leaf(rng, 3, 4)
    assert gg.gradcheck(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), (x, w, b))
    assert gg.gradcheck(lambda x: F.layer_norm(x, 4), (x,))


def test_group_norm_gradcheck(rng: np.random.Generator) -> None:
    x, w, b = leaf(rng, 2, 4, 3), leaf(rng, 4), leaf(rng, 4)
    assert gg.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))


def test_dropout_gradcheck_with_a_fixed_mask(rng: np.random.Generator) -> None:
    x = leaf(rng, 4, 5)

    def fn(x: gg.Tensor) -> gg.Tensor:
        gg.manual_seed(11)  # the same mask on every call
        return F.dropout(x, 0.4)

    assert gg.gradcheck(fn, (x,))


def test_embedding_gradcheck_with_repeated_rows(rng: np.random.Generator) -> None:
    """(padding_idx deliberately withholds a gradient, so it is tested in tests/nn, not here.)"""
    weight = leaf(rng, 5, 3)
    index = gg.tensor([[0, 2, 2], [4, 0, 1]])
    assert gg.gradcheck(lambda w: F.embedding(index, w), (weight,))


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, y: F.mse_loss(x, y),
        lambda x, y: F.l1_loss(x, y, reduction="sum"),
        lambda x, y: F.huber_loss(x, y, reduction="none", delta=0.5),
        lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=gg.tensor([2.0, 0.5, 1.0])),
        lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid(), weight=gg.tensor([2.0, 0.5, 1.0])),
        lambda x, y: F.kl_div(x, y.softmax(-1), reduction="batchmean"),
        lambda x, y: F.kl_div(x, y, reduction="sum", log_target=True),
        lambda x, y: F.cross_entropy(x, y.softmax(-1), weight=gg.tensor([1.0, 2.0, 0.5]), label_smoothing=0.1),
    ],
)
def test_pointwise_and_probability_losses_gradcheck(loss, rng: np.random.Generator) -> None:
    x, y = leaf(rng, 4, 3), leaf(rng, 4, 3)
    assert gg.gradcheck(loss, (x, y))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_class_index_losses_gradcheck(reduction: str, rng: np.random.Generator) -> None:
    x = leaf(rng, 3, 4, 2)
    target = gg.tensor([[0, 3], [1, -100], [2, 2]])
    weight = gg.tensor([1.0, 2.0, 0.5, 1.5], dtype=gg.float64)
    assert gg.gradcheck(lambda x: F.cross_entropy(x, target, weight, reduction=reduction, label_smoothing=0.2), (x,))
    assert gg.gradcheck(lambda x: F.nll_loss(x, target, weight, reduction=reduction), (x,))
