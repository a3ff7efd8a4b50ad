"""Every op in the table, differentiated twice: ``gradgradcheck`` (finite differences of the recorded
first derivative, in float64), the second derivatives against PyTorch's
``torch.autograd.grad(..., create_graph=True)`` (tests/engine/second_order.py), and the recorded first
derivative against the plain one.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg

import second_order
from op_case import OpCase, draw_inputs
from op_table import OPS
from oracle import first

TWICE = [op for op in OPS if op.gradcheck]
CASES = [(op, i) for op in TWICE for i in range(len(op.shapes))]


@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_second_derivatives_match_torch(op: OpCase, index: int) -> None:
    second_order.assert_match_torch(op, index, seed=200, allow_torch_missing=True)


@pytest.mark.parametrize("op", TWICE, ids=[op.name for op in TWICE])
def test_gradgradcheck(op: OpCase) -> None:
    smallest = min(op.shapes, key=lambda shapes: sum(int(np.prod(s)) for s in shapes))  # finite differences
    arrays = draw_inputs(op, smallest, seed=300)
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    assert gg.gradgradcheck(lambda *xs: first(op.ours(*xs)), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_recorded_first_derivative_equals_the_plain_one(op: OpCase, index: int) -> None:
    """vᵀ ∂f/∂x computed with create_graph (the backward bodies on Recorded values) is the plain backward's:
    a write that went nowhere, or an intermediate taken as a constant, would show here first."""
    arrays = draw_inputs(op, op.shapes[index], seed=400 + index)
    grads = {}
    for create_graph in (False, True):
        xs = [gg.tensor(a, requires_grad=True) for a in arrays]
        out = first(op.ours(*xs))
        if not out.requires_grad:
            return
        v = gg.tensor(np.random.default_rng(index).standard_normal(out.shape))
        gs = gg.autograd.grad(out, xs, v, create_graph=create_graph, allow_unused=True)
        grads[create_graph] = [second_order.values(g, a.shape) for g, a in zip(gs, arrays, strict=True)]
    for i, (a, b) in enumerate(zip(grads[True], grads[False], strict=True)):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=1e-12, err_msg=f"{op.name}: recorded dL/d(input {i})")
