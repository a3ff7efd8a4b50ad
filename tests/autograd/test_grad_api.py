"""gg.autograd.grad and Tensor.backward against torch.autograd.grad and torch's backward (float64):
grad_outputs, several outputs and inputs, non-leaf inputs, allow_unused/materialize_grads, freed
graphs, create_graph (second derivatives, .grad with a graph), backward(inputs=), retain_grad, hooks
and the shape of grad_fn.next_functions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg

# PyTorch's note on backward(create_graph=True) (a .grad that references its own graph) is no failure here
pytestmark = pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")

ATOL = 1e-10
X = np.array([0.5, -1.25, 2.0])
W = np.array([1.5, 0.25, -0.75])
V = np.array([1.0, -2.0, 0.5])


def pair(a: np.ndarray, requires_grad: bool = True) -> tuple[gg.Tensor, torch.Tensor]:
    return gg.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def close(ours: Any, theirs: Any) -> None:
    """Tuples of gradients (None where PyTorch has None) with the same values."""
    if isinstance(theirs, tuple | list):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            close(o, t)
    elif theirs is None:
        assert ours is None
    else:
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=0, atol=ATOL)


class TestGrad:
    def test_scalar_output(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        close(gg.autograd.grad((x * w).tanh().sum(), x), torch.autograd.grad((tx * tw).tanh().sum(), tx))
        assert x.grad is None and w.grad is None  # nothing accumulated

    def test_grad_outputs_for_a_vector_output(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        ours = gg.autograd.grad(x.exp() * w, [x, w], gg.tensor(V))
        close(ours, torch.autograd.grad(tx.exp() * tw, [tx, tw], torch.tensor(V)))

    def test_a_vector_output_needs_grad_outputs(self) -> None:
        (x, tx) = pair(X)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            gg.autograd.grad(x * 2, x)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            torch.autograd.grad(tx * 2, tx)

    def test_grad_outputs_of_the_wrong_shape(self) -> None:
        x, _ = pair(X)
        with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\) but the output has shape \(3,\)"):
            gg.autograd.grad(x * 2, x, gg.ones(2, dtype=gg.float64))
        with pytest.raises(RuntimeError, match="got 1 grad_outputs for 2 outputs"):
            gg.autograd.grad([x.sum(), x.sum()], x, [None])

    def test_several_outputs_sum_their_vjps(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        ours = gg.autograd.grad([(x * w).sum(), x.sin() * w], [x, w], [None, gg.tensor(V)])
        theirs = torch.autograd.grad([(tx * tw).sum(), tx.sin() * tw], [tx, tw], [None, torch.tensor(V)])
        close(ours, theirs)

    def test_the_same_output_twice_counts_twice(self) -> None:
        (x, tx) = pair(X)
        y, ty = (x * x).sum(), (tx * tx).sum()
        close(gg.autograd.grad([y, y], x), torch.autograd.grad([ty, ty], tx))

    def test_an_output_that_feeds_another(self) -> None:
        (x, tx) = pair(X)
        h, th = x * 3.0, tx * 3.0
        ours = gg.autograd.grad([(h * h).sum(), h], x, [None, gg.tensor(V)])
        close(ours, torch.autograd.grad([(th * th).sum(), th], tx, [None, torch.tensor(V)]))

    def test_the_same_input_twice(self) -> None:
        (x, tx) = pair(X)
        close(gg.autograd.grad((x * x).sum(), [x, x]), torch.autograd.grad((tx * tx).sum(), [tx, tx]))

    def test_non_leaf_inputs(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        h, th = x * w, tx * tw
        ours = gg.autograd.grad((h.exp() * h).sum(), [h, x, w])
        close(ours, torch.autograd.grad((th.exp() * th).sum(), [th, tx, tw]))

    def test_an_output_as_its_own_input(self) -> None:
        (x, tx) = pair(X)
        close(gg.autograd.grad(x, x, gg.tensor(V)), torch.autograd.grad(tx, tx, torch.tensor(V)))
        h, th = x * 2.0, tx * 2.0
        close(gg.autograd.grad(h, h, gg.tensor(V)), torch.autograd.grad(th, th, torch.tensor(V)))

    def test_unused_input_raises_unless_allowed(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        with pytest.raises(RuntimeError, match=r"input 1 \(shape \(3,\)\) is not used by the outputs' graph"):
            gg.autograd.grad((x * 2).sum(), [x, w])
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            torch.autograd.grad((tx * 2).sum(), [tx, tw])
        ours = gg.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)
        close(ours, torch.autograd.grad((tx * 2).sum(), [tx, tw], allow_unused=True))
        assert ours[1] is None

    def test_materialize_grads(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        ours = gg.autograd.grad((x * 2).sum(), [x, w], materialize_grads=True)  # allow_unused follows it
        close(ours, torch.autograd.grad((tx * 2).sum(), [tx, tw], materialize_grads=True))
        assert ours[1].dtype == gg.float64 and not ours[1].numpy().any()
        with pytest.raises(ValueError, match="materialize_grads"):
            gg.autograd.grad((x * 2).sum(), [x, w], allow_unused=False, materialize_grads=True)
        with pytest.raises(ValueError, match="materialize_grads"):
            torch.autograd.grad((tx * 2).sum(), [tx, tw], allow_unused=False, materialize_grads=True)

    def test_inputs_and_outputs_must_require_grad(self) -> None:
        x, _ = pair(X)
        with pytest.raises(RuntimeError, match="does not require grad"):
            gg.autograd.grad((x * 2).sum(), gg.tensor(W))
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            gg.autograd.grad(gg.tensor(W).sum(), x)
        with pytest.raises(TypeError, match=r"inputs\[0\] must be a Tensor"):
            gg.autograd.grad(x.sum(), [X])

    def test_hooks_of_an_input_run(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        x.register_hook(lambda g: g * 10)
        tx.register_hook(lambda g: g * 10)
        close(gg.autograd.grad((x * w).sum(), x), torch.autograd.grad((tx * tw).sum(), tx))


class TestRetainGraph:
    def test_a_second_pass_through_a_freed_graph_raises(self) -> None:
        (x, tx) = pair(X)
        y, ty = (x * x).sum(), (tx * tx).sum()
        gg.autograd.grad(y, x)
        torch.autograd.grad(ty, tx)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            gg.autograd.grad(y, x)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            torch.autograd.grad(ty, tx)

    def test_backward_twice_raises(self) -> None:
        (x, tx) = pair(X)
        y, ty = (x.exp() * x).sum(), (tx.exp() * tx).sum()
        y.backward()
        ty.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            ty.backward()

    def test_retain_graph_allows_a_second_pass(self) -> None:
        (x, tx) = pair(X)
        y, ty = (x.exp() * x).sum(), (tx.exp() * tx).sum()
        y.backward(retain_graph=True)
        y.backward()
        ty.backward(retain_graph=True)
        ty.backward()
        close(x.grad, tx.grad)  # accumulated twice

    def test_create_graph_with_retain_graph_false_frees_the_first_graph(self) -> None:
        (x, tx) = pair(X)
        (g,) = gg.autograd.grad((x * x * x).sum(), x, create_graph=True, retain_graph=False)
        (tg,) = torch.autograd.grad((tx * tx * tx).sum(), tx, create_graph=True, retain_graph=False)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            gg.autograd.grad(g.sum(), x)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            torch.autograd.grad(tg.sum(), tx)


class TestCreateGraph:
    def test_second_derivative_through_grad(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        (g,) = gg.autograd.grad((x.sin() * w * x).sum(), x, create_graph=True)
        (tg,) = torch.autograd.grad((tx.sin() * tw * tx).sum(), tx, create_graph=True)
        assert g.requires_grad and g.grad_fn is not None
        close(g, tg)
        close(gg.autograd.grad(g, [x, w], gg.tensor(V)), torch.autograd.grad(tg, [tx, tw], torch.tensor(V)))

    def test_third_derivative(self) -> None:
        (x, tx) = pair(X)
        (g,) = gg.autograd.grad((x.exp() * x * x).sum(), x, create_graph=True)
        (h,) = gg.autograd.grad(g.sum(), x, create_graph=True)
        (tg,) = torch.autograd.grad((tx.exp() * tx * tx).sum(), tx, create_graph=True)
        (th,) = torch.autograd.grad(tg.sum(), tx, create_graph=True)
        close(gg.autograd.grad(h.sum(), x), torch.autograd.grad(th.sum(), tx))

    def test_second_derivative_of_a_non_leaf(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        h, th = x * w, tx * tw
        (g,) = gg.autograd.grad((h * h * h).sum(), h, create_graph=True)
        (tg,) = torch.autograd.grad((th * th * th).sum(), th, create_graph=True)
        close(gg.autograd.grad(g.sum(), [x, w]), torch.autograd.grad(tg.sum(), [tx, tw]))

    def test_grad_outputs_with_a_graph(self) -> None:
        """d(vᵀJ)/dv = J: the vjp is differentiated with respect to v itself."""
        (x, tx), (v, tv) = pair(X), pair(V)
        (vj,) = gg.autograd.grad(x.exp() * x, x, v, create_graph=True)
        (tvj,) = torch.autograd.grad(tx.exp() * tx, tx, tv, create_graph=True)
        close(gg.autograd.grad((vj * vj).sum(), [v, x]), torch.autograd.grad((tvj * tvj).sum(), [tv, tx]))

    def test_backward_create_graph_leaves_a_grad_with_a_graph(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        (x * x * x * w).sum().backward(create_graph=True)
        (tx * tx * tx * tw).sum().backward(create_graph=True)
        assert x.grad.grad_fn is not None and x.grad.requires_grad
        assert tx.grad.grad_fn is not None
        close((x.grad, w.grad), (tx.grad, tw.grad))
        close(gg.autograd.grad(x.grad.sum(), [x, w]), torch.autograd.grad(tx.grad.sum(), [tx, tw]))

    def test_backward_create_graph_accumulates_with_a_graph(self) -> None:
        (x, tx) = pair(X)
        (x**3).sum().backward(create_graph=True)
        (x.sin()).sum().backward(create_graph=True)
        (tx**3).sum().backward(create_graph=True)
        (tx.sin()).sum().backward(create_graph=True)
        close(x.grad, tx.grad)
        close(gg.autograd.grad(x.grad.sum(), x), torch.autograd.grad(tx.grad.sum(), tx))

    def test_create_graph_keeps_the_graph(self) -> None:
        (x, tx) = pair(X)
        y, ty = (x * x).sum(), (tx * tx).sum()
        gg.autograd.grad(y, x, create_graph=True)  # retain_graph defaults to create_graph
        torch.autograd.grad(ty, tx, create_graph=True)
        close(gg.autograd.grad(y, x), torch.autograd.grad(ty, tx))

    def test_without_create_graph_the_result_has_no_graph(self) -> None:
        x, _ = pair(X)
        (g,) = gg.autograd.grad((x * x).sum(), x)
        assert not g.requires_grad and g.grad_fn is None


class TestBackwardInputs:
    def test_only_the_given_leaves_accumulate(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        (x * w).exp().sum().backward(inputs=[w])
        (tx * tw).exp().sum().backward(inputs=[tw])
        assert x.grad is None and tx.grad is None
        close(w.grad, tw.grad)

    def test_a_single_tensor_and_accumulation(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        for _ in range(2):
            (x * w * w).sum().backward(inputs=w)
            (tx * tw * tw).sum().backward(inputs=tw)
        close(w.grad, tw.grad)

    def test_a_non_leaf_input_gets_a_grad(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        h, th = x * w, tx * tw
        (h * h).sum().backward(inputs=[h])
        (th * th).sum().backward(inputs=[th])
        close(h.grad, th.grad)
        assert x.grad is None and tx.grad is None

    def test_inputs_must_require_grad(self) -> None:
        x, _ = pair(X)
        with pytest.raises(RuntimeError, match="does not require grad"):
            (x * 2).sum().backward(inputs=[gg.tensor(W)])


class TestRetainGrad:
    def test_a_non_leaf_keeps_its_grad(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        h, th = x * w, tx * tw
        h.retain_grad()
        th.retain_grad()
        u, tu = h.tanh(), th.tanh()  # a non-leaf without retain_grad
        (u * h).sum().backward()
        (tu * th).sum().backward()
        close((h.grad, x.grad, w.grad), (th.grad, tx.grad, tw.grad))
        assert u.grad is None

    def test_retained_grad_with_create_graph_has_a_graph(self) -> None:
        (x, tx) = pair(X)
        h, th = x * 2.0, tx * 2.0
        h.retain_grad()
        th.retain_grad()
        (h**3).sum().backward(create_graph=True)
        (th**3).sum().backward(create_graph=True)
        close(h.grad, th.grad)
        assert h.grad.grad_fn is not None
        close(gg.autograd.grad(h.grad.sum(), x), torch.autograd.grad(th.grad.sum(), tx))

    def test_retain_grad_on_a_leaf_changes_nothing(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        x.retain_grad()
        tx.retain_grad()
        (x * w).sum().backward()
        (tx * tw).sum().backward()
        close(x.grad, tx.grad)

    def test_needs_requires_grad(self) -> None:
        with pytest.raises(RuntimeError, match="requires_grad=False"):
            gg.tensor(X).retain_grad()
        with pytest.raises(RuntimeError, match="requires_grad=False"):
            torch.tensor(X).retain_grad()


def structure(fn: Any) -> Any:
    """A grad_fn's next_functions as nested tuples of kinds: the node's inputs, recursively; a leaf
    as ("AccumulateGrad", its shape), a missing edge as None. Node names drop PyTorch's overload
    digit (MulBackward0 → Mul)."""
    if fn is None:
        return None
    name = type(fn).__name__ if isinstance(fn, torch.autograd.graph.Node) else fn.name()
    if name == "AccumulateGrad":
        return ("AccumulateGrad", tuple(fn.variable.shape))
    kind = name.rstrip("0123456789").removesuffix("Backward")
    return (kind, tuple(structure(f) for f, _ in fn.next_functions))


class TestNextFunctions:
    def test_the_structure_matches_pytorch(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        c, tc = gg.tensor(V), torch.tensor(V)  # no grad: a None edge
        y = ((x * w + x) * c).exp().sum()
        ty = ((tx * tw + tx) * tc).exp().sum()
        assert structure(y.grad_fn) == structure(ty.grad_fn)
        assert structure(y.grad_fn) == (
            "Sum",
            (
                (
                    "Exp",
                    (
                        (
                            "Mul",
                            (
                                (
                                    "Add",
                                    (
                                        ("Mul", (("AccumulateGrad", (3,)), ("AccumulateGrad", (3,)))),
                                        ("AccumulateGrad", (3,)),
                                    ),
                                ),
                                None,
                            ),
                        ),
                    ),
                ),
            ),
        )

    def test_a_reused_tensor_is_one_node(self) -> None:
        x, _ = pair(X)
        h = x.exp()
        y = h * h + h
        mul = y.grad_fn.next_functions[0][0]
        assert mul.next_functions[0][0] is mul.next_functions[1][0] is h.grad_fn
        assert y.grad_fn.next_functions[1][0] is h.grad_fn

    def test_accumulate_grad_points_at_the_leaf(self) -> None:
        (x, tx), (w, tw) = pair(X), pair(W)
        edges = (x * w).grad_fn.next_functions
        assert edges[0][0].variable is x and edges[1][0].variable is w
        assert [i for _, i in edges] == [i for _, i in (tx * tw).grad_fn.next_functions] == [0, 0]
        assert edges[0][0].next_functions == () == (tx * tw).grad_fn.next_functions[0][0].next_functions
        assert x.grad_fn is None and tx.grad_fn is None
