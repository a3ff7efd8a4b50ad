"""Unfold/Fold, ConvTranspose2d, RMSNorm, ParameterList/ParameterDict, and the layers' dtype rules,
each against PyTorch: torch's module is built first, its state_dict is loaded into ours (so the
keys must be PyTorch's), and outputs, input gradients and every parameter gradient agree
(float64 to 1e-10, float32 to the oracle's tolerances). Bad inputs raise PyTorch's exception type."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn

from oracle import TOL, to_numpy

DTYPES = ["float32", "float64"]


def load_torch_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    """Copy ``theirs``'s state_dict into ``ours`` (strict: the keys must be the same, in the same order)."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: v.detach().numpy() for k, v in state.items()}, strict=True)


def check_against_torch(
    ours: nn.Module,
    theirs: torch.nn.Module,
    inputs: list[np.ndarray],
    dtype: str,
    **forward_kwargs: Any,
) -> gg.Tensor:
    """Same weights (torch's), same inputs: forward, input gradients and every parameter gradient agree."""
    theirs.to(getattr(torch, dtype))
    ours.to(getattr(gg, dtype))
    load_torch_weights(ours, theirs)
    xs = [gg.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in inputs]
    ts = [torch.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in inputs]
    out, expected = ours(*xs, **forward_kwargs), theirs(*ts, **forward_kwargs)
    assert out.dtype == getattr(gg, dtype) and tuple(out.shape) == tuple(expected.shape)
    fa, fr = TOL[dtype]["forward"]
    np.testing.assert_allclose(to_numpy(out), to_numpy(expected), atol=fa, rtol=fr, err_msg="forward")
    weights = np.random.default_rng(7).standard_normal(tuple(expected.shape))
    (out * gg.tensor(weights, dtype=dtype)).sum().backward()
    (expected * torch.tensor(weights, dtype=getattr(torch, dtype))).sum().backward()
    ga, gr = TOL[dtype]["grad"]
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        np.testing.assert_allclose(to_numpy(x.grad), to_numpy(t.grad), atol=ga, rtol=gr, err_msg=f"grad of input {i}")
    twin_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(twin_params)
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(
            to_numpy(param.grad), to_numpy(twin_params[name].grad), atol=ga, rtol=gr, err_msg=f"grad of {name}"
        )
    return out


def raises_like_torch(ours: Callable[[], Any], theirs: Callable[[], Any], match: str) -> None:
    """PyTorch raises, and ours raises the same exception type with a message matching ``match``."""
    with pytest.raises(Exception) as torch_error:
        theirs()
    with pytest.raises(torch_error.type, match=match):
        ours()


# ------------------------------------------------------------------ unfold / fold
UNFOLD_OPTIONS = [
    {"kernel_size": 3},
    {"kernel_size": (2, 3), "dilation": (1, 2), "padding": (1, 0), "stride": (2, 1)},
    {"kernel_size": 2, "stride": 2, "padding": 1},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", UNFOLD_OPTIONS)
def test_unfold_and_fold_modules_match_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 6, 7))
    cols = check_against_torch(nn.Unfold(**options), torch.nn.Unfold(**options), [x], dtype)
    check_against_torch(nn.Fold((6, 7), **options), torch.nn.Fold((6, 7), **options), [to_numpy(cols)], dtype)


def test_unfold_and_fold_are_adjoint(rng: np.random.Generator) -> None:
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩: each one's backward is the other."""
    options = {"kernel_size": (3, 2), "dilation": (2, 1), "padding": (2, 1), "stride": (1, 2)}
    x = gg.tensor(rng.standard_normal((2, 3, 7, 6)))
    cols = F.unfold(x, **options)
    c = gg.tensor(rng.standard_normal(cols.shape))
    folded = F.fold(c, (7, 6), **options)
    assert math.isclose((cols * c).sum().item(), (x * folded).sum().item(), rel_tol=1e-12)


def test_unfold_fold_of_ones_counts_the_blocks_over_each_pixel() -> None:
    """fold(unfold(1)) is how many blocks cover each pixel, as in PyTorch's docs."""
    ones = gg.ones(1, 1, 4, 5, dtype=gg.float64)
    counts = F.fold(F.unfold(ones, 2), (4, 5), 2)
    expected = TF.fold(TF.unfold(torch.ones(1, 1, 4, 5, dtype=torch.float64), 2), (4, 5), 2)
    np.testing.assert_array_equal(to_numpy(counts), to_numpy(expected))
    assert to_numpy(counts)[0, 0, 1, 1] == 4


