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

import numpy as np

from . import autograd, dtypes
from .function import NODE_FIELDS, Context, Function, Node
from .grad_mode import enable_grad
from .recorded import Recorded, numpy_api
from .tensor import Tensor


def recorded_node_backward(node: Node, g: Recorded, retain_graph: bool, handed_out: set[int]) -> tuple[Any, ...]:
    """dL/d(input) per input of ``node`` as Recorded values (None where there is none), recorded."""
    g = autograd.before_node_backward(node, g, handed_out)
    if node.function.decomposition is not None:
        grads = _through_decomposition(node, g)
    else:
        grads = node.function.backward(_recorded_context(node), g)
    grads = autograd.after_node_backward(node, grads, retain_graph)
    return tuple(None if x is None else x if type(x) is Recorded else Recorded(Tensor(x)) for x in grads)


def _recorded_context(node: Node) -> Context:
    """A copy of the node's context with ``xp`` = numpy_api and its saved arrays as Recorded tensors."""
    by_id: dict[int, Any] = {}  # the id of each input's array -> its history (None: a constant input)
    for parent, meta in zip(node.inputs, node.input_meta, strict=True):
        if type(parent) is Node:
            by_id[parent.output_id] = parent
        elif parent is not None:
            by_id[id(parent.array)] = parent
        elif meta is not None:
            by_id[meta[2]] = None
    ctx = Context(numpy_api)
    ctx.needs_input_grad = node.needs_input_grad
    for name, value in vars(node).items():
        if name not in NODE_FIELDS:
            if _is_float_array(value) and value.ndim > 0:  # a 0-d number kept on ctx is an option (a scale, a count)
                _not_recordable(node, f"ctx.{name}")
            setattr(ctx, name, value)
    saved = node.saved_arrays
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
    if _is_float_array(array) and not isinstance(array, np.generic):
        _not_recordable(node, "a saved array")
    return array  # masks, indices, NumPy scalars (a number operand, promoted): constants


def _is_float_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and hasattr(value, "shape") and (dtypes.is_floating(dtype) or dtype.kind == "c")


def _not_recordable(node: Node, what: str) -> None:
    raise NotImplementedError(
        f"create_graph: {node.function.__name__}'s backward uses {what} its forward computed (neither an input nor "
        f"the output), so its derivative can't be differentiated again; give {node.function.__name__} a decomposition"
    )


def decomposition_call(node: Node) -> tuple[list[Any], dict[str, Any]]:
    """The arguments of ``node.function.decomposition`` for this node: each tensor input as the array the
    op received, with the history it had then (a constant where it had none); the other arguments as given."""
    arrays, kwargs = node.call
    args: list[Any] = []
    for parent, meta, a in zip(node.inputs, node.input_meta, arrays, strict=True):
        if meta is None:  # not a tensor: an option given by position
            args.append(a)
        elif type(parent) is Node:
            t = Tensor(a)
            t.requires_grad, t.grad_fn = True, parent
            args.append(t)
        else:
            args.append(Tensor(a) if parent is None else parent)
    return args, kwargs


class Alias(Function):
    """z = x (a view of the same values);  dL/dx = g"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return x.view()

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


def _through_decomposition(node: Node, g: Recorded) -> tuple[Any, ...]:
    """Re-run the op as its decomposition on the node's inputs, then differentiate that with create_graph.

    Each input is the array the op received, with the history it had then, passed through an ``Alias``
    of its own: so a tensor given twice (attention's q = k = v) or an input computed from another (the
    value of an in-place write into a view of the base) gets the gradient of each position apart."""
    args, kwargs = decomposition_call(node)
    leaves = [Alias.apply(a) if isinstance(a, Tensor) and a.requires_grad else a for a in args]
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
