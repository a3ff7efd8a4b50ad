"""Autograd semantics: accumulation, retain_graph, diamonds, deep chains, no_grad, hooks, bad calls."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F


def test_gradients_accumulate_until_zeroed() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [3 + 2, 3 + 4]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3, 3]
    x.grad.zero_()
    assert x.grad.tolist() == [0, 0]


def test_second_backward_needs_retain_graph() -> None:
    x = gg.tensor(2.0, requires_grad=True)
    y = x * x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 2 * 12
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_diamond_sums_both_paths() -> None:
    x = gg.tensor(3.0, requires_grad=True)
    h = x * 2  # used twice below
    y = h * h + h.exp()
    y.backward()
    assert x.grad.item() == pytest.approx(2 * (2 * 6 + np.exp(6)))


def test_chain_of_100000_ops_has_no_recursion_limit() -> None:
    x = gg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.backward()
    assert x.grad.item() == 1.0


def test_no_grad_records_nothing_and_is_a_decorator() -> None:
    x = gg.ones(2, requires_grad=True)
    with gg.no_grad():
        y = x * 2
        with gg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @gg.no_grad()
    def f(t: gg.Tensor) -> gg.Tensor:
        return t * 3

    assert not f(x).requires_grad and gg.is_grad_enabled()


def test_detach_cuts_the_graph() -> None:
    x = gg.tensor(2.0, requires_grad=True)
    y = x * x.detach()
    y.backward()
    assert x.grad.item() == 2.0


def test_hooks_see_and_replace_gradients() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    h = x * 2
    remove = h.register_hook(lambda g: g * 10)
    h.sum().backward()
    assert seen == [[20.0, 20.0]] and x.grad.tolist() == [20.0, 20.0]
    remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_retain_grad_on_non_leaf() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]


def test_backward_with_explicit_gradient() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(gg.tensor([1.0, -1.0]))
    assert x.grad.tolist() == [2.0, -2.0]


def test_bad_backward_calls() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs.*shape \\(2,\\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="gradient has shape \\(3,\\)"):
        (x * 2).backward(gg.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.ones(2).sum().backward()


def test_in_place_on_leaf_requiring_grad_is_an_error() -> None:
    x = gg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        x += 1
    with gg.no_grad():
        x += 1  # allowed without recording (how optimizers update)
    assert x.tolist() == [2.0, 2.0]


def test_in_place_on_non_leaf_is_recorded() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(x)
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_integer_tensors_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        gg.tensor([1, 2], requires_grad=True)


def test_non_differentiable_outputs() -> None:
    x = gg.randn(3, requires_grad=True)
    assert not (x > 0).requires_grad and not x.argmax().requires_grad
    values, indices = x.max(0)
    assert values.requires_grad and indices.dtype == gg.int64 and not indices.requires_grad


def test_max_dim_gradient_goes_to_the_returned_index() -> None:
    x = gg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(1)
    values.sum().backward()
    assert indices.tolist() == [1, 0]
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_amax_ties_share_the_gradient() -> None:
    x = gg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.amax().backward()
    assert x.grad.tolist() == [0, 0.5, 0.5]


def test_repeated_indices_scatter_add() -> None:
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[gg.tensor([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_leaf_grads_that_are_views_of_one_array_do_not_share_memory() -> None:
    """Add hands one gradient array to both inputs and each transpose returns a view of all of
    it: the first leaf adopts that memory, the second gets a copy."""
    a = gg.randn(3, 4, requires_grad=True)
    b = gg.randn(3, 4, requires_grad=True)
    (a.mT + b.mT).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[...] = 5.0
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((3, 4)))


def test_linear_weight_grad_is_adopted_without_a_copy() -> None:
    """dL/dW of x @ Wᵀ comes back through the transpose as a view of all of a fresh array, laid out as W;
    it becomes W.grad as it is."""
    x = gg.randn(8, 5)
    w = gg.randn(3, 5, requires_grad=True)
    (x @ w.mT).sum().backward()
    grad = w.grad.numpy()
    assert not grad.flags.owndata and grad.base.size == grad.size  # the view itself, not a copy of it
    assert grad.flags.c_contiguous
    np.testing.assert_allclose(grad, np.ones((8, 3)).T @ x.numpy(), rtol=1e-6)


def test_grad_is_laid_out_like_its_tensor() -> None:
    """PyTorch's gradient layout contract: .grad has its tensor's strides (W.grad C-contiguous like W,
    for a 3-D input too; an F-ordered leaf gets an F-ordered grad), which the optimizer kernels need."""
    x = gg.randn(2, 8, 5)
    w = gg.randn(3, 5, requires_grad=True)
    F.linear(x, w).sum().backward()
    assert w.grad.numpy().flags.c_contiguous
    np.testing.assert_allclose(w.grad.numpy(), np.ones((16, 3)).T @ x.numpy().reshape(16, 5), rtol=1e-5)
    f = gg.tensor(np.asfortranarray(np.ones((4, 3))), requires_grad=True)
    (f * gg.tensor(np.arange(12.0).reshape(4, 3))).sum().backward()
    assert f.grad.numpy().strides == f.detach().numpy().strides
    np.testing.assert_array_equal(f.grad.numpy(), np.arange(12.0).reshape(4, 3))


def test_tensor_used_directly_and_through_a_longer_path() -> None:
    """A tensor used twice, directly and through a longer path (a + 2a; a residual x + relu(x @ w)):
    every consumer's gradient arrives before the tensor passes it on."""
    import torch

    a = gg.tensor([2.0], requires_grad=True)
    (a + 2 * a).sum().backward()
    assert a.grad.tolist() == [3.0]
    rng = np.random.default_rng(0)
    xs, ws = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    x, w = gg.tensor(xs, requires_grad=True), gg.tensor(ws)
    (x + (x @ w).relu()).sum().backward()
    tx, tw = torch.tensor(xs, requires_grad=True), torch.tensor(ws)
    (tx + (tx @ tw).relu()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_topological_order_puts_every_consumer_first() -> None:
    from glassgrad.engine.autograd import topological_order
    from glassgrad.engine.function import Node

    x = gg.tensor(1.0, requires_grad=True)
    h = x * 2
    y = (h + (h * 3).exp()) * h
    order = topological_order(y.grad_fn)
    position = {id(v): i for i, v in enumerate(order)}
    for vertex in order:
        for parent in vertex.inputs if isinstance(vertex, Node) else ():
            if parent is not None:
                assert position[id(vertex)] < position[id(parent)]
    assert len(order) == len({id(v) for v in order}) == 6  # 5 nodes (mul, mul, exp, add, mul) and the leaf x
    assert order[0] is y.grad_fn and order[-1] is x


def test_graph_of_100000_ops_with_heavy_reuse() -> None:
    """Each node uses the previous one and one from halfway back: every tensor has two
    consumers far apart in the graph, and the order is still built without recursion."""
    x = gg.tensor(1.0, dtype=gg.float64, requires_grad=True)
    nodes = [x]
    for i in range(1, 100_000):
        nodes.append(nodes[-1] * 0.5 + nodes[i // 2] * 0.25)
    nodes[-1].backward()
    # the same recurrence on plain numbers: d(node_i)/dx
    d = [1.0]
    for i in range(1, 100_000):
        d.append(d[-1] * 0.5 + d[i // 2] * 0.25)
    assert x.grad.item() == pytest.approx(d[-1], rel=1e-12)
    assert nodes[-1].item() == pytest.approx(d[-1], rel=1e-12)  # the recurrence is linear in x = 1


def test_inplace_op_keeps_the_history_earlier_ops_used() -> None:
    """y used h before h.mul_(3): y's gradient must not see the multiplication (PyTorch: 2 + 3)."""
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h * 2
    h.mul_(3)
    (y.sum() + h.sum()).backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_inplace_op_on_a_view_updates_its_base_values_and_gradients() -> None:
    import torch

    def run(lib, tensor):
        x = tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        h = x * 1
        h[:, 1:3].mul_(10)  # values and history of h change through the view
        h.transpose(0, 1)[0].add_(h[0, 0].exp())  # a view of a view, with a value that depends on h itself
        w = tensor(np.arange(12.0).reshape(3, 4) / 7)
        (h * w).sum().backward()
        return h.detach().numpy(), x.grad.numpy()

    h, g = run(gg, gg.tensor)
    th, tg = run(torch, lambda a, requires_grad=False: torch.tensor(a, requires_grad=requires_grad))
    np.testing.assert_allclose(h, th, rtol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-12)


def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises_before_any_change() -> None:
    x = gg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="mul_: a view of a leaf tensor that requires grad"):
        x[0].mul_(2)
    assert x.tolist() == [[1.0] * 3] * 2
    with gg.no_grad():
        x[0].mul_(2)  # allowed without grad, and written through to x
    assert x.tolist() == [[2.0] * 3, [1.0] * 3]


def test_writing_a_grad_requiring_value_into_a_view_of_a_plain_tensor() -> None:
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    buffer = gg.zeros(2, 3)
    buffer[:, 0].copy_(w * 3)
    assert buffer.requires_grad and buffer.tolist() == [[3.0, 0, 0], [6.0, 0, 0]]
    buffer.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_backward_with_a_given_gradient_never_shares_its_memory() -> None:
    w, b = gg.ones(3, requires_grad=True), gg.ones(3, requires_grad=True)
    given = np.ones(3)
    (w + b).backward(gradient=given)
    b.grad.array[...] = 0
    w.backward(gradient=given)
    assert given.tolist() == [1.0] * 3 and w.grad.tolist() == [2.0] * 3


def test_accumulation_is_in_place_so_a_held_grad_sees_the_sum() -> None:
    x = gg.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    held = x.grad
    (x * 3).sum().backward()
    assert held is x.grad and held.tolist() == [5.0, 5.0]


def test_retain_grad_follows_a_tensor_through_an_inplace_op() -> None:
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    h.retain_grad()
    h.mul_(3)
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]  # d(h²)/dh at the new h = 3x, as PyTorch


def test_setitem_and_fill_inside_a_graph_are_recorded_as_pytorch() -> None:
    import torch

    def run(lib):
        x = lib.tensor([0.3, -0.7, 1.2], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
        grads = []
        for write in (
            lambda t: t[1:].fill_(0.5),  # through a view
            lambda t: t.zero_(),
            lambda t: t.__setitem__(0, x[2] * 5),  # a value that requires grad
            lambda t: t.__setitem__([0, 2], x[1] * w[:2]),  # advanced index
            lambda t: t.__setitem__((slice(None), None), lib.tensor([[1.0], [2.0], [3.0]], dtype=lib.float64)),
        ):
            x.grad = None
            t = x * 1
            write(t)
            (t * w).sum().backward()
            grads.append((t.detach().tolist(), x.grad.tolist()))
        return grads

    assert run(gg) == run(torch)


def test_setitem_on_a_leaf_that_requires_grad_raises_and_changes_nothing() -> None:
    x = gg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad"):
        x[0] = 5.0
    assert x.tolist() == [1.0, 1.0, 1.0]


def test_copy_from_a_leaf_that_requires_grad_sends_it_the_gradient() -> None:
    """x.copy_(v) with v a leaf of x's shape and dtype: v gets dL/dv as in PyTorch (the copy is recorded)."""
    v = gg.ones(2, 3, dtype=gg.float64, requires_grad=True)
    w = gg.zeros(2, 3, dtype=gg.float64, requires_grad=True) * 2
    w.copy_(v)
    (w * 3).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), np.full((2, 3), 3.0))


def test_a_gradient_allocated_by_numba_is_adopted_or_copied_without_error() -> None:
    """A numba-allocated array's ``.base`` is its MemInfo, not an array: .grad still gets its values."""
    import numba

    from glassgrad.engine.function import Function

    @numba.njit(cache=False)
    def doubled(a: np.ndarray) -> np.ndarray:
        return a * 2.0

    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return doubled(x)

        @staticmethod
        def backward(ctx, grad):
            return doubled(grad)

    x = gg.tensor(np.arange(4.0), requires_grad=True)
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, np.full(4, 2.0))


def test_a_0d_gradient_reaches_a_backward_that_writes_into_it_as_an_array() -> None:
    """Arithmetic on 0-d NumPy arrays returns NumPy scalars; the walk hands backward functions arrays, so
    the second derivative through a boolean-mask read of a 0-d tensor (IndexPut's backward writes into its
    gradient) works, with PyTorch's value: d/dx of 0.7 · 0.3 · (1 - tanh²x) at x = 0.5."""
    x = gg.tensor(np.array(0.5), requires_grad=True)
    loss = (x[x > 0].tanh() * gg.tensor(np.array([0.3]))).sum()
    (g,) = gg.autograd.grad(loss, [x], create_graph=True)
    (h,) = gg.autograd.grad((g * gg.tensor(np.array(0.7))).sum(), [x])
    t = np.tanh(0.5)
    assert type(h.array) is np.ndarray and h.shape == ()
    np.testing.assert_allclose(h.item(), 0.7 * 0.3 * -2 * t * (1 - t * t), rtol=1e-12)
