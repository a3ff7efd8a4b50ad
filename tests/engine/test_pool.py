"""F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d and the 1-D forms against
PyTorch (forward, gradients, indices; float32 and float64), gradchecks and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels
from glassgrad.engine.gradcheck import gradcheck

from oracle import compare_with_torch

TF = torch.nn.functional
MAX_OPTIONS = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": 2, "ceil_mode": True},
]
AVG_OPTIONS = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "ceil_mode": True},
    {"kernel_size": 3, "padding": 1, "divisor_override": 4},
]


@pytest.mark.parametrize("variant", ["reference", "numba"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", MAX_OPTIONS)
def test_max_pool2d_matches_torch(options: dict, dtype: str, variant: str, rng: np.random.Generator) -> None:
    with kernels.use("max_pool2d_argmax", variant), kernels.use("max_pool2d_grad", variant):
        compare_with_torch(
            lambda x: F.max_pool2d(x, **options),
            lambda x: TF.max_pool2d(x, **options),
            [rng.standard_normal((2, 3, 9, 10))],
            dtype,
        )


def test_max_pool2d_indices_match_torch_with_ties(rng: np.random.Generator) -> None:
    x = rng.integers(0, 3, (2, 3, 8, 7)).astype(np.float32)
    values, indices = F.max_pool2d(gg.tensor(x), 3, 2, 1, return_indices=True)
    t_values, t_indices = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())
    np.testing.assert_array_equal(values.numpy(), t_values.numpy())
    assert indices.dtype == np.int64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", AVG_OPTIONS)
def test_avg_pool2d_matches_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    compare_with_torch(
        lambda x: F.avg_pool2d(x, **options),
        lambda x: TF.avg_pool2d(x, **options),
        [rng.standard_normal((2, 3, 9, 10))],
        dtype,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output_size", [1, (2, 3), (4, None), (7, 10), (9, 4)])
def test_adaptive_avg_pool2d_matches_torch(output_size, dtype: str, rng: np.random.Generator) -> None:
    compare_with_torch(
        lambda x: F.adaptive_avg_pool2d(x, output_size),
        lambda x: TF.adaptive_avg_pool2d(x, output_size),
        [rng.standard_normal((2, 3, 7, 10))],
        dtype,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_1d_pooling_and_unbatched_inputs_match_torch(dtype: str, rng: np.random.Generator) -> None:
    x1 = [rng.standard_normal((2, 3, 11))]
    compare_with_torch(
        lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True),
        lambda x: TF.max_pool1d(x, 3, 2, 1, ceil_mode=True),
        x1,
        dtype,
    )
    compare_with_torch(
        lambda x: F.avg_pool1d(x, 4, 3, 2, True, False), lambda x: TF.avg_pool1d(x, 4, 3, 2, True, False), x1, dtype
    )
    x2 = [rng.standard_normal((3, 8, 6))]
    compare_with_torch(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), x2, dtype)
    compare_with_torch(lambda x: F.adaptive_avg_pool2d(x, 3), lambda x: TF.adaptive_avg_pool2d(x, 3), x2, dtype)


def test_pooling_non_contiguous_input(rng: np.random.Generator) -> None:
    compare_with_torch(
        lambda x: F.max_pool2d(x.permute(0, 3, 1, 2), 2),
        lambda x: TF.max_pool2d(x.permute(0, 3, 1, 2), 2),
        [rng.standard_normal((2, 8, 6, 3))],
    )
    compare_with_torch(
        lambda x: F.avg_pool2d(x.transpose(2, 3), 3, 2, 1),
        lambda x: TF.avg_pool2d(x.transpose(2, 3), 3, 2, 1),
        [rng.standard_normal((2, 2, 8, 6))],
    )


def test_gradcheck_pooling(rng: np.random.Generator) -> None:
    x = gg.tensor(rng.standard_normal((1, 2, 7, 6)), requires_grad=True)  # distinct values: max is differentiable
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [x])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: F.max_pool2d(gg.zeros(1, 1, 8, 8), 3, padding=2),
            "max_pool2d: padding 2 should be at most half the kernel size 3",
        ),
        (lambda: F.max_pool2d(gg.zeros(1, 1, 2, 2), 3), "max_pool2d: a window of 3 .* does not fit an input of size 2"),
        (
            lambda: F.max_pool2d(gg.zeros(8, 8), 2),
            r"max_pool2d: expected a 3-D \(unbatched\) or 4-D input, got shape \(8, 8\)",
        ),
        (
            lambda: F.max_pool2d(gg.zeros(1, 1, 8, 8), 0),
            "max_pool2d: kernel_size must be an int or a pair of ints ≥ 1, got 0",
        ),
        (
            lambda: F.avg_pool2d(gg.zeros(1, 1, 8, 8), 2, divisor_override=0),
            "avg_pool2d: divisor_override must be a positive int",
        ),
        (lambda: F.adaptive_avg_pool2d(gg.zeros(1, 1, 8, 8), (2, 0)), "adaptive_avg_pool2d: output_size must be"),
        (lambda: F.max_pool1d(gg.zeros(1, 1, 8), (2, 2)), "max_pool1d: kernel_size must be an int ≥ 1 or a 1-tuple"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        call()