def test_unfold_fold_unbatched_empty_and_bool() -> None:
    x = np.arange(3 * 4 * 4, dtype=np.float64).reshape(3, 4, 4)
    np.testing.assert_array_equal(to_numpy(F.unfold(gg.tensor(x), 2)), TF.unfold(torch.tensor(x), 2).numpy())
    c = np.arange(8 * 9, dtype=np.float64).reshape(8, 9)
    np.testing.assert_array_equal(to_numpy(F.fold(gg.tensor(c), 4, 2)), TF.fold(torch.tensor(c), 4, 2).numpy())
    assert F.unfold(gg.zeros(0, 3, 6, 7), 3).shape == tuple(TF.unfold(torch.zeros(0, 3, 6, 7), 3).shape)
    assert F.fold(gg.zeros(0, 12, 20), (5, 6), 2).shape == tuple(TF.fold(torch.zeros(0, 12, 20), (5, 6), 2).shape)
    b = np.random.default_rng(0).standard_normal((1, 4, 4)) > 0
    ours, theirs = F.fold(gg.tensor(b), 3, 2), TF.fold(torch.tensor(b), 3, 2)
    assert ours.dtype == gg.bool_ and theirs.dtype == torch.bool
    np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())
    bi = np.random.default_rng(1).standard_normal((1, 2, 3, 3)) > 0
    np.testing.assert_array_equal(to_numpy(F.unfold(gg.tensor(bi), 2)), TF.unfold(torch.tensor(bi), 2).numpy())


def test_unfold_fold_repr_as_torch() -> None:
    assert repr(nn.Unfold(2)) == repr(torch.nn.Unfold(2))
    assert repr(nn.Fold((4, 5), 2, stride=2)) == repr(torch.nn.Fold((4, 5), 2, stride=2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 8), r"unfold: input of spatial size \(6, 7\) .* gives \(-1, 0\)"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 0), "unfold: kernel_size must be at least 1"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2, stride=0), "unfold: stride must be at least 1"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2, padding=-1), "unfold: padding must be at least 0"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2, dilation=0), "unfold: dilation must be at least 1"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), (2, 2, 2)), "unfold: expected kernel_size to have 2 elements"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2.0), "unfold: kernel_size must be an int"),
        (lambda f, t: f.unfold(t(1, 2, 3, 6, 7), 2), r"unfold: expected a 3-D or 4-D .* got shape \(1, 2, 3, 6, 7\)"),
        (lambda f, t: f.unfold(t(2, 0, 6, 7), 2), r"unfold: .* non-zero dims"),
        (lambda f, t: f.unfold(t(6, 7), 2), r"unfold: expected a 3-D \(unbatched\) or 4-D input"),
        (
            lambda f, t: f.fold(t(2, 12, 20), (5, 7), 2),
            r"fold: .* give 4 \* 6 = 24 sliding blocks, but input.size\(2\)=20",
        ),
        (lambda f, t: f.fold(t(2, 13, 20), (5, 6), 2), r"fold: input.size\(1\)=13 must be divisible"),
        (lambda f, t: f.fold(t(1, 2, 12, 20), (5, 6), 2), r"fold: expected a 2-D or 3-D .* \(1, 2, 12, 20\)"),
        (lambda f, t: f.fold(t(2, 12, 20), (5, 6, 1), 2), "fold: expected output_size to have 2 elements"),
        (lambda f, t: f.fold(t(2, 12, 20), (5, 6), 2, stride=0), "fold: stride must be at least 1"),
    ],
)
def test_unfold_fold_bad_arguments_raise_like_torch(call, match: str) -> None:
    raises_like_torch(lambda: call(F, gg.zeros), lambda: call(TF, torch.zeros), match)


@pytest.mark.parametrize("fn", ["unfold", "fold"])
def test_unfold_fold_of_integers_are_not_implemented_as_in_torch(fn: str) -> None:
    shape, args = ((1, 1, 4, 4), (2,)) if fn == "unfold" else ((1, 4, 9), (4, 2))
    raises_like_torch(
        lambda: getattr(F, fn)(gg.zeros(*shape, dtype=gg.int64), *args),
        lambda: getattr(TF, fn)(torch.zeros(*shape, dtype=torch.int64), *args),
        f"{fn}: not implemented for integer input \\(int64\\)",
    )
