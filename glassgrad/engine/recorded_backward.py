"""One node's backward, recorded (``create_graph=True``): its result has a graph of its own.

The node's ``backward`` runs unchanged, but on Recorded values (engine/recorded.py): g = dL/d(output)
as given (with its history), each saved array as the tensor it was, and ``ctx.xp`` as NumPy's names
for engine ops. A saved array is known by its id: one of the inputs (the tensor with the history it
had then), the output (a tensor made by this very node, so the second backward comes back through
it), or a constant (an input without history; a mask or index array, whose derivative is zero). A
floating array the forward computed in between is none of these: its dependence on the inputs would
be lost, so that raises, and such an op differentiates its ``decomposition`` instead. Kernel-backed
ops always do (their backward is a kernel, not formulas): the decomposition is re-run on the
node's inputs and ``autograd.grad(..., create_graph=True)`` gives dL/d(input) with its graph.
"""

from __future__ import annotations

from typing import Any

from . import autograd
from .function import Context, Node
from .grad_mode import enable_grad
from .recorded import Recorded, numpy_api
from .tensor import Tensor


def recorded_node_backward(node: Node, g: Recorded, retain_graph: bool, handed_out: set[int]) -> tuple[Any, ...]:
    """dL/d(input) per input of ``node`` as Recorded values (None where there is none), recorded."""
    g = autograd.before_node_backward(node, g, handed_out)
    if node.function.decomposition is not None:
        grads = _through_decomposition(node, g)
    else:
        ctx = _recorded_context(node)
        grads = node.function.backward(ctx, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
    if len(grads) != len(node.inputs):
        raise RuntimeError(f"{node.name()} returned {len(grads)} gradients for {len(node.inputs)} inputs")
    if not retain_graph:
        node.ctx.saved_arrays = None
        node.freed = True
    return tuple(None if x is None else x if type(x) is Recorded else Recorded(Tensor(x)) for x in grads)


def _recorded_context(node: Node) -> Context:
    """A copy of the node's ctx with ``xp`` = numpy_api and its saved arrays as Recorded tensors."""
    by_id: dict[int, Any] = {}
    for parent, meta in zip(node.inputs, node.input_meta, strict=True):
        if meta is not None:
            by_id[meta[2]] = parent
    ctx = Context(numpy_api, node.ctx.needs_input_grad)
    for name, value in vars(node.ctx).items():
        if name not in ("xp", "needs_input_grad", "saved_arrays"):
            if _is_float_array(value):
                _not_recordable(node, f"ctx.{name}")
            setattr(ctx, name, value)
    saved = node.ctx.saved_arrays
    if saved is None:
        raise RuntimeError(
            f"backward: trying to backward through the graph a second time ({node.name()} was freed); "
            f"pass retain_graph=True to the first backward"
        )
    ctx.saved_arrays = tuple(_saved_as_recorded(node, a, by_id) for a in saved)
    return ctx


def _saved_as_recorded(node: Node, array: Any, by_id: dict[int, Any]) -> Any:
    if array is None or not hasattr(array, "dtype"):
        return array
    key = id(array)
    if key == node.output_id:
        out = Tensor(array)
        out.requires_grad, out.grad_fn = True, node
        return Recorded(out)
    if key in by_id:
        history = by_id[key]
        if history is None:
            return Recorded(Tensor(array))  # an input without history: a constant
        if type(history) is not Node:
            return Recorded(history)  # the leaf itself, so a second backward reaches it
        t = Tensor(array)
        t.requires_grad, t.grad_fn = True, history
        return Recorded(t)
    if _is_float_array(array):
        _not_recordable(node, "a saved array")
    return array  # masks and indices: constants


def _is_float_array(value: Any) -> bool:
    return hasattr(value, "dtype") and hasattr(value, "shape") and value.dtype.kind in "fc" and value.ndim > 0


def _not_recordable(node: Node, what: str) -> None:
    raise NotImplementedError(
        f"create_graph: {node.function.__name__}'s backward uses {what} its forward computed (neither an input nor "
        f"the output), so its derivative can't be differentiated again; give {node.function.__name__} a decomposition"
    )


def _through_decomposition(node: Node, g: Recorded) -> tuple[Any, ...]:
    """Re-run the op as its decomposition on the node's inputs, then differentiate that with create_graph."""
    args, kwargs = node.call
    leaves = []
    for parent, a in zip(node.inputs, args, strict=True):
        if parent is None or not isinstance(a, Tensor):
            leaves.append(a)
        elif type(parent) is Node:
            t = Tensor(a.array)
            t.requires_grad, t.grad_fn = True, parent  # the input as it was when the op ran
            leaves.append(t)
        else:
            leaves.append(parent)
    with enable_grad():
        out = node.function.decomposition(*leaves, **kwargs)
    wanted = [i for i, p in enumerate(node.inputs) if p is not None and out.requires_grad]
    if not wanted:
        return (None,) * len(node.inputs)
    grads = autograd.grad(
        out, [leaves[i] for i in wanted], g.tensor, retain_graph=True, create_graph=True, allow_unused=True
    )
    result: list[Any] = [None] * len(node.inputs)
    for i, gi in zip(wanted, grads, strict=True):
        result[i] = None if gi is None else Recorded(gi)
    return tuple(result)
