"""Property tests (hypothesis): broadcasting shapes and the gradients summed back to them."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import glassgrad as gg


@settings(max_examples=40, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(["add", "mul", "sub", "maximum"]),
)
def test_broadcast_binary_ops_match_torch(shapes, op: str) -> None:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    xa, xb = gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = getattr(gg, op)(xa, xb)
    want = getattr(torch, op)(ta, tb)
    assert out.shape == tuple(want.shape) == shapes.result_shape
    (out * gg.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape))).sum().backward()
    (want * torch.arange(want.numel(), dtype=torch.float64).reshape(want.shape)).sum().backward()
    assert xa.grad.shape == a.shape and xb.grad.shape == b.shape
    np.testing.assert_allclose(xa.grad.numpy(), ta.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(xb.grad.numpy(), tb.grad.numpy(), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=5), data=st.data())
def test_reductions_over_any_dims(shape, data) -> None:
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda d: d % len(shape), min_size=1))
    keepdim = data.draw(st.booleans())
    a = np.random.default_rng(1).standard_normal(shape)
    x, t = gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    x.sum(tuple(dims), keepdim=keepdim).exp().sum().backward()
    t.sum(tuple(dims), keepdim=keepdim).exp().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), data=st.data())
def test_permute_reshape_round_trip(shape, data) -> None:
    order = data.draw(st.permutations(range(len(shape))))
    a = np.random.default_rng(2).standard_normal(shape)
    x = gg.tensor(a, requires_grad=True)
    y = x.permute(*order).reshape(-1)
    np.testing.assert_array_equal(y.detach().numpy(), a.transpose(order).reshape(-1))
    (y * gg.arange(y.numel()).double()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().transpose(order).reshape(-1), np.arange(y.numel()))
