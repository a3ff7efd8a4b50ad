"""The elementwise ops differentiated twice (and three times) beyond the op table: the Functions and
options the table does not reach, each through float64 ``gradgradcheck`` and against PyTorch's
``torch.autograd.grad(..., create_graph=True)``; the ops PyTorch gives no derivative raise as it does."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.engine.ops.arithmetic import cast, to_device

from oracle import to_numpy

#: (name, ours, theirs, input low, input high): one tiny float64 input drawn uniformly from (low, high)
CASES: list[tuple[str, Callable, Callable, float, float]] = [
    ("cast", lambda x: cast(x, gg.float64) * x, lambda x: x.to(torch.float64) * x, -2.0, 2.0),
    ("clone", lambda x: x.clone() * x, lambda x: x.clone() * x, -2.0, 2.0),
    ("contiguous", lambda x: x.T.contiguous() * x.T, lambda x: x.T.contiguous() * x.T, -2.0, 2.0),
    ("to_device", lambda x: to_device(x, "cpu") * x, lambda x: x.to("cpu") * x, -2.0, 2.0),
    ("sqrt_pow", lambda x: x**0.5, lambda x: x**0.5, 0.5, 2.0),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0), lambda x: TF.softplus(x, beta=2.0), -2.0, 2.0),
    (
        "softplus_threshold",
        lambda x: F.softplus(x, beta=2.0, threshold=1.0) * x,
        lambda x: TF.softplus(x, beta=2.0, threshold=1.0) * x,
        -2.0,
        2.0,
    ),
    ("glu_dim1", lambda x: F.glu(x.reshape(2, 4, 1), dim=1), lambda x: TF.glu(x.reshape(2, 4, 1), dim=1), -2.0, 2.0),
    ("gelu_wide", F.gelu, TF.gelu, -6.0, 6.0),
    ("gelu_tanh_wide", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), -6.0, 6.0),
    ("mish_wide", F.mish, TF.mish, -8.0, 8.0),
    ("silu_times_x", lambda x: F.silu(x) * x, lambda x: TF.silu(x) * x, -3.0, 3.0),
    ("leaky_relu_times_x", lambda x: F.leaky_relu(x, 0.2) * x, lambda x: TF.leaky_relu(x, 0.2) * x, -2.0, 2.0),
    ("prelu_times_x", lambda x: F.prelu(x, x[0, :1]) * x, lambda x: TF.prelu(x, x[0, :1]) * x, -2.0, 2.0),
    ("compare_mask", lambda x: x * x * (x > 0), lambda x: x * x * (x > 0), -2.0, 2.0),
    ("logical_mask", lambda x: x.sin() * ((x > -1) & (x < 1)), lambda x: x.sin() * ((x > -1) & (x < 1)), -2.0, 2.0),
    (
        "isfinite_where",
        lambda x: gg.where(gg.isfinite(x), x.exp(), 0.0),
        lambda x: torch.where(torch.isfinite(x), x.exp(), 0.0),
        -2.0,
        2.0,
    ),
    ("floor_times_x", lambda x: gg.floor(x * 2) * x * x, lambda x: torch.floor(x * 2) * x * x, -2.0, 2.0),
    ("remainder_of_product", lambda x: (x * x) % (x + 3), lambda x: (x * x) % (x + 3), -2.0, 2.0),
    ("fmod_of_product", lambda x: gg.fmod(x * x, x - 3), lambda x: torch.fmod(x * x, x - 3), -2.0, 2.0),
]
SHAPE = (2, 4)


def _input(low: float, high: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, SHAPE)


def _derivatives(lib, fn: Callable, array: np.ndarray, order: int) -> list[np.ndarray]:
    """d^k/dx^k of Σ fn(x) for k = 1..order, each step differentiating the last with create_graph
    (zeros once a derivative no longer depends on x)."""
    auto = gg.autograd if lib is gg else torch.autograd
    x = (gg.tensor if lib is gg else torch.tensor)(array, requires_grad=True)
    d, out = fn(x).sum(), []
    while len(out) < order and d.requires_grad:
        (d,) = auto.grad(d, x, create_graph=True)
        out.append(to_numpy(d))
        d = d.sum()
    return out + [np.zeros_like(array)] * (order - len(out))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(case: tuple) -> None:
    _, ours, _, low, high = case
    x = gg.tensor(_input(low, high), requires_grad=True)
    assert gg.gradgradcheck(ours, [x], eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_second_and_third_derivatives_match_torch(case: tuple) -> None:
    _, ours, theirs, low, high = case
    x = _input(low, high, seed=1)
    mine, torch_ = _derivatives(gg, ours, x, 3), _derivatives(torch, theirs, x, 3)
    for k, (a, b) in enumerate(zip(mine, torch_, strict=True), start=1):
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8, err_msg=f"{case[0]}: derivative {k}")


def test_decomposed_ops_keep_their_kernel_first_derivative() -> None:
    """The first-order backward of GELU/SiLU runs their kernels; create_graph's (through the decomposition)
    gives the same numbers."""
    x0 = _input(-3.0, 3.0, seed=2)
    for fn in (F.gelu, lambda t: F.gelu(t, approximate="tanh"), F.silu, F.mish, F.softplus):
        x = gg.tensor(x0, requires_grad=True)
        (plain,) = gg.autograd.grad(fn(x).sum(), x)
        (recorded,) = gg.autograd.grad(fn(x).sum(), x, create_graph=True)
        assert recorded.requires_grad and not plain.requires_grad
        np.testing.assert_allclose(to_numpy(recorded), to_numpy(plain), atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda x: x // (x + 3), lambda x: x // (x + 3)),  # floor_divide: no derivative
        (lambda x: 2.0 % (x + 3), lambda x: 2.0 % (x + 3)),  # a number % a tensor: none either
    ],
    ids=["floor_divide", "scalar_remainder"],
)
def test_ops_without_a_derivative_raise_as_in_torch(ours: Callable, theirs: Callable) -> None:
    x0 = _input(-1.0, 1.0)
    t = torch.tensor(x0, requires_grad=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        torch.autograd.grad(theirs(t).sum(), t, create_graph=True)
    for create_graph in (False, True):
        x = gg.tensor(x0, requires_grad=True)
        with pytest.raises(RuntimeError, match="not implemented"):
            gg.autograd.grad(ours(x).sum(), x, create_graph=create_graph)
