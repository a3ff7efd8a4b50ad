"""Layers against their PyTorch twins (same weights): forward, input and parameter
gradients in float32 and float64; default initialisation; bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn

from torch_twin import check_twins

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(dtype: str, bias: bool, rng: np.random.Generator) -> None:
    check_twins(nn.Linear(5, 3, bias=bias), torch.nn.Linear(5, 3, bias=bias), rng.standard_normal((4, 2, 5)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("make", "make_torch"),
    [
        (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
        (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
        (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
        (lambda: nn.GELU(), lambda: torch.nn.GELU()),
        (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
        (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
        (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
        (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
        (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
        (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
        (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
        (lambda: nn.Flatten(0, 1), lambda: torch.nn.Flatten(0, 1)),
        (lambda: nn.Unflatten(1, (2, 3)), lambda: torch.nn.Unflatten(1, (2, 3))),
        (lambda: nn.Identity(), lambda: torch.nn.Identity()),
    ],
)
def test_parameter_free_layers_match_torch(make, make_torch, dtype: str, rng: np.random.Generator) -> None:
    check_twins(make(), make_torch(), rng.standard_normal((3, 6, 2)), dtype)


def test_softmax_without_dim_follows_torch_legacy_rule(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 4))
    got = nn.Softmax()(gg.tensor(x)).numpy()
    np.testing.assert_allclose(got, torch.softmax(torch.tensor(x), dim=0).numpy(), atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequential_mlp_matches_torch(dtype: str, rng: np.random.Generator) -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    twin = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    )
    check_twins(model, twin, rng.standard_normal((6, 4)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_matches_torch_with_repeats_and_padding(dtype: str) -> None:
    index = np.array([[1, 2, 1, 0], [4, 1, 0, 3]])
    check_twins(nn.Embedding(5, 3, padding_idx=0), torch.nn.Embedding(5, 3, padding_idx=0), index, dtype)


def test_embedding_padding_row_is_zero_and_gets_no_gradient() -> None:
    emb = nn.Embedding(4, 2, padding_idx=-1)
    assert emb.padding_idx == 3
    np.testing.assert_array_equal(emb.weight.detach().numpy()[3], 0)
    emb(gg.tensor([3, 3, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[3], 0)
    np.testing.assert_array_equal(emb.weight.grad.numpy()[1], 1)


def test_embedding_rejects_bad_indices() -> None:
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="index 4 is out of range for num_embeddings 4"):
        emb(gg.tensor([0, 4]))
    with pytest.raises(RuntimeError, match="integer indices"):
        emb(gg.tensor([0.0, 1.0]))
    with pytest.raises(AssertionError, match="padding_idx 5"):
        nn.Embedding(4, 2, padding_idx=5)


def test_dropout_train_and_eval() -> None:
    drop = nn.Dropout(0.25)
    x = gg.ones(400, 50, requires_grad=True)
    y = drop(x)
    values = np.unique(y.detach().numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.75])
    kept = (y.detach().numpy() != 0).mean()
    assert abs(kept - 0.75) < 0.01
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # d/dx = mask / (1 - p)
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(1.0)(x).detach().numpy().max() == 0


def test_dropout_is_reproducible_under_manual_seed() -> None:
    gg.manual_seed(7)
    a = nn.functional.dropout(gg.ones(10, 10), 0.5).numpy()
    gg.manual_seed(7)
    b = nn.functional.dropout(gg.ones(10, 10), 0.5).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.5, "half"])
def test_dropout_rejects_bad_probability(p) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout: probability"):
        nn.functional.dropout(gg.ones(2), p)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(lambda: nn.Linear(300, 200), (200, 300)), (lambda: nn.Conv2d(16, 32, 3), (32, 16, 3, 3))],
)
def test_default_init_is_pytorchs(layer, shape) -> None:
    """W and b ~ U(±1/√fan_in): the range is right and the variance is bound²/3."""
    module = layer()
    fan_in = math.prod(shape[1:])
    bound = 1 / math.sqrt(fan_in)
    w = module.weight.detach().numpy()
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    b = module.bias.detach().numpy()
    assert np.abs(b).max() <= bound


def test_init_is_seeded() -> None:
    gg.manual_seed(3)
    a = nn.Linear(4, 4).weight.detach().numpy().copy()
    gg.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(4, 4).weight.detach().numpy())


def test_linear_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Linear: in_features must be a positive integer, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(RuntimeError, match=r"Linear: input of shape \(2, 4\) and weight of shape \(3, 5\)"):
        nn.Linear(5, 3)(gg.ones(2, 4))  # RuntimeError as PyTorch, naming the module


def test_layers_with_float64_dtype_argument() -> None:
    assert nn.Linear(2, 3, dtype=gg.float64).weight.dtype == np.float64
    assert nn.Conv2d(1, 2, 3, dtype=gg.float64).bias.dtype == np.float64
