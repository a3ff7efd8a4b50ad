"""Every op in the table, differentiated twice: ``gradgradcheck`` (finite differences of the recorded
first derivative, in float64) and the second derivatives against PyTorch's
``torch.autograd.grad(..., create_graph=True)``.

For random output weights v and u, both libraries compute g(x, v) = vᵀ ∂f/∂x with create_graph, then
the gradients of s = Σ u ⊙ g with respect to x (the Hessian-vector part, Σ vᵀ ∂²f/∂x²·u) and to v
(the Jacobian-vector part, ∂f/∂x · u).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

from op_case import OpCase, draw_inputs
from op_table import OPS
from oracle import first, to_numpy

TWICE = [op for op in OPS if op.gradcheck]
CASES = [(op, i) for op in TWICE for i in range(len(op.shapes))]


def _second_derivatives(lib, fn, arrays, v, u):
    tensor = gg.tensor if lib is gg else torch.tensor
    xs = [tensor(a, requires_grad=True) for a in arrays]
    out = first(fn(*xs))
    if not out.requires_grad:
        return None
    vt = tensor(v, requires_grad=True)
    auto = gg.autograd if lib is gg else torch.autograd
    gs = auto.grad(out, xs, vt, create_graph=True, allow_unused=True)
    terms = [(g * tensor(ui)).sum() for g, ui in zip(gs, u, strict=True) if g is not None and g.requires_grad]
    if not terms:
        return [*(np.zeros_like(a) for a in arrays), np.zeros_like(v)]
    s = sum(terms[1:], terms[0])
    dx = auto.grad(s, [*xs, vt], allow_unused=True)
    return [_values(d, a.shape) for d, a in zip(dx, [*arrays, v], strict=True)]


def _values(d, shape):
    """The numbers of a gradient; None and PyTorch's ZeroTensor (a derivative known to be 0) are zeros."""
    if d is None or (isinstance(d, torch.Tensor) and d._is_zerotensor()):
        return np.zeros(shape)
    return to_numpy(d)


@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_second_derivatives_match_torch(op: OpCase, index: int) -> None:
    arrays = draw_inputs(op, op.shapes[index], seed=200 + index)
    rng = np.random.default_rng(index)
    with torch.no_grad():
        shape = first(op.theirs(*[torch.tensor(a) for a in arrays])).shape
    v = rng.standard_normal(tuple(shape))
    u = [rng.standard_normal(a.shape) for a in arrays]
    try:
        theirs = _second_derivatives(torch, op.theirs, arrays, v, u)
    except RuntimeError as err:  # PyTorch has no double backward for this kernel: gradgradcheck alone checks ours
        assert "is not implemented" in str(err)
        theirs = None
    ours = _second_derivatives(gg, op.ours, arrays, v, u)
    if theirs is None:
        assert ours is None or all(np.isfinite(a).all() for a in ours)
        return
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8, err_msg=f"{op.name}: d/d(input {i}) of vᵀJ·u")


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
        grads[create_graph] = [_values(g, a.shape) for g, a in zip(gs, arrays, strict=True)]
    for i, (a, b) in enumerate(zip(grads[True], grads[False], strict=True)):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=1e-12, err_msg=f"{op.name}: recorded dL/d(input {i})")
