"""Reverse-mode autodiff: walk the recorded graph from the output back to the leaves.

For a scalar loss L and every tensor t in its graph, backward computes
dL/dt by the chain rule, visiting each tensor only after every tensor that
uses it (reverse topological order), so a tensor used twice (a diamond, a
residual connection) gets the *sum* of its gradients before passing them on.
The order is built without recursion, so a chain of 100,000 ops works.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy import ndarray  # a global, not np.ndarray: numpy's module __getattr__ keeps Python 3.11 from caching np.X

from . import observers
from .dtypes import COMPUTE_DTYPE, LOW_PRECISION, summed
from .grad_mode import enable_grad, no_grad


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` back to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting prepends size-1 dims and stretches size-1 dims; its gradient
    sums over the prepended dims and over the stretched ones (keeping them).
    """
    if grad.shape == tuple(shape):
        return grad
    if grad.dtype in LOW_PRECISION:  # summed in float32 and rounded once, as PyTorch
        return unbroadcast(grad.astype(COMPUTE_DTYPE), shape).astype(grad.dtype)
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = summed(grad, tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = summed(grad, stretched, True)
    return grad


def consumer_counts(*roots: Node | Tensor) -> dict[int, int]:
    """For every vertex reachable from ``roots`` (nodes, and leaf tensors that require grad), by id:
    the number of edges from the nodes that use it (``a * a`` counts two). A node's parents are
    its ``inputs``; a leaf has none. One iterative walk (no recursion limit)."""
    consumers: dict[int, int] = {id(root): 0 for root in roots}
    stack = list(roots) if len(roots) == 1 else list(dict.fromkeys(roots))  # a root given twice is walked once
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


def topological_order(*roots: Node | Tensor) -> list[Node | Tensor]:
    """The graph's vertices reachable from ``roots``, roots first, each one after *every* vertex
    that consumed it: Kahn's algorithm on ``consumer_counts``. A vertex becomes ready when its
    last consumer has been emitted, i.e. when all of dL/dv has been summed. ``backward`` walks
    the graph in this order (the same loop, fused with the gradient step).

    Marking a vertex when it is first *reached* instead (a plain DFS with a visited set) emits it
    too early whenever it is used both directly and through a longer path (``a + 2 * a``, every
    residual connection).
    """
    consumers = consumer_counts(*roots)
    order: list[Node | Tensor] = []
    ready = [r for r in dict.fromkeys(roots) if consumers[id(r)] == 0]
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


def _leading_to(roots: list[Node | Tensor], targets: set[int]) -> set[int]:
    """The ids of the vertices from which some target is reachable (targets included): the only
    ones whose backward ``grad(outputs, inputs)`` needs to run."""
    needed: set[int] = set()
    for vertex in reversed(topological_order(*roots)):  # every parent before its consumers
        if id(vertex) in targets or (
            type(vertex) is Node and any(p is not None and id(p) in needed for p in vertex.inputs)
        ):
            needed.add(id(vertex))
    return needed


def _initial_gradient(op: str, root: Tensor, gradient: Any, create_graph: bool) -> Any:
    """dL/d(root) to start from: ones for a one-element root, else ``gradient`` checked against it
    (as a Recorded tensor, keeping its own history, when the backward is recorded)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{op}: outputs must be Tensors, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError(
            f"{op}: element 0 of tensors does not require grad and does not have a grad_fn "
            "(was it made inside no_grad(), or from tensors with requires_grad=False?)"
        )
    if gradient is None:
        if root.numel() != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs, "
                f"but the output has shape {root.shape}; pass a gradient of that shape"
            )
        g = root.xp.ones_like(root.array)
        return Recorded(Tensor(g)) if create_graph else g
    g = gradient.array if isinstance(gradient, Tensor) else root.xp.asarray(gradient)
    if g.shape != root.shape:
        raise RuntimeError(f"{op}: gradient has shape {tuple(g.shape)} but the output has shape {root.shape}")
    if create_graph:
        t = gradient if isinstance(gradient, Tensor) else Tensor(g)
        return Recorded(t if t.dtype == root.dtype else t.to(root.dtype))
    return g.astype(root.dtype, copy=False)


def _memory_owner(g: Any) -> Any:
    """The array whose memory g is all of (g itself, or the base of a view that spans its base), else None."""
    if getattr(g, "flags", None) is None:
        return None
    owner = g if g.flags.owndata else g.base  # a numba-allocated array's base is its MemInfo, not an array
    return owner if getattr(owner, "size", None) == g.size else None


def _accumulate_grad(tensor: Tensor, g: Any, handed_out: set[int]) -> None:
    """tensor.grad += g, in place once .grad exists (a reference to it sees the sum, as in
    PyTorch). The first gradient is adopted without a copy when it is a fresh array that
    no other .grad holds, or a view of all of one, laid out as the tensor is (PyTorch's
    gradient layout contract: .grad has its parameter's strides, which the optimizer
    kernels' one pass over memory relies on). Otherwise it is copied into an array laid
    out like the tensor: Linear's W.grad, xᵀg coming back transposed through Wᵀ, a
    partial view, memory already handed to another tensor (in-place updates of one
    .grad must never show up in another). A recorded gradient (``create_graph``) is kept
    as the tensor it is, with its graph, and summed out of place."""
    if type(g) is Recorded:
        tensor._grad = g.tensor if tensor.grad is None else tensor.grad + g.tensor
        return
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
    """Each hook sees the gradient as a Tensor and may return a replacement."""
    for hook in hooks:
        replaced = hook(g.tensor if type(g) is Recorded else Tensor(g))
        if replaced is not None:
            if type(g) is Recorded:
                g = Recorded(replaced if isinstance(replaced, Tensor) else Tensor(replaced))
            else:
                g = replaced.array if isinstance(replaced, Tensor) else replaced
    return g


def backward(
    root: Tensor,
    gradient: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad (only into
    ``inputs`` when given). With ``create_graph`` the backward pass is itself recorded, so each
    ``.grad`` has a graph and can be differentiated again; the graph is then kept (``retain_graph``
    defaults to ``create_graph``, as in PyTorch)."""
    only = None if inputs is None else _as_tensors("backward", inputs, "inputs")
    if only is not None:
        for t in only:
            if not t.requires_grad:
                raise RuntimeError("backward: one of the differentiated Tensors does not require grad")
    g0 = _initial_gradient("backward", root, gradient, create_graph)
    keep = create_graph if retain_graph is None else retain_graph
    handed_out: set[int] = set()
    if gradient is not None and not create_graph:
        handed_out.add(id(_memory_owner(g0)))  # the caller's array (or None): a .grad gets a copy, never it
    targets = None if only is None else {id(_vertex(t)): t for t in only}
    got = _walk([root], [g0], keep, create_graph, targets, handed_out)
    if targets is not None:
        for key, t in targets.items():
            if key in got:
                _accumulate_grad(t, got[key], handed_out)
                for hook in t._post_accumulate_grad_hooks:
                    hook(t)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs`` (``torch.autograd.grad``): Σᵢ vᵢᵀ ∂outᵢ/∂x
    for each input x, with vᵢ = ``grad_outputs[i]`` (ones for a one-element output). Nothing is
    accumulated into ``.grad``. With ``create_graph`` the result has a graph of its own (a derivative
    that can be differentiated). An input the outputs do not depend on raises unless ``allow_unused``
    (then None, or zeros with ``materialize_grads``)."""
    outs = _as_tensors("grad", outputs, "outputs")
    ins = _as_tensors("grad", inputs, "inputs")
    if grad_outputs is None:
        gouts: list[Any] = [None] * len(outs)
    else:
        gouts = list(grad_outputs) if isinstance(grad_outputs, list | tuple) else [grad_outputs]
        if len(gouts) != len(outs):
            raise RuntimeError(f"grad: got {len(gouts)} grad_outputs for {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused not to be False")
    roots = [(o, g) for o, g in zip(outs, gouts, strict=True)]
    starts = [_initial_gradient("grad", o, g, create_graph) for o, g in roots]
    keep = create_graph if retain_graph is None else retain_graph
    targets = {id(_vertex(t)): t for t in ins}
    got = _walk(outs, starts, keep, create_graph, targets, set())
    results: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = got.get(id(_vertex(t)))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {t.shape}) is not used by the outputs' graph; pass allow_unused=True"
                )
            results.append(Tensor(t.xp.zeros_like(t.array)) if materialize_grads else None)
        elif type(g) is Recorded:
            results.append(g.tensor)
        else:
            results.append(Tensor(g))
    return tuple(results)


def _as_tensors(op: str, value: Any, what: str) -> list[Tensor]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {what}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def _vertex(t: Tensor) -> Node | Tensor:
    """Where a tensor's gradient collects in the graph: its node, or itself for a leaf."""
    return t.grad_fn if t.grad_fn is not None else t


def _walk(
    roots: list[Tensor],
    starts: list[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: dict[int, Tensor] | None,
    handed_out: set[int],
) -> dict[int, Any]:
    """The backward pass from ``roots`` (gradients ``starts``), in ``topological_order``: a node's
    ``backward`` turns dL/d(output) into dL/d(input) per input, each summed back to the input's shape
    (``unbroadcast``), cast to its dtype and added to that input's pending gradient; the input becomes
    ready once its last consumer has passed its share on. Leaves accumulate into ``.grad`` when
    ``targets`` is None; otherwise only the targets' gradients are collected (and returned by id), and
    only the nodes that lead to one run. A recorded pass (``create_graph``) carries Recorded gradients,
    so the same loop records its own graph."""
    if len(roots) == 1:  # loss.backward(): one root, where the walk starts
        vertices = [roots[0].grad_fn or roots[0]]
        pending: dict[int, Any] = {id(vertices[0]): starts[0]}
        consumers = consumer_counts(vertices[0])
        ready = vertices[:]
    else:
        vertices = [_vertex(r) for r in roots]
        pending = {}
        for v, g in zip(vertices, starts, strict=True):
            key = id(v)
            pending[key] = g if key not in pending else pending[key] + g
        consumers = consumer_counts(*vertices)
        ready = [v for v in dict.fromkeys(vertices) if consumers[id(v)] == 0]
    capture = pruning = targets is not None
    needed = _leading_to(vertices, set(targets)) if pruning else set()  # type: ignore[arg-type]
    got: dict[int, Any] = {}
    observing = bool(observers.ACTIVE)
    # NumPy's overflow/invalid warnings are off for the walk: PyTorch's backward is silent when a scaled
    # (GradScaler) gradient overflows to inf and inf·0 gives NaN; the scaler finds them and skips the step.
    with enable_grad() if create_graph else no_grad(), np.errstate(over="ignore", invalid="ignore"):
        while ready:
            vertex = ready.pop()
            key = id(vertex)
            g = pending.pop(key, None)
            if type(vertex) is not Node:  # a leaf: its hooks, then into .grad (or into what grad() returns)
                if g is not None:
                    if capture:
                        if key in targets:  # type: ignore[operator]
                            got[key] = _run_hooks(vertex._hooks, g)
                        continue
                    g = _run_hooks(vertex._hooks, g)
                    if observing:
                        observers.accumulate(vertex, g)
                    _accumulate_grad(vertex, g, handed_out)
                    for hook in vertex._post_accumulate_grad_hooks:
                        hook(vertex)
                continue
            node = vertex
            if capture and g is not None and key in targets:  # type: ignore[operator]
                got[key] = g
            if g is None or (pruning and key not in needed):
                grads: tuple[Any, ...] = (None,) * len(node.inputs)
            elif create_graph:
                grads = recorded_node_backward(node, g, retain_graph, handed_out)
            else:  # the node's backward, written out here: a call less per node on the common path
                if node.hooks or node.retained_by is not None or node.freed:
                    g = before_node_backward(node, g, handed_out)
                grads = node.function.backward(node, g)
                if type(grads) is not tuple:
                    grads = (grads,)  # one input's gradient, returned bare
                if len(grads) != len(node.inputs):
                    grads = checked_gradients(node, grads)
                if not retain_graph:
                    node.saved_arrays = None
                    node.freed = True
            for parent, meta, pg in zip(node.inputs, node.input_meta, grads, strict=True):
                if parent is None:
                    continue
                key = id(parent)
                if pg is not None:
                    shape, dtype = meta
                    # a dtype compared in full (_summed_back) only when it is not the same object; a 0-d
                    # gradient may be a NumPy scalar (arithmetic on 0-d arrays returns one): made an array there
                    if pg.shape != shape or pg.dtype is not dtype or not shape:
                        pg = _summed_back(pg, shape, dtype)
                    pending[key] = pg if key not in pending else pending[key] + pg
                consumers[key] -= 1
                if consumers[key] == 0:
                    ready.append(parent)
            if observing and g is not None:
                observers.backward(node, g, _sent(node, grads))
    return got


def _summed_back(grad: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A gradient in an op's broadcast shape and compute dtype, summed back to its input's shape and cast
    (a NumPy scalar, for a 0-d input, as a 0-d array: backward functions may write into what they get)."""
    if type(grad) is not ndarray and isinstance(grad, np.generic):
        grad = np.asarray(grad)
    if grad.shape != shape:
        grad = unbroadcast(grad, shape)
    return grad if grad.dtype == dtype else grad.astype(dtype)


def _sent(node: Node, grads: tuple[Any, ...]) -> tuple[Any, ...]:
    """What ``node`` sent each input (for observers): its gradients summed back, None where none went."""
    return tuple(
        None if parent is None or pg is None else _summed_back(pg, *meta)
        for parent, meta, pg in zip(node.inputs, node.input_meta, grads, strict=True)
    )


def after_node_backward(node: Node, grads: Any, retain_graph: bool) -> tuple[Any, ...]:
    """The node's gradients as a tuple, one per input (``checked_gradients``); the saved arrays are freed
    unless ``retain_graph``. (``_walk`` does the same inline for a plain backward.)"""
    grads = checked_gradients(node, grads)
    if not retain_graph:
        node.saved_arrays = None
        node.freed = True
    return grads


def checked_gradients(node: Node, grads: Any) -> tuple[Any, ...]:
    """What a Function's backward returned as a tuple of one gradient per input, else RuntimeError."""
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(node.inputs):
        raise RuntimeError(f"{node.name()} returned {len(grads)} gradients for {len(node.inputs)} inputs")
    return grads


def before_node_backward(node: Node, g: Any, handed_out: set[int]) -> Any:
    """The output's hooks and retain_grad run on g = dL/d(output); a node already freed raises."""
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
    return g


from .function import Node  # noqa: E402 - at the end, as in function.py
from .recorded import Recorded  # noqa: E402
from .recorded_backward import recorded_node_backward  # noqa: E402
from .tensor import Tensor  # noqa: E402 - at the end, as in function.py
