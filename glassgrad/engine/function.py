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

from typing import Any

import numpy as np

from . import backend, observers
from .grad_mode import is_grad_enabled
from .observers import ACTIVE as OBSERVING


class Context:
    """What forward leaves for backward: saved arrays and any other attributes."""

    def __init__(self, xp: Any, needs_input_grad: tuple[bool, ...]) -> None:
        self.xp = xp
        self.needs_input_grad = needs_input_grad
        self.saved_arrays: tuple[Any, ...] | None = ()

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_arrays = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """PyTorch's name for ``saved_arrays``."""
        return self.saved_arrays or ()


class Node:
    """A recorded application of a Function: the edge from an output to its inputs.

    ``inputs`` holds, per positional input, the input's *history at the time of the
    call*: its own Node when it was computed, the tensor itself when it is a leaf
    that requires grad, else None. Nodes never change after they are made, so an
    in-place op that later gives a tensor a new node cannot rewire this one.
    ``input_meta`` keeps, per input, the shape and dtype of one with history (its
    gradient is summed back to that shape and cast to that dtype), ``(None, None, id of
    its array)`` for a tensor without, None for any other argument. A recorded backward
    (``create_graph``) knows each saved array by its id: an input's (a leaf's array, a
    parent node's ``output_id``, or the id kept here), or this node's ``output_id``. ``call`` keeps the positional arrays and
    options for a Function with a ``decomposition``. ``hooks`` are the tensor hooks
    registered on the output while this node made it; ``retained_by`` is the output
    tensor when it called retain_grad().
    """

    __slots__ = (
        "function",
        "ctx",
        "inputs",
        "input_meta",
        "output_id",
        "call",
        "freed",
        "hooks",
        "retained_by",
        "__weakref__",
    )

    def __init__(
        self,
        function: type[Function],
        ctx: Context,
        inputs: tuple[Any, ...],
        input_meta: tuple[Any, ...],
        output_id: int = 0,
        call: tuple[list[Any], dict[str, Any]] | None = None,
    ):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.input_meta = input_meta
        self.output_id = output_id
        self.call = call
        self.freed = False
        self.hooks: list[Any] = []
        self.retained_by: Any = None  # a weakref.ref to the output tensor

    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's view of the edges: per input, ``(its node, 0)``, ``(AccumulateGrad of the leaf, 0)``
        or ``(None, 0)`` for an input without history."""
        return tuple((_edge(p), 0) for p in self.inputs)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


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
        arrays, needs, inputs, meta = [], [], [], []
        first, kind = None, None  # the first tensor input and its array type (the device)
        for a in args:  # one pass: unwrap tensors; for those that require grad, their history and meta (Node)
            if type(a) is not Tensor and not isinstance(a, Tensor):
                arrays.append(a)
                needs.append(False)
                inputs.append(None)
                meta.append(None)
                continue
            array = a.array
            if first is None:
                first, kind = a, type(array)
            elif type(array) is not kind:
                common_device(cls.__name__, [t for t in args if isinstance(t, Tensor)])
            arrays.append(array)
            needs.append(a.requires_grad)
            inputs.append((a.grad_fn if a.grad_fn is not None else a) if a.requires_grad else None)
            meta.append((array.shape, array.dtype) if a.requires_grad else (None, None, id(array)))
        record = cls.differentiable and True in needs and is_grad_enabled()
        xp = np if kind is np.ndarray or first is None else backend.xp_of(first.array)
        ctx = Context(xp, tuple(needs))
        out = cls.forward(ctx, *arrays, **kwargs)
        if type(out) is not kind and (isinstance(out, np.generic) or not hasattr(out, "shape")):
            scalar, out = out, xp.asarray(out)  # NumPy reductions return scalars
            if ctx.saved_arrays:  # the output saved as that scalar is this array now (recorded_backward knows it)
                ctx.saved_arrays = tuple([out if s is scalar else s for s in ctx.saved_arrays])
        result = Tensor(out)
        if first is not None and args[0] is first and (out.base is not None or out is first.array):
            # possibly a view (sharing the first input's memory): it remembers its base (engine/views.py)
            record_view(result, first, lambda t: cls.apply(t, *args[1:], **kwargs))
        if record and out.dtype.kind == "f":
            result.requires_grad = True
            call = (arrays, kwargs) if cls.decomposition is not None else None
            result.grad_fn = Node(cls, ctx, tuple(inputs), tuple(meta), id(out), call)
        if OBSERVING:
            observers.forward(cls, args, kwargs, result)
        return result


def common_device(op: str, tensors: list[Tensor]) -> str:
    """The one device all ``tensors`` live on, or a RuntimeError naming the op."""
    devices = {type(t.array) for t in tensors}
    if len(devices) > 1:
        where = ", ".join(f"arg {i}: {t.device}" for i, t in enumerate(tensors))
        raise RuntimeError(f"{op}: expected all tensors on the same device, got {where}")
    return tensors[0].device if tensors else "cpu"


from .tensor import Tensor  # noqa: E402 - at the end: tensor.py imports the ops, which need Function
from .views import record_view  # noqa: E402 - views.py defines a Function
