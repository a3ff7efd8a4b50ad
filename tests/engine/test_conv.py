"""F.conv2d, F.conv1d and F.conv_transpose2d against PyTorch (forward and gradients,
float32 and float64, every variant), float64 gradchecks, and their errors."""

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
CONV2D_OPTIONS = [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (2, 1), "padding": (0, 2), "dilation": (1, 2)},
    {"padding": "same", "dilation": 2},
    {"padding": "same"},  # 2x2 kernel: the odd zero goes after
    {"padding": "valid", "groups": 2},
    {"stride": 3, "padding": 1, "groups": 4},  # depthwise
]


@pytest.mark.parametrize("variant", ["reference", "numba_im2col"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", CONV2D_OPTIONS)
def test_conv2d_matches_torch(options: dict, dtype: str, variant: str, rng: np.random.Generator) -> None:
    kh = 2 if options == {"padding": "same"} else 3
    groups = options.get("groups", 1)
    arrays = [rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6 if groups < 4 else 8, 4 // groups, kh, 3))]
    arrays.append(rng.standard_normal(arrays[1].shape[0]))
    with (
        kernels.use("conv2d", variant),
        kernels.use("conv2d_grad_input", variant),
        kernels.use("conv2d_grad_weight", variant),
    ):
        compare_with_torch(
            lambda x, w, b: F.conv2d(x, w, b, **options), lambda x, w, b: TF.conv2d(x, w, b, **options), arrays, dtype
        )


def test_conv2d_on_non_contiguous_and_unbatched_inputs(rng: np.random.Generator) -> None:
    w = rng.standard_normal((5, 3, 3, 3))
    compare_with_torch(
        lambda x, w: F.conv2d(x.permute(0, 3, 1, 2), w, padding=1),
        lambda x, w: TF.conv2d(x.permute(0, 3, 1, 2), w, padding=1),
        [rng.standard_normal((2, 7, 6, 3)), w],
    )
    compare_with_torch(
        lambda x, w: F.conv2d(x[::2, ::2, 1:], w),
        lambda x, w: TF.conv2d(x[::2, ::2, 1:], w),
        [rng.standard_normal((6, 9, 8)), w],
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"stride": 2, "padding": 1, "dilation": 2},
        {"padding": "same", "groups": 2},
        {"padding": (1,), "stride": (3,)},
    ],
)
def test_conv1d_matches_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    arrays = [
        rng.standard_normal((3, 4, 11)),
        rng.standard_normal((6, 4 // options.get("groups", 1), 4)),
        rng.standard_normal(6),
    ]
    compare_with_torch(
        lambda x, w, b: F.conv1d(x, w, b, **options), lambda x, w, b: TF.conv1d(x, w, b, **options), arrays, dtype
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": (2, 3), "dilation": 2, "groups": 2, "output_padding": (0, 2)},
    ],
)
def test_conv_transpose2d_matches_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    groups = options.get("groups", 1)
    arrays = [rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 6 // groups, 3, 2)), rng.standard_normal(6)]
    compare_with_torch(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **options),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **options),
        arrays,
        dtype,
    )


def test_gradcheck_conv2d_and_conv_transpose2d(rng: np.random.Generator) -> None:
    x, w, b = (gg.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 4, 5, 6), (4, 2, 3, 2), (4,)))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), [x, w, b])
    wt = gg.tensor(rng.standard_normal((4, 3, 2, 3)), requires_grad=True)
    bt = gg.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), [x, wt, bt])


def test_input_without_grad_skips_its_gradient(rng: np.random.Generator) -> None:
    x = gg.tensor(rng.standard_normal((2, 1, 6, 6)))
    w = gg.tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 1, 3, 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: F.conv2d(gg.zeros(1, 3, 8, 8), gg.zeros(4, 2, 3, 3)),
            RuntimeError,
            r"input \(1, 3, 8, 8\) has 3 channels but weight \(4, 2, 3, 3\) expects 2",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 4, 8, 8), gg.zeros(3, 2, 3, 3), groups=2),
            RuntimeError,
            r"groups=2 must divide in_channels \(4\) and out_channels \(3\)",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 1, 4, 4), gg.zeros(1, 1, 7, 7), padding=1),
            RuntimeError,
            "larger than the padded input",
        ),
        (
            lambda: F.conv2d(gg.zeros(8, 8), gg.zeros(1, 1, 3, 3)),
            RuntimeError,
            r"conv2d: expected a 3-D \(unbatched\) or 4-D input, got shape \(8, 8\)",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 1, 8, 8), gg.zeros(1, 3, 3)),
            RuntimeError,
            r"conv2d: expected a 4-D weight, got shape \(1, 3, 3\)",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 1, 8, 8), gg.zeros(2, 1, 3, 3), gg.zeros(3)),
            RuntimeError,
            r"bias of shape \(3,\) should be \(2,\)",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 1, 8, 8), gg.zeros(1, 1, 3, 3), stride=0),
            RuntimeError,
            "stride must be an int or a pair of ints ≥ 1, got 0",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 1, 8, 8), gg.zeros(1, 1, 3, 3), padding="full"),
            RuntimeError,
            "padding must be 'same', 'valid'",
        ),
        (
            lambda: F.conv2d(gg.zeros(1, 1, 8, 8), gg.zeros(1, 1, 3, 3), stride=2, padding="same"),
            RuntimeError,
            "not supported for strided",
        ),
        (
            lambda: F.conv1d(gg.zeros(1, 1, 8), gg.zeros(1, 1, 3), stride=(1, 2)),
            RuntimeError,
            "conv1d: stride must be an int ≥ 1 or a 1-tuple",
        ),
        (
            lambda: F.conv_transpose2d(gg.zeros(1, 2, 4, 4), gg.zeros(2, 1, 3, 3), output_padding=1),
            RuntimeError,  # as PyTorch
            r"output_padding \(1, 1\) must be smaller than either stride \(1, 1\) or dilation \(1, 1\)",
        ),
        (
            lambda: F.conv_transpose2d(gg.zeros(1, 3, 4, 4), gg.zeros(2, 1, 3, 3)),
            RuntimeError,
            r"input \(1, 3, 4, 4\) has 3 channels but weight \(2, 1, 3, 3\) expects 2",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_errors_come_before_any_state_change() -> None:
    w = gg.zeros(1, 2, 3, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        F.conv2d(gg.zeros(1, 3, 8, 8), w)
    assert w.grad is None and w.grad_fn is None
