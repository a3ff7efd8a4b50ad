"""Second derivatives of the reductions, einsum and the structure ops beyond the op table's entries.

The options the op table does not cover (several dims, keepdim, every norm order, ties, zeros in a
product, -inf in a log-sum-exp, a constant row under std, operands without a gradient): ``gradgradcheck``
and PyTorch's ``torch.autograd.grad(..., create_graph=True)``, as tests/engine/test_double_backward.py
does for the table. Var differentiates its ``decomposition``, which must give the forward's values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.engine.ops.reductions import Var
from glassgrad.engine.recorded_backward import decomposition_call

import second_order
from op_case import OpCase, draw_inputs
from oracle import first

RNG = np.random.default_rng(11)
ZERO_ROW = np.ones((3, 4))
ZERO_ROW[1] = 0.0  # x * ZERO_ROW has a constant row, whatever x is
ZEROS = np.ones((3, 4))
ZEROS[0, 1] = ZEROS[2, 0] = ZEROS[2, 3] = 0.0  # one zero in row 0, two in row 2
MINUS_INF = np.where(RNG.uniform(size=(3, 4)) < 0.3, -np.inf, 0.0)
MINUS_INF[:, 0] = 0.0  # every row keeps a finite entry
CONSTANT = RNG.standard_normal((4, 2))


def _const(a, values: np.ndarray):
    return gg.tensor(values) if isinstance(a, gg.Tensor) else torch.tensor(values)


def _same(name: str, fn, shapes) -> OpCase:
    """An op written with the methods both libraries share."""
    return OpCase(name, fn, fn, shapes)


def _einsum(a, equation: str, *others):
    lib = gg if isinstance(a, gg.Tensor) else torch
    return lib.einsum(equation, a, *others)


X = (((2, 3, 4),),)
M = (((3, 4),),)
CASES: list[OpCase] = [
    _same("var_two_dims_keepdim", lambda a: a.var((0, 2), keepdim=True), X),
    _same("var_correction_2", lambda a: a.var(1, correction=2), X),
    _same("std_all_biased", lambda a: a.std(correction=0), X),
    _same("std_two_dims", lambda a: a.std((0, -1)), X),
    _same("mean_all", lambda a: a.mean(), X),
    _same("mean_two_dims", lambda a: a.mean((0, 2), keepdim=True), X),
    _same("sum_two_dims", lambda a: a.sum((0, 1)), X),
    _same("prod_all", lambda a: a.prod(), M),
    _same("prod_with_zeros", lambda a: (a * _const(a, ZEROS)).prod(1), M),
    _same("prod_keepdim_dim0", lambda a: a.prod(0, keepdim=True), M),
    _same("logsumexp_two_dims_keepdim", lambda a: a.logsumexp((0, 2), keepdim=True), X),
    _same("logsumexp_minus_inf", lambda a: (a + _const(a, MINUS_INF)).logsumexp(1), M),
    _same("norm_inf", lambda a: a.norm(float("inf")), M),
    _same("norm_0", lambda a: a.norm(0, 1), M),
    _same("norm_2_dims_keepdim", lambda a: a.norm(2, (0, 2), keepdim=True), X),
    _same("norm_1_all", lambda a: a.norm(1), M),
    _same("norm_4_dim", lambda a: a.norm(4, 1), M),
    _same("norm_0d", lambda a: a.norm(), (((),),)),
    _same("amax_ties", lambda a: a.clamp(max=0.3).amax(1), M),
    _same("amin_two_dims", lambda a: a.amin((0, 2)), X),
    _same("einsum_constant_operand", lambda a: _einsum(a, "ij,jk->ik", _const(a, CONSTANT)), M),
    _same("einsum_square", lambda a: _einsum(a, "ij,ij,kj->ik", a, a), M),
    _same("cumprod_0d", lambda a: a.cumprod(0), (((),),)),
    _same("logcumsumexp_dim0", lambda a: a.logcumsumexp(0), X),
]
PAIRS = [(op, i) for op in CASES for i in range(len(op.shapes))]
# PyTorch's d/d(g) of std's derivative is NaN at a constant row (0/0 behind its masked_fill); ours is 0
STD_CONSTANT_ROW = _same("std_constant_row", lambda a: (a * _const(a, ZERO_ROW)).std(1), M)


@pytest.mark.parametrize(("op", "index"), PAIRS, ids=[f"{op.name}-{i}" for op, i in PAIRS])
def test_second_derivatives_match_torch(op: OpCase, index: int) -> None:
    second_order.assert_match_torch(op, index, seed=600)


@pytest.mark.parametrize("op", [*CASES, STD_CONSTANT_ROW], ids=[op.name for op in [*CASES, STD_CONSTANT_ROW]])
def test_gradgradcheck(op: OpCase) -> None:
    arrays = draw_inputs(op, op.shapes[0], seed=700)
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    assert gg.gradgradcheck(lambda *xs: first(op.ours(*xs)), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("root", [False, True])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(
    ("shape", "dims", "correction"),
    [((2, 3, 4), (1,), 1), ((2, 3, 4), (0, 2), 0), ((2, 3, 4), (0, 1, 2), 2.5), ((), (), 0)],
)
def test_var_decomposition_matches(
    shape: tuple[int, ...], dims: tuple[int, ...], correction: float, keepdim: bool, root: bool
) -> None:
    x = gg.tensor(RNG.standard_normal(shape), requires_grad=True)
    out = Var.apply(x, dims=dims, correction=correction, keepdim=keepdim, root=root)
    args, kwargs = decomposition_call(out.grad_fn)
    again = Var.decomposition(*args, **kwargs)
    assert again.shape == out.shape and again.dtype == out.dtype
    np.testing.assert_allclose(again.array, out.array, rtol=1e-12, atol=1e-12)


def test_std_of_a_constant_row_has_zero_derivatives() -> None:
    """PyTorch's rule (the derivative of std is 0 where std is 0) holds for the derivatives of that derivative,
    with respect to x and to the incoming gradient v, too: 0 and no NaN."""
    x = gg.tensor(np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]), requires_grad=True)
    v = gg.tensor(np.array([0.5, -2.0]), requires_grad=True)
    (g,) = gg.autograd.grad(x.std(1), [x], v, create_graph=True)
    hx, hv = gg.autograd.grad((g * g).sum(), [x, v])
    np.testing.assert_array_equal(g.array[1], 0.0)
    np.testing.assert_array_equal(hx.array[1], 0.0)
    assert hv.array[1] == 0.0 and np.isfinite(hx.array).all() and np.isfinite(hv.array).all()
