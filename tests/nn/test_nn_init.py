"""nn.init: fans and gains as PyTorch computes them, and the statistics of each
initialiser (mean/std/range within sampling tolerance), seeded draws, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn
from glassgrad.nn import init


@pytest.mark.parametrize("shape", [(7, 3), (16, 8, 3, 3), (4, 2, 5), (2, 3, 1, 2, 2)])
def test_fans_match_torch(shape: tuple[int, ...]) -> None:
    ours = init._calculate_fan_in_and_fan_out(gg.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_gains_match_torch(nonlinearity: str, param) -> None:
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


SHAPE = (256, 128, 3)  # fan_in 384, fan_out 768: ~98k samples, so std is within ~1%


@pytest.mark.parametrize(
    ("fill", "mean", "std", "bound"),
    [
        (lambda t: init.uniform_(t, -2, 4), 1.0, 6 / math.sqrt(12), (-2, 4)),
        (lambda t: init.normal_(t, 0.5, 2.0), 0.5, 2.0, None),
        (lambda t: init.xavier_uniform_(t, gain=2.0), 0.0, 2 * math.sqrt(2 / (384 + 768)), None),
        (lambda t: init.xavier_normal_(t), 0.0, math.sqrt(2 / (384 + 768)), None),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), 0.0, math.sqrt(2 / 384), None),
        (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), 0.0, math.sqrt(2 / 768), None),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 0.0, 1 / math.sqrt(384) / math.sqrt(3), None),
    ],
)
def test_initialiser_statistics(fill, mean: float, std: float, bound) -> None:
    t = nn.Parameter(gg.empty(*SHAPE))
    assert fill(t) is t
    values = t.detach().numpy()
    assert abs(values.mean() - mean) < 0.02 * max(std, 1e-3) * 3 + 1e-3
    assert abs(values.std() - std) < 0.015 * std
    if bound is not None:
        assert values.min() >= bound[0] and values.max() <= bound[1]


def test_uniform_bounds_are_sqrt3_times_std() -> None:
    t = init.xavier_uniform_(gg.empty(50, 30))
    limit = math.sqrt(6 / 80)
    assert np.abs(t.numpy()).max() <= limit and np.abs(t.numpy()).max() > 0.98 * limit


def test_constant_fills_and_dtype_is_kept() -> None:
    t = gg.empty(3, 2, dtype=gg.float64)
    assert init.constant_(t, 2.5).numpy().tolist() == [[2.5, 2.5]] * 3 and t.dtype == np.float64
    assert init.ones_(t).numpy().min() == 1 and init.zeros_(t).numpy().max() == 0


def test_init_works_on_parameters_that_require_grad() -> None:
    weight = nn.Linear(3, 3).weight
    init.xavier_normal_(weight)
    assert weight.requires_grad and weight.grad_fn is None


def test_draws_follow_manual_seed() -> None:
    gg.manual_seed(5)
    a = init.kaiming_normal_(gg.empty(4, 4)).numpy().copy()
    gg.manual_seed(5)
    np.testing.assert_array_equal(a, init.kaiming_normal_(gg.empty(4, 4)).numpy())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="fewer than 2 dimensions, got shape \\(5,\\)"):
        init.xavier_uniform_(gg.empty(5))
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        init.kaiming_uniform_(gg.empty(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="expects std >= 0"):
        init.normal_(gg.empty(2), std=-1)
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        init.zeros_(np.zeros(2))
