"""Every op in the table: forward and the gradient of .sum() against PyTorch, in
float32 and float64, on contiguous and non-contiguous inputs; and gradcheck in float64."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg

from op_case import OpCase, draw_inputs
from op_table import OPS
from oracle import compare_with_torch

CASES = [(op, i) for op in OPS for i in range(len(op.shapes))]


def _inputs(op: OpCase, shapes: tuple[tuple[int, ...], ...], seed: int) -> list[np.ndarray]:
    return draw_inputs(op, shapes, seed)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_forward_and_gradient_match_torch(op: OpCase, index: int, dtype: str) -> None:
    arrays = _inputs(op, op.shapes[index], seed=index)
    # float32 forward uses the atol 1e-6/rtol 1e-3; pow/exp-like ops of values up to
    # ~8 differ from PyTorch by a few float32 ulps in absolute terms, which rtol covers.
    compare_with_torch(op.ours, op.theirs, arrays, dtype=dtype)


def _spread(a: np.ndarray) -> np.ndarray:
    """A base array whose every-other element along the last dim holds ``a``."""
    if a.ndim == 0:
        return a
    base = np.full((*a.shape[:-1], 2 * a.shape[-1]), 7.0)
    base[..., ::2] = a
    return base


def _strided(fn):
    """Call ``fn`` on strided views base[..., ::2] (and transposed for 2-D), built inside the graph."""

    def wrapped(*bases):
        views = [b if b.ndim == 0 else b[..., ::2] for b in bases]
        return fn(*views)

    return wrapped


@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_non_contiguous_inputs(op: OpCase, index: int) -> None:
    bases = [_spread(a) for a in _inputs(op, op.shapes[index], seed=index)]
    compare_with_torch(_strided(op.ours), _strided(op.theirs), bases, dtype="float64")


@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_gradcheck(op: OpCase, index: int) -> None:
    if not op.gradcheck:
        pytest.skip(f"{op.name}: no gradient to check")
    arrays = _inputs(op, op.shapes[index], seed=100 + index)
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    assert gg.gradcheck(op.ours, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_gradcheck_through_permuted_and_sliced_views() -> None:
    base = gg.tensor(np.random.default_rng(0).standard_normal((4, 6, 5)), requires_grad=True)

    def fn(x: gg.Tensor) -> gg.Tensor:
        view = x.permute(2, 0, 1)[1:, ::2, 1:5]
        return (view.tanh() * view.sum(0, keepdim=True)).softmax(-1) @ gg.ones(4, 3, dtype=gg.float64)

    assert gg.gradcheck(fn, [base])
