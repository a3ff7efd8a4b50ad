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


def consumer_counts(root: Node | Tensor) -> dict[int, int]:
    """For every vertex reachable from ``root`` (nodes, and leaf tensors that require grad), by id:
    the number of edges from the nodes that use it (``a * a`` counts two). A node's parents are
    its ``inputs``; a leaf has none. One iterative walk (no recursion limit)."""
    consumers: dict[int, int] = {id(root): 0}
    stack = [root]
    while stack:
        vertex = stack.pop()
        if type(vertex) is Node:
            for parent in vertex.inputs:
                if parent is not None:
                    key = id(parent)
                    if key in consumers:
                        consumers[key] += 1
                    else:
                        consumers[key] = 1
                        stack.append(parent)
    return consumers


def topological_order(root: Node | Tensor) -> list[Node | Tensor]:
    """The graph's vertices reachable from ``root``, root first, each one after *every* vertex
    that consumed it: Kahn's algorithm on ``consumer_counts``. Starting from the root, a vertex
    becomes ready when its last consumer has been emitted, i.e. when all of dL/dv has been summed.
    ``backward`` walks the graph in this order (the same loop, fused with the gradient step).

    Marking a vertex when it is first *reached* instead (a plain DFS with a visited set) emits it
    too early whenever it is used both directly and through a longer path (``a + 2 * a``, every
    residual connection).
    """
    consumers = consumer_counts(root)
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
    no other .grad holds, or a view of all of one, laid out as the tensor is (PyTorch's
    gradient layout contract: .grad has its parameter's strides, which the optimizer
    kernels' one pass over memory relies on). Otherwise it is copied into an array laid
    out like the tensor: Linear's W.grad, xᵀg coming back transposed through Wᵀ, a
    partial view, memory already handed to another tensor (in-place updates of one
    .grad must never show up in another)."""
    if tensor.grad is None:
        owner = _memory_owner(g)
        adopt = owner is not None and id(owner) not in handed_out and g.strides == tensor.array.strides
        if adopt:
            handed_out.add(id(owner))
        else:
            laid_out = tensor.xp.empty_like(tensor.array)
            laid_out[...] = g
            g = laid_out
            handed_out.add(id(g))
        tensor._grad = Tensor(g)  # not the checked .grad setter: g has tensor's meta
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
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    The vertices are visited in ``topological_order``, the walk and the gradient step in one
    loop: a node's ``backward`` turns dL/d(output) into dL/d(input) per input, each summed back
    to the input's shape (``unbroadcast``), cast to its dtype and added to that input's pending
    gradient; the input becomes ready once its last consumer has passed its share on.
    """
    g0 = _initial_gradient(root, gradient)
    start = root.grad_fn if root.grad_fn is not None else root
    pending: dict[int, Any] = {id(start): g0}
    handed_out: set[int] = set()
    if gradient is not None:
        handed_out.add(id(_memory_owner(g0)))  # the caller's array (or None): a .grad gets a copy, never it
    consumers = consumer_counts(start)
    ready = [start]
    with no_grad():
        while ready:
            vertex = ready.pop()
            g = pending.pop(id(vertex), None)
            if type(vertex) is not Node:  # a leaf
                if g is not None:
                    _accumulate_grad(vertex, _run_hooks(vertex._hooks, g), handed_out)
                continue
            node = vertex
            grads = (None,) * len(node.inputs) if g is None else _node_backward(node, g, retain_graph, handed_out)
            for parent, meta, pg in zip(node.inputs, node.input_meta, grads, strict=True):
                if parent is None:
                    continue
                key = id(parent)
                if pg is not None:
                    shape, dtype = meta
                    if pg.shape != shape:
                        pg = unbroadcast(pg, shape)
                    if pg.dtype != dtype:
                        pg = pg.astype(dtype)
                    pending[key] = pg if key not in pending else pending[key] + pg
                consumers[key] -= 1
                if consumers[key] == 0:
                    ready.append(parent)


def _node_backward(node: Node, g: Any, retain_graph: bool, handed_out: set[int]) -> tuple[Any, ...]:
    """One gradient per input of ``node`` (None where there is none) from g = dL/d(its output),
    after the output's hooks and retain_grad; frees the saved arrays unless ``retain_graph``."""
    if node.hooks:
        g = _run_hooks(node.hooks, g)
    if node.retained_by is not None:
        retained = node.retained_by()
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
    if not retain_graph:
        node.ctx.saved_arrays = None
        node.freed = True
    return input_grads


from .function import Node  # noqa: E402 - at the end, as in function.py
from .tensor import Tensor  # noqa: E402 - at the end, as in function.py
