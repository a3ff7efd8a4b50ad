"""Function: one differentiable op, its forward and its backward side by side.

An op is a subclass with two static methods::

    class Mul(Function):
        '''z = x * y;  dz/dx = y,  dz/dy = x'''

        @staticmethod
        def forward(ctx, x, y):          # arrays in, array out
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, grad):         # dL/dz in, (dL/dx, dL/dy) out
            x, y = ctx.saved_arrays
            return grad * y, grad * x

Conventions:

* ``forward`` gets NumPy or CuPy arrays for the positional inputs (tensors
  become their arrays; anything else passes through) and options as keywords.
  ``ctx.xp`` is the array module, so one body serves both devices.
* ``backward`` returns one gradient per positional input (``None`` where there
  is none). It may return a gradient in the *broadcast* shape: the engine sums
  it back to the input's shape (``unbroadcast``) and casts it to the input's
  dtype, so no op repeats that.
* ``Function.apply(*inputs, **options)`` runs forward and, when grad mode is on
  and some input requires grad, records a ``Node`` on the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy import ndarray  # a global, not np.ndarray: numpy's module __getattr__ keeps Python 3.11 from caching np.X

from . import backend, observers
from .dtypes import FLOATING
from .grad_mode import state as grad_state
from .observers import ACTIVE as OBSERVING


class Context:
    """What forward leaves for backward: saved arrays and any other attributes.

    When the call is recorded its context is the graph's ``Node`` itself (a subclass), so an op that
    records makes one object; a call that does not record gets a plain Context.
    """

    needs_input_grad: tuple[bool, ...] = ()
    saved_arrays: tuple[Any, ...] | None = ()

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_arrays = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """PyTorch's name for ``saved_arrays``."""
        return self.saved_arrays or ()


class Node(Context):
    """A recorded application of a Function: the edge from an output to its inputs, and the context
    its forward filled (``save_for_backward``, options kept as attributes).

    ``inputs`` holds, per positional input, the input's *history at the time of the
    call*: its own Node when it was computed, the tensor itself when it is a leaf
    that requires grad, else None. Nodes never change after they are made, so an
    in-place op that later gives a tensor a new node cannot rewire this one.
    ``input_meta`` keeps, per input, the shape and dtype of one with history (its
    gradient is summed back to that shape and cast to that dtype), ``(None, None, id of
    its array)`` for a tensor without, None for any other argument. A recorded backward
    (``create_graph``) knows each saved array by its id: an input's (a leaf's array, a
    parent node's ``output_id``, or the id kept here), or this node's ``output_id``. ``call`` keeps the
    positional arrays and options for a Function with a ``decomposition``. ``hooks`` are the tensor hooks
    registered on the output while this node made it; ``retained_by`` is the output tensor when it called
    retain_grad(). The attributes a forward may not use for its own are in ``NODE_FIELDS``.
    """

    # Defaults as class attributes: only what differs from them is stored per node.
    output_id = 0
    call: tuple[list[Any], dict[str, Any]] | None = None
    freed = False
    hooks: tuple[Any, ...] | list[Any] = ()
    retained_by: Any = None  # a weakref.ref to the output tensor

    def __init__(
        self,
        function: type[Function],
        xp: Any,
        needs_input_grad: tuple[bool, ...],
        inputs: Sequence[Any],
        input_meta: Sequence[Any],
    ) -> None:
        self.function = function
        self.xp = xp
        self.needs_input_grad = needs_input_grad
        self.inputs = inputs
        self.input_meta = input_meta

    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's view of the edges: per input, ``(its node, 0)``, ``(AccumulateGrad of the leaf, 0)``
        or ``(None, 0)`` for an input without history."""
        return tuple((_edge(p), 0) for p in self.inputs)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


#: a Node's own attributes; every other attribute of a node is what its forward kept for backward
NODE_FIELDS = frozenset(
    ("function", "xp", "needs_input_grad", "saved_arrays", "inputs", "input_meta", "output_id", "call")
    + ("freed", "hooks", "retained_by")
)


class AccumulateGrad:
    """PyTorch's name for the end of an edge at a leaf: ``variable`` is the leaf tensor."""

    __slots__ = ("variable",)
    next_functions: tuple[()] = ()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _edge(parent: Any) -> Any:
    return None if parent is None else parent if type(parent) is Node else AccumulateGrad(parent)


