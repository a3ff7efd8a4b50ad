"""Second derivatives of the indexing, scatter, select, embedding, padding and dropout ops and of in-place
writes (``x[i] = v``, in-place ops on views), beyond the op table's entries.

Each case: ``gradgradcheck`` and PyTorch's ``torch.autograd.grad(..., create_graph=True)``, as
tests/engine/test_double_backward.py does for the table. A recorded first derivative must also give the
plain backward's numbers: ``gradgradcheck`` cannot see a recorded backward that computes the wrong
derivative (its finite differences run the same recorded backward), so every case here and every table
entry that runs one of these ops compares the two.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.engine import observers
from glassgrad.engine.ops.indexing import add_at

import second_order
from op_case import OpCase, draw_inputs
from op_table import OPS
from oracle import first

REPEATED = [[0, 1, 2, 0], [0, 1, 0, 2], [2, 1, 0, 0]]  # dim 0 of a (3, 4) input: targets repeat in columns
TWICE = [[0, 1, 2, 0], [1, 2, 0, 1], [0, 1, 2, 0], [1, 2, 0, 1]]  # src = cat(s, s): each pair ties at its target
OWN_ROWS = [[0, 0, 0, 0], [1, 1, 1, 1]]  # rows 0 and 1 of x sent onto themselves: they tie with x
ONE_ZERO = np.ones((3, 4))
ONE_ZERO[0, 0] = ONE_ZERO[2, 3] = 0.0  # one zero in the groups of (0, 0) and (0, 3)
TWO_ZEROS = ONE_ZERO.copy()
TWO_ZEROS[1, 0] = 0.0  # s[0, 0] and s[1, 0] both go to (0, 0)
MASK = [[True, False, True, True], [False, False, True, False], [True, True, False, True]]
ROWS = [[1, 4, 4], [0, 2, 4]]  # embedding indices into 5 rows, 4 repeated
DROP_P = 0.4


def _lib(a):
    return gg if isinstance(a, gg.Tensor) else torch


def _const(a, values):
    return gg.tensor(values) if isinstance(a, gg.Tensor) else torch.tensor(values)


def _same(name: str, fn, shapes) -> OpCase:
    """An op written with the methods both libraries share."""
    return OpCase(name, fn, fn, shapes)


def _put_rows(a, v):
    y = a * 1.0
    y[[0, 2]] = v.sin()  # advanced index: IndexPut, y takes its history
    return y * y


def _put_mask(a, v):
    y = a * 1.0
    y[_const(a, MASK)] = v * v
    return y * a


def _put_slice_number(a):
    y = a * a
    y[1:, ::2] = 0.5
    return y * a


def _mul_into_view(a, v):
    z = a * 2.0
    z[0:2].mul_(v)  # an in-place op on a view: the base's history too (ScatterView)
    return z * z


def _add_into_transposed_view(a, v):
    z = a * a
    z.T[1].add_(v.sin())  # column 1, a view of a view
    return z * a


def _copy_into_view(a, v):
    z = a * 3.0
    z[:, 1:3].copy_(v.exp())
    return z * z


def _dropout_scale() -> np.ndarray:
    """The mask F.dropout draws right after manual_seed(7), as keep / (1 − p)."""
    gg.manual_seed(7)
    return F.dropout(gg.ones((3, 4), dtype=gg.float64), DROP_P).array


def _dropout(a):
    if isinstance(a, gg.Tensor):
        gg.manual_seed(7)  # the same mask at every call (gradgradcheck calls it many times)
        return F.dropout(a * a, DROP_P)
    return a * a * torch.tensor(_dropout_scale())


def _scatter_reduce(reduce: str, include_self: bool, index, src_mask=None, twice=False):
    def fn(a, s):
        if src_mask is not None:
            s = s * _const(a, src_mask)
        if twice:
            s = _lib(a).cat([s, s], 0)
        return a.scatter_reduce(0, _const(a, index), s, reduce, include_self=include_self)

    return fn


M = (((3, 4),),)
MV = (((3, 4), (2, 4)),)
CASES: list[OpCase] = [
    OpCase(
        "embedding",
        lambda w: F.embedding(gg.tensor(ROWS), w),
        lambda w: TF.embedding(torch.tensor(ROWS), w),
        (((5, 3),),),
    ),
    OpCase(
        "embedding_squared_padding_idx",
        lambda w: F.embedding(gg.tensor(ROWS), w, padding_idx=4) ** 2,
        lambda w: TF.embedding(torch.tensor(ROWS), w, padding_idx=4) ** 2,
        (((5, 3),),),
    ),
    _same("dropout_fixed_mask", _dropout, M),
    _same("masked_fill_number", lambda a: (a * a).masked_fill(_const(a, MASK), 0.5), M),
    _same("masked_fill_tensor_value", lambda a, v: (a * a).masked_fill(_const(a, MASK), v * v), (((3, 4), ()),)),
    _same("getitem_repeated_pairs", lambda a: (a * a)[[0, 0, 2], [1, 1, 3]], M),
    _same("getitem_int_then_array", lambda a: (a * a)[1, [0, 0, 3]], M),
    _same("getitem_of_getitem", lambda a: (a * a)[:, [2, 2]][[1, 1]], M),
    OpCase(
        "take_along_dim",
        lambda a: gg.take_along_dim(a * a, gg.tensor([[0, 0], [3, 1], [2, 2]]), 1),
        lambda a: torch.take_along_dim(a * a, torch.tensor([[0, 0], [3, 1], [2, 2]]), 1),
        M,
    ),
    OpCase(
        "add_at_repeated",
        lambda a, v: add_at(a * a, np.array([0, 2, 0]), v * a[:1]),
        lambda a, v: torch.index_put(a * a, (torch.tensor([0, 2, 0]),), v * a[:1], accumulate=True),
        (((3, 4), (3, 4)),),
    ),
    _same("setitem_rows", _put_rows, (((3, 4), (2, 4)),)),
    _same("setitem_mask", _put_mask, (((3, 4), (7,)),)),
    _same("setitem_slice_number", _put_slice_number, M),
    _same("inplace_on_view_mul", _mul_into_view, MV),
    _same("inplace_on_view_add_transposed", _add_into_transposed_view, (((3, 4), (3,)),)),
    _same("inplace_on_view_copy", _copy_into_view, (((3, 4), (3, 2)),)),
    _same("scatter_reduce_amax_ties", _scatter_reduce("amax", False, TWICE, twice=True), MV),
    _same("scatter_reduce_amin_ties_self", _scatter_reduce("amin", True, TWICE, twice=True), MV),
    _same("scatter_reduce_amax_ties_with_x", lambda a: a.scatter_reduce(0, _const(a, OWN_ROWS), a[:2], "amax"), M),
    _same("scatter_reduce_prod_one_zero", _scatter_reduce("prod", True, REPEATED, ONE_ZERO), (((3, 4), (3, 4)),)),
    _same(
        "scatter_reduce_prod_zero_in_x",
        lambda a, s: (a * _const(a, ONE_ZERO)).scatter_reduce(0, _const(a, REPEATED), s, "prod"),
        (((3, 4), (3, 4)),),
    ),
    _same("scatter_reduce_mean_noself", _scatter_reduce("mean", False, REPEATED), (((3, 4), (3, 4)),)),
]
# PyTorch has no second derivative here (two zeros in one product; scatter's reduce= form): gradgradcheck alone
ONLY_OURS: list[OpCase] = [
    _same("scatter_reduce_prod_two_zeros", _scatter_reduce("prod", False, REPEATED, TWO_ZEROS), (((3, 4), (3, 4)),)),
    _same(
        "scatter_multiply", lambda a, s: a.scatter(0, _const(a, REPEATED), s, reduce="multiply"), (((3, 4), (3, 4)),)
    ),
    _same("scatter_add_reduce", lambda a, s: a.scatter(0, _const(a, REPEATED), s, reduce="add"), (((3, 4), (3, 4)),)),
]
PAIRS = [(op, i) for op in CASES for i in range(len(op.shapes))]


@pytest.mark.parametrize(("op", "index"), PAIRS, ids=[f"{op.name}-{i}" for op, i in PAIRS])
def test_second_derivatives_match_torch(op: OpCase, index: int) -> None:
    second_order.assert_match_torch(op, index, seed=800)


@pytest.mark.parametrize("op", CASES + ONLY_OURS, ids=[op.name for op in CASES + ONLY_OURS])
def test_gradgradcheck(op: OpCase) -> None:
    arrays = draw_inputs(op, op.shapes[0], seed=900)
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    assert gg.gradgradcheck(lambda *xs: first(op.ours(*xs)), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def _first_derivatives(op: OpCase, arrays: list[np.ndarray], v: np.ndarray, create_graph: bool) -> list[np.ndarray]:
    xs = [gg.tensor(a, requires_grad=True) for a in arrays]
    gs = gg.autograd.grad(first(op.ours(*xs)), xs, gg.tensor(v), create_graph=create_graph, allow_unused=True)
    return [np.zeros(a.shape) if g is None else g.detach().array for g, a in zip(gs, arrays, strict=True)]


_THESE = {f"glassgrad.engine.ops.{m}" for m in ("indexing", "scatter", "select", "embedding", "padding", "dropout")}
_THESE.add("glassgrad.engine.views")


class _Functions:
    """Collects the Function classes a forward runs."""

    def __init__(self) -> None:
        self.seen: set[type] = set()

    def on_forward(self, function, args, kwargs, result) -> None:
        self.seen.add(function)


def _runs_these_ops(op: OpCase) -> bool:
    spy = _Functions()
    xs = [gg.tensor(a) for a in draw_inputs(op, op.shapes[0], seed=1)]
    with observers.observing(spy):
        op.ours(*xs)
    return any(f.__module__ in _THESE for f in spy.seen)


TABLE = [op for op in OPS if op.gradcheck and _runs_these_ops(op)]


@pytest.mark.parametrize(
    "op", CASES + ONLY_OURS + TABLE, ids=[op.name for op in CASES + ONLY_OURS] + [f"table-{op.name}" for op in TABLE]
)
def test_recorded_first_derivative_is_the_plain_one(op: OpCase) -> None:
    arrays = draw_inputs(op, op.shapes[0], seed=1000)
    with torch.no_grad():
        shape = first(op.ours(*[gg.tensor(a) for a in arrays])).shape
    v = np.random.default_rng(5).standard_normal(tuple(shape))
    plain = _first_derivatives(op, arrays, v, create_graph=False)
    recorded = _first_derivatives(op, arrays, v, create_graph=True)
    for i, (a, b) in enumerate(zip(recorded, plain, strict=True)):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=1e-12, err_msg=f"{op.name}: dL/d(input {i})")


def test_table_covers_these_ops() -> None:
    """The sweep above reaches every family of these files (so a broken filter cannot empty it)."""
    names = {op.name for op in TABLE}
    assert {"scatter", "scatter_reduce_prod_self", "index_copy", "getitem_mask", "gather", "pad_reflect_0"} <= names
    assert {"where", "clamp", "masked_scatter", "narrow"} <= names


def test_scatter_reduce_decomposition_gives_the_forward() -> None:
    """ScatterReduce's decomposition (what a recorded backward differentiates) has the op's values, ties too."""
    from glassgrad.engine.ops.scatter import ScatterReduce

    rng = np.random.default_rng(3)
    x = gg.tensor(np.round(rng.standard_normal((3, 4)), 1), requires_grad=True)
    s = gg.tensor(np.round(rng.standard_normal((3, 4)), 1) * ONE_ZERO, requires_grad=True)
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            out = x.scatter_reduce(0, gg.tensor(REPEATED), s, reduce, include_self=include_self)
            again = ScatterReduce.decomposition(x, gg.tensor(REPEATED), s, 0, reduce, include_self)
            np.testing.assert_allclose(again.array, out.array, rtol=1e-14, atol=1e-14, err_msg=reduce)
