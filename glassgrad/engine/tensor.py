"""Tensor: an array, its gradient, and the graph node that produced it.

A Tensor wraps one NumPy array (device "cpu") or CuPy array (device "cuda") in
``.array``. Every operator and method below calls an op from ``engine/ops``,
which records itself in the graph so that ``backward()`` can apply the chain
rule. Tensors built by the user are *leaves* (``grad_fn is None``); their
``.grad`` accumulates across backward calls until zeroed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy import ndarray  # a global, not np.ndarray: numpy's module __getattr__ keeps Python 3.11 from caching np.X

from . import backend, dtypes, views
from .grad_mode import is_grad_enabled


class Tensor:
    """A multi-dimensional array that can take part in automatic differentiation."""

    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__

    # What a new tensor starts with, as class attributes: every op makes a Tensor, and only the array
    # is stored then; the others get an instance value when they first change.
    requires_grad = False
    grad_fn = None  # the Node that computed it (None for a leaf)
    _grad: Tensor | None = None  # behind the checked ``grad`` property; autograd sets it directly
    _hooks: tuple[Callable[[Tensor], Tensor | None], ...] | list[Callable[[Tensor], Tensor | None]] = ()
    _retains_grad = False
    _post_accumulate_grad_hooks: tuple[Callable[[Tensor], None], ...] | list[Callable[[Tensor], None]] = ()
    _view_of: views.ViewOf | None = None  # set by Function.apply when this shares an input's memory

    def __init__(self, array: Any, requires_grad: bool = False) -> None:
        if type(array) is not ndarray and backend.device_of(array) == "cpu":
            array = np.asarray(array)
        self.array = array
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ facts
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def device(self) -> str:
        """backend.device_of(array); a NumPy array is answered without the call (every op asks)."""
        return "cpu" if type(self.array) is ndarray else backend.device_of(self.array)

    @property
    def xp(self):
        """The array module (numpy or cupy) of this tensor's device: backend.xp_of(array), NumPy's without the call."""
        return np if type(self.array) is ndarray else backend.xp_of(self.array)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        if dim is None:
            return self.shape
        if self.ndim == 0:  # normalize_dim lets a 0-d tensor take dim 0 and -1; it has no size to give
            raise IndexError(f"size: dim {dim} given for a 0-d tensor, which has no dims")
        return self.shape[ops.operands.normalize_dim("size", dim, self.ndim)]

    def numel(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        return self.array.itemsize

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """All dims reversed (``permute(n-1, ..., 0)``)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph (shares memory)."""
        return Tensor(self.array)

    @data.setter
    def data(self, value: Tensor) -> None:
        self.array = value.array if isinstance(value, Tensor) else value

    # --------------------------------------------------------------- autograd
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        """Assign ``.grad`` (an optimizer step, a gradient loaded from elsewhere): PyTorch's checks, a
        Tensor or None of this tensor's shape, dtype and device."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None, but got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"grad: attempting to assign a gradient of shape {value.shape} to a tensor of shape {self.shape}"
                )
            if value.dtype != self.dtype:
                raise RuntimeError(
                    f"grad: attempting to assign a gradient with dtype {value.dtype} to a tensor with dtype {self.dtype}"
                )
            if value.device != self.device:
                raise RuntimeError(
                    f"grad: assigned grad has data located on {value.device}, different from the tensor's {self.device}"
                )
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise RuntimeError(f"requires_grad_: only floating point tensors can require gradients, got {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad on a non-leaf tensor")
        self.requires_grad = requires_grad
        return self

    def backward(
        self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False, inputs: Any = None
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (only ``inputs``' when given); with
        ``create_graph`` the backward is recorded, so the gradients can be differentiated (engine/autograd.py)."""
        autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a
        replacement. Returns a function that removes the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require grad")
        owner = self if self.grad_fn is None else self.grad_fn  # a non-leaf's hooks go on its node
        attribute = "_hooks" if self.grad_fn is None else "hooks"
        if type(getattr(owner, attribute)) is not list:
            setattr(owner, attribute, [])
        hooks = getattr(owner, attribute)
        hooks.append(hook)
        return lambda: hooks.remove(hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> Callable[[], None]:
        """Call ``hook(self)`` after backward has accumulated this leaf's gradient into ``.grad``
        (PyTorch's; DistributedDataParallel starts a bucket's all-reduce from it). Returns a function
        that removes the hook."""
        if not self.requires_grad or self.grad_fn is not None:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only leaf tensors that require grad accumulate a .grad"
            )
        if type(self._post_accumulate_grad_hooks) is not list:
            self._post_accumulate_grad_hooks = []
        hooks = self._post_accumulate_grad_hooks
        hooks.append(hook)
        return lambda: hooks.remove(hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward (its node hands it the gradient)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn.retained_by = weakref.ref(self)

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory, requires no grad)."""
        return Tensor(self.array)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    # ------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The NumPy array (no copy on the cpu)."""
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; use detach().numpy()")
        if self.device != "cpu":
            raise TypeError("numpy: tensor is on cuda; call .cpu() first")
        return self.array

    def item(self) -> float | int | bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"item: a Tensor with {self.numel()} elements cannot be converted to Scalar (shape {self.shape})"
            )
        return self.array.reshape(()).item()

    def _scalar(self, op: str) -> float | int | bool:
        """The one value, for ``float(x)``/``int(x)``: ValueError (not item's RuntimeError) as PyTorch."""
        if self.numel() != 1:
            raise ValueError(
                f"{op}: only one element tensors can be converted to Python scalars, got shape {self.shape}"
            )
        return self.array.reshape(()).item()

    def tolist(self) -> Any:
        return backend.to_device(self.array, "cpu").tolist()

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """``to("cuda")``, ``to(float64)``, ``to("cpu", float32)``, ``to(other)``: differentiable copy/cast.
        A string is a device, as in PyTorch (``to("tpu")`` is an unknown device, not a dtype); ``dtype=``
        takes a dtype, not its name. Everything is checked before anything is copied."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str):
                device = arg
            else:
                dtype = arg
        dtype = dtypes.dtype_arg("to", dtype)
        if device is not None:
            device = backend.normalize_device(device, "to")
            backend.array_module(device, "to")  # RuntimeError naming to() where 'cuda' is not available
        backend.check_dtype(device or self.device, self.dtype if dtype is None else dtype, "to")
        out = self
        if dtype is not None and dtype != self.dtype:
            out = ops.cast(out, dtype)
        if device is not None and device != self.device:
            out = ops.to_device(out, device)
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as: argument 'other' must be a Tensor, not {type(other).__name__} ({other!r})")
        return self.to(other.dtype)

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = backend.to_device(self.array, "cpu")
        return array if dtype is None else array.astype(dtype)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.array.__dlpack_device__()

    # --------------------------------------------------------------- in-place
    def _check_inplace(self, op: str, *others: Any) -> None:
        """Before an in-place op writes: the operands ``others`` must broadcast to self's shape (PyTorch's
        RuntimeError naming ``op``), and autograd must allow writing into self."""
        if others:
            self._check_broadcast_into(op, self, *others)
        if not is_grad_enabled():
            return
        if self.is_leaf and self.requires_grad:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place operation; "
                "wrap it in no_grad() or use an out-of-place op"
            )
        views.check_inplace_on_view(self, op)

    def _check_broadcast_into(self, op: str, *values: Any) -> None:
        """``values`` (tensors, arrays, numbers) broadcast together to exactly self's shape, or RuntimeError
        naming ``op``: the sizes that clash, or the broadcast shape that would not fit in self (TypeError for a
        string, as PyTorch)."""
        shape = ops.checks.check_broadcast(op, *values)
        if shape != self.shape:
            raise RuntimeError(f"{op}: output with shape {self.shape} doesn't match the broadcast shape {shape}")

    def _assign(self, result: Tensor, op: str) -> Tensor:
        """Make ``self`` hold ``result``: write into the same memory when nothing is
        recorded (so views and optimizers see it); else take over result's node, and
        for a view also update its base (engine/views.py)."""
        if result.shape != self.shape:
            raise RuntimeError(f"{op}: output with shape {self.shape} doesn't match the broadcast shape {result.shape}")
        if result.grad_fn is None:
            if dtypes.category(result.dtype) > dtypes.category(self.dtype):
                raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to {self.dtype}")
            self.array[...] = result.array
        elif self._view_of is not None:
            views.assign_through_view(self, result.to(self.dtype), op)
        else:
            self._take_history(result.array.astype(self.dtype, copy=False), result.grad_fn)
        return self

    def _take_history(self, array: Any, node: Any) -> None:
        """Hold ``array`` with ``node`` as history (an in-place op); nodes that used the old history keep it."""
        if self._retains_grad:  # the retained .grad follows the tensor to its new node, as in PyTorch
            self.grad_fn.retained_by = None
            node.retained_by = weakref.ref(self)
        self.array, self.grad_fn, self.requires_grad = array, node, True

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        self._check_inplace("add_", other)
        return self._assign(ops.add(self, other if alpha == 1 else ops.mul(other, alpha)), "add_")

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        self._check_inplace("sub_", other)
        return self._assign(ops.sub(self, other if alpha == 1 else ops.mul(other, alpha)), "sub_")

    def mul_(self, other: Any) -> Tensor:
        self._check_inplace("mul_", other)
        return self._assign(ops.mul(self, other), "mul_")

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        self._check_inplace("div_", other)
        return self._assign(ops.div(self, other, rounding_mode=rounding_mode), "div_")

    def pow_(self, exponent: Any) -> Tensor:
        self._check_inplace("pow_", exponent)
        return self._assign(ops.pow(self, exponent), "pow_")

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        self._check_inplace("clamp_", min, max)
        return self._assign(ops.clamp(self, min, max), "clamp_")

    def copy_(self, src: Tensor) -> Tensor:
        self._check_broadcast_into("copy_", src, self)  # the source first: it is what gets expanded
        self._check_inplace("copy_")
        src_t = src if isinstance(src, Tensor) else Tensor(self.xp.asarray(src))
        out = ops.expand(src_t.to(self.device), *self.shape).to(self.dtype)
        if out.grad_fn is None and out.requires_grad and is_grad_enabled():
            out = out.clone()  # src itself (a leaf that requires grad): a recorded copy, so src gets its gradient
        return self._assign(out, "copy_")

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        self._check_inplace("masked_fill_", mask)
        with ops.checks.named("masked_fill_", "masked_fill"):
            out = ops.masked_fill(self, mask, value)
        return self._assign(out, "masked_fill_")

    def _put(self, index: Any, value: Any, op: str) -> Tensor:
        """``self[index] = value`` in place: recorded (IndexPut, through the base for a view) when grad
        is on and self or the value requires grad, else written straight into the memory."""
        if is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            self._check_inplace(op)
            return self._assign(ops.index_put(self, index, value, op=op), op)
        ops.setitem_array(self.array, index, value.array if isinstance(value, Tensor) else value, self.device, op)
        return self

    def fill_(self, value: Any) -> Tensor:
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"fill_: only supports a 0-dimensional value tensor, but got {value.ndim} dimensions")
        return self._put(Ellipsis, value, "fill_")

    def zero_(self) -> Tensor:
        return self._put(Ellipsis, 0, "zero_")

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        from .random import uniform_array

        return self._put(Ellipsis, uniform_array(self.shape, a, b, self.dtype, self.device, "uniform_"), "uniform_")

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        from .random import normal_array

        return self._put(Ellipsis, normal_array(self.shape, mean, std, self.dtype, self.device, "normal_"), "normal_")

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    # -------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __lt__(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.ge(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.ne(self, other)

    def __invert__(self) -> Tensor:
        if dtypes.is_floating(self.dtype):
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return ops.bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    __hash__ = object.__hash__

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in place, recorded by autograd as PyTorch does when x or value requires grad."""
        self._put(index, value, "setitem")

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"bool: a tensor with {self.numel()} values is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __index__(self) -> int:
        if dtypes.category(self.dtype) != 1 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    # ------------------------------------------ methods that call the op of the same name (its docstring has the math)
    def abs(self) -> Tensor:
        return ops.abs(self)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def log1p(self) -> Tensor:
        return ops.log1p(self)

    def log2(self) -> Tensor:
        return ops.log2(self)

    def log10(self) -> Tensor:
        return ops.log10(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def rsqrt(self) -> Tensor:
        return ops.rsqrt(self)

    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def neg(self) -> Tensor:
        return ops.neg(self)

    def reciprocal(self) -> Tensor:
        return ops.reciprocal(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def square(self) -> Tensor:
        return ops.square(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return ops.clamp(self, min, max)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return ops.clip(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.minimum(self, other)

    def where(self, condition: Any, other: Any) -> Tensor:
        """``torch.where(condition, self, other)``: self where condition holds, else other."""
        return ops.where(condition, self, other)

    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        return ops.add(self, other, alpha)

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        return ops.sub(self, other, alpha)

    def mul(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return ops.div(self, other, rounding_mode=rounding_mode)

    def subtract(self, other: Any, *, alpha: float = 1) -> Tensor:
        return ops.sub(self, other, alpha)

    def multiply(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def divide(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return ops.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    def matmul(self, other: Tensor) -> Tensor:
        return ops.matmul(self, other)

    def lt(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def le(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def gt(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return ops.ge(self, other)

    def eq(self, other: Any) -> Tensor:
        return ops.eq(self, other)

    def ne(self, other: Any) -> Tensor:
        return ops.ne(self, other)

    def isnan(self) -> Tensor:
        return ops.isnan(self)

    def isinf(self) -> Tensor:
        return ops.isinf(self)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return ops.masked_fill(self, mask, value)

    # ------------------------------------------ reductions
    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None) -> Tensor:
        return ops.sum(self, dim, keepdim, dtype, axis=axis)

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None) -> Tensor:
        return ops.mean(self, dim, keepdim, dtype, axis=axis)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: float | None = None, axis: Any = None) -> Tensor:  # fmt: skip
        return ops.var(self, dim, unbiased, keepdim, correction=correction, axis=axis)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: float | None = None, axis: Any = None) -> Tensor:  # fmt: skip
        return ops.std(self, dim, unbiased, keepdim, correction=correction, axis=axis)

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:
        """``max()``, ``max(dim, keepdim)`` (values, indices) or ``max(other)`` (elementwise)."""
        return ops.max(self, dim, keepdim, axis=axis)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:
        """``min()``, ``min(dim, keepdim)`` (values, indices) or ``min(other)`` (elementwise)."""
        return ops.min(self, dim, keepdim, axis=axis)

    def amax(self, dim: Any = (), keepdim: bool = False, *, axis: Any = None) -> Tensor:
        return ops.amax(self, dim, keepdim, axis=axis)

    def amin(self, dim: Any = (), keepdim: bool = False, *, axis: Any = None) -> Tensor:
        return ops.amin(self, dim, keepdim, axis=axis)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None, axis: int | None = None) -> Tensor:  # fmt: skip
        return ops.prod(self, dim, keepdim, dtype=dtype, axis=axis)

    def logsumexp(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
        return ops.logsumexp(self, dim, keepdim, axis=axis)

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
        return ops.argmax(self, dim, keepdim, axis=axis)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
        return ops.argmin(self, dim, keepdim, axis=axis)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.norm(self, p, dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
        return ops.all(self, dim, keepdim, axis=axis)

    def any(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
        return ops.any(self, dim, keepdim, axis=axis)

    def softmax(self, dim: int | None = -1, dtype: Any = None, *, axis: int | None = None) -> Tensor:
        return ops.softmax(self, dim, dtype, axis=axis)

    def log_softmax(self, dim: int | None = -1, dtype: Any = None, *, axis: int | None = None) -> Tensor:
        return ops.log_softmax(self, dim, dtype, axis=axis)

    # ------------------------------------------ shape and views
    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return ops.view(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return ops.view_as(self, other)

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.reshape_as(self, other)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def permute(self, *dims: Any) -> Tensor:
        return ops.permute(self, *dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        return ops.squeeze(self, dim, axis=axis)

    def unsqueeze(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        return ops.unsqueeze(self, dim, axis=axis)

    def expand(self, *sizes: Any) -> Tensor:
        return ops.expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand_as(self, other)

    def broadcast_to(self, shape: Any) -> Tensor:
        return ops.broadcast_to(self, shape)

    def repeat(self, *sizes: Any) -> Tensor:
        return ops.repeat(self, *sizes)

    def flip(self, *dims: Any) -> Tensor:
        return ops.flip(self, *dims)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim, axis=axis)

    def contiguous(self) -> Tensor:
        return ops.contiguous(self)

    def clone(self) -> Tensor:
        return ops.clone(self)

    def gather(self, dim: int | None = None, index: Tensor | None = None, *, sparse_grad: bool = False, axis: int | None = None) -> Tensor:  # fmt: skip
        return ops.gather(self, dim, index, sparse_grad=sparse_grad, axis=axis)

    def take_along_dim(self, indices: Tensor, dim: int) -> Tensor:
        return ops.take_along_dim(self, indices, dim)

    # ------------------------------------------ elementwise math, rounding, bitwise and floor division
    def tan(self) -> Tensor:
        return ops.tan(self)

    def asin(self) -> Tensor:
        return ops.asin(self)

    def acos(self) -> Tensor:
        return ops.acos(self)

    def atan(self) -> Tensor:
        return ops.atan(self)

    def sinh(self) -> Tensor:
        return ops.sinh(self)

    def cosh(self) -> Tensor:
        return ops.cosh(self)

    def asinh(self) -> Tensor:
        return ops.asinh(self)

    def acosh(self) -> Tensor:
        return ops.acosh(self)

    def atanh(self) -> Tensor:
        return ops.atanh(self)

    def arcsin(self) -> Tensor:
        return ops.arcsin(self)

    def arccos(self) -> Tensor:
        return ops.arccos(self)

    def arctan(self) -> Tensor:
        return ops.arctan(self)

    def arcsinh(self) -> Tensor:
        return ops.arcsinh(self)

    def arccosh(self) -> Tensor:
        return ops.arccosh(self)

    def arctanh(self) -> Tensor:
        return ops.arctanh(self)

    def exp2(self) -> Tensor:
        return ops.exp2(self)

    def expm1(self) -> Tensor:
        return ops.expm1(self)

    def erf(self) -> Tensor:
        return ops.erf(self)

    def erfc(self) -> Tensor:
        return ops.erfc(self)

    def erfinv(self) -> Tensor:
        return ops.erfinv(self)

    def trunc(self) -> Tensor:
        return ops.trunc(self)

    def fix(self) -> Tensor:
        return ops.fix(self)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def frac(self) -> Tensor:
        return ops.frac(self)

    def isfinite(self) -> Tensor:
        return ops.isfinite(self)

    def isposinf(self) -> Tensor:
        return ops.isposinf(self)

    def isneginf(self) -> Tensor:
        return ops.isneginf(self)

    def bitwise_not(self) -> Tensor:
        return ops.bitwise_not(self)

    def logical_not(self) -> Tensor:
        return ops.logical_not(self)

    def round(self, *, decimals: int | None = None) -> Tensor:
        return ops.round(self, decimals=decimals)

    def atan2(self, other: Any) -> Tensor:
        return ops.atan2(self, other)

    def arctan2(self, other: Any) -> Tensor:
        return ops.arctan2(self, other)

    def hypot(self, other: Any) -> Tensor:
        return ops.hypot(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return ops.logaddexp(self, other)

    def logaddexp2(self, other: Any) -> Tensor:
        return ops.logaddexp2(self, other)

    def copysign(self, other: Any) -> Tensor:
        return ops.copysign(self, other)

    def fmod(self, other: Any) -> Tensor:
        return ops.fmod(self, other)

    def remainder(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def floor_divide(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def bitwise_and(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return ops.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return ops.bitwise_right_shift(self, other)

    def logical_and(self, other: Any) -> Tensor:
        return ops.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        return ops.logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return ops.logical_xor(self, other)

    def isclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        return ops.isclose(self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        return ops.nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf)

    def tan_(self) -> Tensor:
        self._check_inplace("tan_")
        return self._assign(ops.tan(self), "tan_")

    def asin_(self) -> Tensor:
        self._check_inplace("asin_")
        return self._assign(ops.asin(self), "asin_")

    def acos_(self) -> Tensor:
        self._check_inplace("acos_")
        return self._assign(ops.acos(self), "acos_")

    def atan_(self) -> Tensor:
        self._check_inplace("atan_")
        return self._assign(ops.atan(self), "atan_")

    def sinh_(self) -> Tensor:
        self._check_inplace("sinh_")
        return self._assign(ops.sinh(self), "sinh_")

    def cosh_(self) -> Tensor:
        self._check_inplace("cosh_")
        return self._assign(ops.cosh(self), "cosh_")

    def asinh_(self) -> Tensor:
        self._check_inplace("asinh_")
        return self._assign(ops.asinh(self), "asinh_")

    def acosh_(self) -> Tensor:
        self._check_inplace("acosh_")
        return self._assign(ops.acosh(self), "acosh_")

    def atanh_(self) -> Tensor:
        self._check_inplace("atanh_")
        return self._assign(ops.atanh(self), "atanh_")

    def arcsin_(self) -> Tensor:
        self._check_inplace("arcsin_")
        return self._assign(ops.arcsin(self), "arcsin_")

    def arccos_(self) -> Tensor:
        self._check_inplace("arccos_")
        return self._assign(ops.arccos(self), "arccos_")

    def arctan_(self) -> Tensor:
        self._check_inplace("arctan_")
        return self._assign(ops.arctan(self), "arctan_")

    def arcsinh_(self) -> Tensor:
        self._check_inplace("arcsinh_")
        return self._assign(ops.arcsinh(self), "arcsinh_")

    def arccosh_(self) -> Tensor:
        self._check_inplace("arccosh_")
        return self._assign(ops.arccosh(self), "arccosh_")

    def arctanh_(self) -> Tensor:
        self._check_inplace("arctanh_")
        return self._assign(ops.arctanh(self), "arctanh_")

    def exp2_(self) -> Tensor:
        self._check_inplace("exp2_")
        return self._assign(ops.exp2(self), "exp2_")

    def expm1_(self) -> Tensor:
        self._check_inplace("expm1_")
        return self._assign(ops.expm1(self), "expm1_")

    def erf_(self) -> Tensor:
        self._check_inplace("erf_")
        return self._assign(ops.erf(self), "erf_")

    def erfc_(self) -> Tensor:
        self._check_inplace("erfc_")
        return self._assign(ops.erfc(self), "erfc_")

    def erfinv_(self) -> Tensor:
        self._check_inplace("erfinv_")
        return self._assign(ops.erfinv(self), "erfinv_")

    def trunc_(self) -> Tensor:
        self._check_inplace("trunc_")
        return self._assign(ops.trunc(self), "trunc_")

    def fix_(self) -> Tensor:
        self._check_inplace("fix_")
        return self._assign(ops.fix(self), "fix_")

    def floor_(self) -> Tensor:
        self._check_inplace("floor_")
        return self._assign(ops.floor(self), "floor_")

    def ceil_(self) -> Tensor:
        self._check_inplace("ceil_")
        return self._assign(ops.ceil(self), "ceil_")

    def frac_(self) -> Tensor:
        self._check_inplace("frac_")
        return self._assign(ops.frac(self), "frac_")

    def log2_(self) -> Tensor:
        self._check_inplace("log2_")
        return self._assign(ops.log2(self), "log2_")

    def log10_(self) -> Tensor:
        self._check_inplace("log10_")
        return self._assign(ops.log10(self), "log10_")

    def sign_(self) -> Tensor:
        self._check_inplace("sign_")
        return self._assign(ops.sign(self), "sign_")

    def bitwise_not_(self) -> Tensor:
        self._check_inplace("bitwise_not_")
        return self._assign(ops.bitwise_not(self), "bitwise_not_")

    def logical_not_(self) -> Tensor:
        self._check_inplace("logical_not_")
        return self._assign(ops.logical_not(self), "logical_not_")

    def round_(self, *, decimals: int | None = None) -> Tensor:
        self._check_inplace("round_")
        return self._assign(ops.round(self, decimals=decimals), "round_")

    def atan2_(self, other: Any) -> Tensor:
        self._check_inplace("atan2_", other)
        return self._assign(ops.atan2(self, other), "atan2_")

    def arctan2_(self, other: Any) -> Tensor:
        self._check_inplace("arctan2_", other)
        return self._assign(ops.arctan2(self, other), "arctan2_")

    def hypot_(self, other: Any) -> Tensor:
        self._check_inplace("hypot_", other)
        return self._assign(ops.hypot(self, other), "hypot_")

    def copysign_(self, other: Any) -> Tensor:
        self._check_inplace("copysign_", other)
        return self._assign(ops.copysign(self, other), "copysign_")

    def fmod_(self, other: Any) -> Tensor:
        self._check_inplace("fmod_", other)
        return self._assign(ops.fmod(self, other), "fmod_")

    def remainder_(self, other: Any) -> Tensor:
        self._check_inplace("remainder_", other)
        return self._assign(ops.remainder(self, other), "remainder_")

    def floor_divide_(self, other: Any) -> Tensor:
        self._check_inplace("floor_divide_", other)
        return self._assign(ops.floor_divide(self, other), "floor_divide_")

    def bitwise_and_(self, other: Any) -> Tensor:
        self._check_inplace("bitwise_and_", other)
        return self._assign(ops.bitwise_and(self, other), "bitwise_and_")

    def bitwise_or_(self, other: Any) -> Tensor:
        self._check_inplace("bitwise_or_", other)
        return self._assign(ops.bitwise_or(self, other), "bitwise_or_")

    def bitwise_xor_(self, other: Any) -> Tensor:
        self._check_inplace("bitwise_xor_", other)
        return self._assign(ops.bitwise_xor(self, other), "bitwise_xor_")

    def bitwise_left_shift_(self, other: Any) -> Tensor:
        self._check_inplace("bitwise_left_shift_", other)
        return self._assign(ops.bitwise_left_shift(self, other), "bitwise_left_shift_")

    def bitwise_right_shift_(self, other: Any) -> Tensor:
        self._check_inplace("bitwise_right_shift_", other)
        return self._assign(ops.bitwise_right_shift(self, other), "bitwise_right_shift_")

    def logical_and_(self, other: Any) -> Tensor:
        self._check_inplace("logical_and_", other)
        return self._assign(ops.logical_and(self, other), "logical_and_")

    def logical_or_(self, other: Any) -> Tensor:
        self._check_inplace("logical_or_", other)
        return self._assign(ops.logical_or(self, other), "logical_or_")

    def logical_xor_(self, other: Any) -> Tensor:
        self._check_inplace("logical_xor_", other)
        return self._assign(ops.logical_xor(self, other), "logical_xor_")

    def nan_to_num_(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        self._check_inplace("nan_to_num_")
        return self._assign(ops.nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf), "nan_to_num_")

    def __xor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return ops.bitwise_xor(other, self)

    def __lshift__(self, other: Any) -> Tensor:
        return ops.bitwise_left_shift(self, other)

    def __rlshift__(self, other: Any) -> Tensor:
        return ops.bitwise_left_shift(other, self)

    def __rshift__(self, other: Any) -> Tensor:
        return ops.bitwise_right_shift(self, other)

    def __rrshift__(self, other: Any) -> Tensor:
        return ops.bitwise_right_shift(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.remainder(other, self)

    def __rand__(self, other: Any) -> Tensor:
        return ops.bitwise_and(other, self)

    def __ror__(self, other: Any) -> Tensor:
        return ops.bitwise_or(other, self)

    __iand__, __ior__, __ixor__ = bitwise_and_, bitwise_or_, bitwise_xor_
    __ilshift__, __irshift__ = bitwise_left_shift_, bitwise_right_shift_
    __ifloordiv__, __imod__ = floor_divide_, remainder_

    # ------------------------------------------ cumulative, sorting and einsum
    def cumsum(self, dim: int | None = None, *, dtype: Any = None, axis: int | None = None) -> Tensor:
        return ops.cumsum(self, dim, dtype=dtype, axis=axis)

    def cumprod(self, dim: int | None = None, *, dtype: Any = None, axis: int | None = None) -> Tensor:
        return ops.cumprod(self, dim, dtype=dtype, axis=axis)

    def cummax(self, dim: int | None = None, *, axis: int | None = None) -> Any:
        return ops.cummax(self, dim, axis=axis)

    def cummin(self, dim: int | None = None, *, axis: int | None = None) -> Any:
        return ops.cummin(self, dim, axis=axis)

    def logcumsumexp(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        return ops.logcumsumexp(self, dim, axis=axis)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool | None = False) -> Any:
        return ops.sort(self, dim, descending, stable=stable)

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        return ops.argsort(self, dim, descending, stable=stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        return ops.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        return ops.kthvalue(self, k, dim, keepdim)

    def median(self, *args: Any, **kwargs: Any) -> Any:  # median() or median(dim, keepdim): see ops.median
        return ops.median(self, *args, **kwargs)

    # ------------------------------------------ scatter, index and matrix structure
    def scatter(self, dim: Any = None, index: Any = None, src: Any = None, value: Any = None, *, reduce: Any = None, axis: Any = None) -> Tensor:  # fmt: skip
        return ops.scatter(self, dim, index, src, value, reduce=reduce, axis=axis)

    def scatter_(self, dim: Any = None, index: Any = None, src: Any = None, value: Any = None, *, reduce: Any = None, axis: Any = None) -> Tensor:  # fmt: skip
        self._check_inplace("scatter_")
        return self._assign(ops.scatter(self, dim, index, src, value, reduce=reduce, axis=axis), "scatter_")

    def scatter_add(self, dim: Any = None, index: Any = None, src: Any = None, *, axis: Any = None) -> Tensor:
        return ops.scatter_add(self, dim, index, src, axis=axis)

    def scatter_add_(self, dim: Any = None, index: Any = None, src: Any = None, *, axis: Any = None) -> Tensor:
        self._check_inplace("scatter_add_")
        return self._assign(ops.scatter_add(self, dim, index, src, axis=axis), "scatter_add_")

    def scatter_reduce(self, dim: Any = None, index: Any = None, src: Any = None, reduce: Any = None, *, include_self: bool = True, axis: Any = None) -> Tensor:  # fmt: skip
        return ops.scatter_reduce(self, dim, index, src, reduce, include_self=include_self, axis=axis)

    def scatter_reduce_(self, dim: Any = None, index: Any = None, src: Any = None, reduce: Any = None, *, include_self: bool = True, axis: Any = None) -> Tensor:  # fmt: skip
        self._check_inplace("scatter_reduce_")
        out = ops.scatter_reduce(self, dim, index, src, reduce, include_self=include_self, axis=axis)
        return self._assign(out, "scatter_reduce_")

    def index_select(self, dim: Any = None, index: Any = None, *, axis: Any = None) -> Tensor:
        return ops.index_select(self, dim, index, axis=axis)

    def index_add(self, dim: Any = None, index: Any = None, source: Any = None, *, alpha: Any = 1, axis: Any = None) -> Tensor:  # fmt: skip
        return ops.index_add(self, dim, index, source, alpha=alpha, axis=axis)

    def index_add_(self, dim: Any = None, index: Any = None, source: Any = None, *, alpha: Any = 1, axis: Any = None) -> Tensor:  # fmt: skip
        self._check_inplace("index_add_")
        return self._assign(ops.index_add(self, dim, index, source, alpha=alpha, axis=axis), "index_add_")

    def index_copy(self, dim: Any = None, index: Any = None, source: Any = None, *, axis: Any = None) -> Tensor:
        return ops.index_copy(self, dim, index, source, axis=axis)

    def index_copy_(self, dim: Any = None, index: Any = None, source: Any = None, *, axis: Any = None) -> Tensor:
        self._check_inplace("index_copy_")
        return self._assign(ops.index_copy(self, dim, index, source, axis=axis), "index_copy_")

    def index_fill(self, dim: Any = None, index: Any = None, value: Any = None, *, axis: Any = None) -> Tensor:
        return ops.index_fill(self, dim, index, value, axis=axis)

    def index_fill_(self, dim: Any = None, index: Any = None, value: Any = None, *, axis: Any = None) -> Tensor:
        self._check_inplace("index_fill_")
        return self._assign(ops.index_fill(self, dim, index, value, axis=axis), "index_fill_")

    def masked_select(self, mask: Tensor) -> Tensor:
        return ops.masked_select(self, mask)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        return ops.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        self._check_inplace("masked_scatter_")
        return self._assign(ops.masked_scatter(self, mask, source), "masked_scatter_")

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        return ops.nonzero(self, as_tuple=as_tuple)

    def tril(self, diagonal: int = 0) -> Tensor:
        return ops.tril(self, diagonal)

    def tril_(self, diagonal: int = 0) -> Tensor:
        self._check_inplace("tril_")
        return self._assign(ops.tril(self, diagonal), "tril_")

    def triu(self, diagonal: int = 0) -> Tensor:
        return ops.triu(self, diagonal)

    def triu_(self, diagonal: int = 0) -> Tensor:
        self._check_inplace("triu_")
        return self._assign(ops.triu(self, diagonal), "triu_")

    def diag(self, diagonal: int = 0) -> Tensor:
        return ops.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return ops.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        return ops.diag_embed(self, offset, dim1, dim2)

    def trace(self) -> Tensor:
        return ops.trace(self)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return ops.roll(self, shifts, dims)

    def repeat_interleave(self, repeats: Any = None, dim: Any = None, *, output_size: Any = None, axis: Any = None) -> Tensor:  # fmt: skip
        return ops.repeat_interleave(self, repeats, dim, output_size=output_size, axis=axis)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        return ops.lerp(self, end, weight)

    def lerp_(self, end: Tensor, weight: Any) -> Tensor:
        self._check_inplace("lerp_", end, weight)
        return self._assign(ops.lerp(self, end, weight), "lerp_")

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        return ops.structure.unfold(self, dimension, size, step)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Tensor:
        return ops.rot90(self, k, dims)

    # (end of the scatter, index and matrix structure methods)

    # ------------------------------------------ semantics and conveniences (views, reductions, new_*, half)
    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """Steps in elements between neighbours along each dim (PyTorch's strides)."""
        steps = tuple(s // self.array.itemsize for s in self.array.strides)
        return steps if dim is None else steps[ops.operands.normalize_dim("stride", dim, self.ndim)]

    def t(self) -> Tensor:
        return ops.t(self)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """``transpose(axis0, axis1)`` (NumPy's name); the dims are checked here so that errors name swapaxes."""
        dim = ops.operands.normalize_dim
        return ops.transpose(self, dim("swapaxes", axis0, self.ndim), dim("swapaxes", axis1, self.ndim))

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        dim = ops.operands.normalize_dim
        return ops.transpose(self, dim("swapdims", dim0, self.ndim), dim("swapdims", dim1, self.ndim))

    def mm(self, mat2: Tensor) -> Tensor:
        return ops.mm(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return ops.bmm(self, mat2)

    def narrow(self, dim: int | None = None, start: int = 0, length: int = 0, *, axis: int | None = None) -> Tensor:
        return ops.narrow(self, dim, start, length, axis=axis)

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        return ops.unflatten(self, dim, sizes)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def bfloat16(self) -> Tensor:
        return self.to(dtypes.bfloat16)

    def is_floating_point(self) -> bool:
        return dtypes.is_floating(self.dtype)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        from .creation import new_filled

        return new_filled(self, "zeros", size, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        from .creation import new_filled

        return new_filled(self, "ones", size, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        from .creation import new_filled

        return new_filled(self, "empty", size, dtype, device, requires_grad)

    def new_full(
        self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import new_filled

        return new_filled(self, "full", (size,), dtype, device, requires_grad, fill_value)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        from .creation import tensor

        dtype = self.dtype if dtype is None else dtype
        with ops.checks.named("new_tensor", "tensor"):
            return tensor(data, dtype=dtype, device=device or self.device, requires_grad=requires_grad)

    # ------------------------------------------ nn-facing methods

    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        return ops.hardshrink(self, lambd)

    def prelu(self, weight: Tensor) -> Tensor:
        return ops.prelu(self, weight)

    def __repr__(self) -> str:
        shown = backend.to_device(self.array, "cpu")
        if self.dtype == dtypes.bfloat16:  # NumPy prints ml_dtypes' values without a decimal point
            shown = shown.astype(dtypes.float32)
        body = np.array2string(shown, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={dtypes.name(self.dtype)}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


from . import autograd, ops  # noqa: E402 - they need the Tensor class defined above
