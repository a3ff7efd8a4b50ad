"""Conv1d/Conv2d (stride, padding incl. "same"/"valid", dilation, groups, bias) and
the pooling modules against PyTorch twins. The convolution and pooling ops are
engineer C's (engine/ops/conv.py, pooling.py); these module tests run once they exist."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn

from torch_twin import check_twins

DTYPES = ["float32", "float64"]
CONV2D_CASES = [
    {"kernel_size": 3},
    {"kernel_size": (2, 3), "stride": 2, "padding": 1, "bias": False},
    {"kernel_size": 3, "padding": "same", "dilation": 2},
    {"kernel_size": (2, 4), "padding": "same"},  # uneven "same": one more zero after
    {"kernel_size": 3, "padding": "valid", "groups": 2},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CONV2D_CASES)
def test_conv2d_matches_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    check_twins(nn.Conv2d(4, 6, **options), torch.nn.Conv2d(4, 6, **options), rng.standard_normal((2, 4, 7, 6)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options", [{"kernel_size": 3}, {"kernel_size": 4, "padding": "same"}, {"kernel_size": 2, "stride": 2, "groups": 2}]
)
def test_conv1d_matches_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    check_twins(nn.Conv1d(2, 4, **options), torch.nn.Conv1d(2, 4, **options), rng.standard_normal((3, 2, 9)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2)),
        (lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: torch.nn.MaxPool2d(3, stride=2, padding=1)),
        (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2)),
        (lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: torch.nn.AdaptiveAvgPool2d((2, 3))),
        (lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1)),
    ],
)
def test_pooling_matches_torch(ours, theirs, dtype: str, rng: np.random.Generator) -> None:
    check_twins(ours(), theirs(), rng.standard_normal((2, 3, 6, 6)), dtype)


def test_mnist_cnn_shape_and_parameter_count() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
    )  # fmt: skip
    assert sum(p.numel() for p in model.parameters()) == 93_322
    assert model(gg.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_conv_constructor_checks() -> None:
    with pytest.raises(ValueError, match=r"in_channels \(3\) and out_channels \(4\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be 'same', 'valid' or ints"):
        nn.Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 2 ints >= 1"):
        nn.Conv2d(1, 1, (3, 3, 3))
    with pytest.raises(ValueError, match="padding_mode must be 'zeros'"):
        nn.Conv1d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match=r"Conv2d: expected input with 3 channels, got shape \(1, 2, 5, 5\)"):
        nn.Conv2d(3, 1, 3)(gg.zeros(1, 2, 5, 5))
    assert nn.Conv2d(2, 4, 3, groups=2).weight.shape == (4, 1, 3, 3)