class Function:
    """Base class of every op; see the module docstring."""

    #: ops whose output has no gradient (comparisons, argmax) set this to False
    differentiable = True
    #: ``decomposition(*inputs, **options)``: the same forward in other, differentiable ops. A Function whose
    #: backward runs a kernel has one; a recorded backward (``create_graph``) differentiates it instead.
    decomposition: Any = None

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass defines forward(ctx, *arrays, **options)")

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError("a Function subclass defines backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        track = cls.differentiable and grad_state.enabled  # whether a tensor that requires grad is recorded
        n = len(args)
        if n == 2 and type(args[0]) is Tensor and type(args[1]) is Tensor:  # a ∘ b: the general loop below, unrolled
            x, y = args
            first, second = arrays = (x.array, y.array)
            if type(second) is not type(first):
                common_device(cls.__name__, [x, y])
            needs = (x.requires_grad, y.requires_grad) if track else (False, False)
            if needs[0] or needs[1]:
                inputs = (x.grad_fn or x if needs[0] else None, y.grad_fn or y if needs[1] else None)
                meta = (
                    (first.shape, first.dtype) if needs[0] else (None, None, id(first)),
                    (second.shape, second.dtype) if needs[1] else (None, None, id(second)),
                )
        elif n == 1 and type(args[0]) is Tensor:  # f(x): the general loop below, unrolled
            (x,) = args
            first = x.array
            arrays = (first,)
            needs = (True,) if track and x.requires_grad else (False,)
            if needs[0]:
                inputs, meta = (x.grad_fn or x,), ((first.shape, first.dtype),)
        else:
            arrays, needs, inputs, meta = [], [], [], []
            first = None  # the first tensor input's array: its type is the device
            for a in args:  # one pass: tensors become their arrays (anything else passes through), and their history
                if isinstance(a, Tensor):
                    array = a.array
                    if first is None:
                        first = array
                    elif type(array) is not type(first):
                        common_device(cls.__name__, [t for t in args if isinstance(t, Tensor)])
                    arrays.append(array)
                    if track:
                        if a.requires_grad:
                            needs.append(True)
                            inputs.append(a.grad_fn or a)
                            meta.append((array.shape, array.dtype))
                        else:
                            needs.append(False)
                            inputs.append(None)
                            meta.append((None, None, id(array)))
                else:
                    arrays.append(a)
                    if track:
                        needs.append(False)
                        inputs.append(None)
                        meta.append(None)
            needs = tuple(needs)
        xp = np if first is None or type(first) is ndarray else backend.xp_of(first)
        record = True in needs
        ctx = Node(cls, xp, needs, inputs, meta) if record else Context(xp)
        out = cls.forward(ctx, *arrays, **kwargs)
        if type(out) is not type(first) and (isinstance(out, np.generic) or not hasattr(out, "shape")):
            out = _scalar_as_array(ctx, out)
        result = Tensor(out)
        if first is not None and (out.base is not None or out is first) and getattr(args[0], "array", None) is first:
            _record_possible_view(cls, result, args, kwargs)
        if record and (out.dtype in FLOATING or out.dtype.kind == "f"):
            result.requires_grad = True
            ctx.output_id = id(out)
            if cls.decomposition is not None:
                ctx.call = (arrays, kwargs)
            result.grad_fn = ctx
        if OBSERVING:
            observers.forward(cls, args, kwargs, result)
        return result


def _scalar_as_array(ctx: Context, scalar: Any) -> Any:
    """A NumPy reduction's scalar result as a 0-d array; where forward saved the scalar, the array is saved
    instead (recorded_backward knows saved arrays by id)."""
    out = ctx.xp.asarray(scalar)
    if ctx.saved_arrays:
        ctx.saved_arrays = tuple([out if s is scalar else s for s in ctx.saved_arrays])
    return out


def _record_possible_view(cls: type[Function], result: Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``result`` may share the first input's memory: it remembers its base and how to redo the op on it
    (engine/views.py). Kept out of ``apply`` so that apply's frame has no closure cells to make."""
    record_view(result, args[0], lambda t: cls.apply(t, *args[1:], **kwargs))


def common_device(op: str, tensors: list[Tensor]) -> str:
    """The one device all ``tensors`` live on, or a RuntimeError naming the op."""
    devices = {type(t.array) for t in tensors}
    if len(devices) > 1:
        where = ", ".join(f"arg {i}: {t.device}" for i, t in enumerate(tensors))
        raise RuntimeError(f"{op}: expected all tensors on the same device, got {where}")
    return tensors[0].device if tensors else "cpu"


from .tensor import Tensor  # noqa: E402 - at the end: tensor.py imports the ops, which need Function
from .views import record_view  # noqa: E402 - views.py defines a Function
