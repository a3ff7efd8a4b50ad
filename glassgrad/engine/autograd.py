"""Reverse-mode autodiff: walk the recorded graph from the output back to the leaves.

For a scalar loss L and every tensor t in its graph, backward computes
dL/dt by the chain rule, visiting each tensor only after every tensor that
uses it (reverse topological order), so a tensor used twice (a diamond, a
residual connection) gets the *sum* of its gradients before passing them on.
The order is built without recursion, so a chain of 100,000 ops works.
"""

from __future__ import annotations

from typing import Any

from .grad_mode import no_grad


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` back to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting prepends size-1 dims and stretches size-1 dims; its gradient
    sums over the prepended dims and over the stretched ones (keeping them).
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def topological_order(root: Node | Tensor) -> list[Node | Tensor]:
    """The graph's vertices (nodes, and leaf tensors that require grad) reachable from
    ``root``, root first, each one after *every* vertex that consumed it. A node's
    parents are its ``inputs``; a leaf has none.

    Kahn's algorithm on consumer counts, iterative (no recursion limit):

    1. walk the graph once and count, for every vertex v, the edges from the
       nodes that use v (``a * a`` counts two);
    2. start from the root; a vertex becomes ready when its last consumer has
       been emitted, i.e. when all of dL/dv has been summed.

    Marking a vertex when it is first *reached* instead (a plain DFS with a
    visited set) emits it too early whenever it is used both directly and
    through a longer path (``a + 2 * a``, every residual connection).
    """
    consumers: dict[int, int] = {id(root): 0}
    stack = [root]
    while stack:
        vertex = stack.pop()
        for parent in vertex.inputs if type(vertex) is Node else ():
            if parent is not None:
                key = id(parent)
                if key not in consumers:
                    consumers[key] = 0
                    stack.append(parent)
                consumers[key] += 1
    order: list[Node | Tensor] = []
    ready = [root]
    while ready:
        vertex = ready.pop()
        order.append(vertex)
        for parent in vertex.inputs if type(vertex) is Node else ():
            if parent is not None:
                key = id(parent)
                consumers[key] -= 1
                if consumers[key] == 0:
                    ready.append(parent)
    return order


def _initial_gradient(root: Tensor, gradient: Any) -> Any:
    if not root.requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn "
            "(was it made inside no_grad(), or from tensors with requires_grad=False?)"
        )
    if gradient is None:
        if root.numel() != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, "
                f"but the output has shape {root.shape}; pass gradient= of that shape"
            )
        return root.xp.ones_like(root.array)
    g = gradient.array if isinstance(gradient, Tensor) else root.xp.asarray(gradient)
    if g.shape != root.shape:
        raise RuntimeError(f"backward: gradient has shape {tuple(g.shape)} but the output has shape {root.shape}")
    return g.astype(root.dtype, copy=False)


def _memory_owner(g: Any) -> Any:
    """The array whose memory g is all of (g itself, or the base of a view that spans its base), else None."""
    if getattr(g, "flags", None) is None:
        return None
    owner = g if g.flags.owndata else g.base
    return owner if owner is not None and owner.size == g.size else None


def _accumulate_grad(tensor: Tensor, g: Any, handed_out: set[int]) -> None:
    """tensor.grad += g, in place once .grad exists (a reference to it sees the sum, as in
    PyTorch). The first gradient is adopted without a copy when it is a fresh array that
    no other .grad holds, or a view of all of one (such as Linear's W.grad, xᵀg coming
    back transposed through Wᵀ); partial views and memory already handed to another
    tensor are copied, so that in-place updates of one .grad never show up in another."""
    if tensor.grad is None:
        owner = _memory_owner(g)
        adopt = owner is not None and id(owner) not in handed_out
        tensor._grad = Tensor(g if adopt else g.copy())  # not the checked .grad setter: g has tensor's meta
        handed_out.add(id(owner) if adopt else id(tensor.grad.array))
    elif tensor.grad.shape == g.shape and tensor.grad.array.flags.writeable:
        tensor.grad.array += g
    else:
        tensor._grad = Tensor(tensor.grad.array + g)


def _run_hooks(hooks: list[Any], g: Any) -> Any:
    for hook in hooks:
        replaced = hook(Tensor(g))
        if replaced is not None:
            g = replaced.array if isinstance(replaced, Tensor) else replaced
    return g


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    g0 = _initial_gradient(root, gradient)
    start = root.grad_fn if root.grad_fn is not None else root
    pending: dict[int, Any] = {id(start): g0}
    handed_out: set[int] = set()
    if gradient is not None:
        handed_out.add(id(_memory_owner(g0)))  # the caller's array (or None): a .grad gets a copy, never it
    with no_grad():
        for vertex in topological_order(start):
            g = pending.pop(id(vertex), None)
            if g is None:
                continue
            if isinstance(vertex, Tensor):  # a leaf
                _accumulate_grad(vertex, _run_hooks(vertex._hooks, g), handed_out)
                continue
            node = vertex
            g = _run_hooks(node.hooks, g)
            retained = node.retained_by() if node.retained_by is not None else None
            if retained is not None:
                _accumulate_grad(retained, g, handed_out)
            if node.freed:
                raise RuntimeError(
                    f"backward: trying to backward through the graph a second time "
                    f"({node.name()} was freed); pass retain_graph=True to the first backward"
                )
            input_grads = node.function.backward(node.ctx, g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if len(input_grads) != len(node.inputs):
                raise RuntimeError(f"{node.name()} returned {len(input_grads)} gradients for {len(node.inputs)} inputs")
            for parent, meta, pg in zip(node.inputs, node.input_meta, input_grads, strict=True):
                if parent is None or pg is None:
                    continue
                shape, dtype = meta
                pg = unbroadcast(pg, shape).astype(dtype, copy=False)
                key = id(parent)
                pending[key] = pg if key not in pending else pending[key] + pg
            if not retain_graph:
                node.ctx.saved_arrays = None
                node.freed = True


from .function import Node  # noqa: E402 - at the end, as in function.py
from .tensor import Tensor  # noqa: E402 - at the end, as in function.py
