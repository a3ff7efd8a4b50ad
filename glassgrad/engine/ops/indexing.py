"""Indexing: ``x[index]`` and gather, whose backward scatters the gradient back.

Repeated integer indices pick the same element several times, so the gradient
*adds* at that element (``np.add.at`` / ``cupyx.scatter_add``), never overwrites.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..function import Context, Function
from ..tensor import Tensor
from .operands import dim_or_axis, normalize_dim


def index_arrays(index: Any, device: str) -> Any:
    """Replace Tensors (and lists) inside an index by arrays on ``device``."""
    xp = backend.array_module(device)

    def convert(part: Any) -> Any:
        if isinstance(part, Tensor):
            if part.device != device:
                raise RuntimeError(f"getitem: index on {part.device} for a tensor on {device}")
            return part.array
        if isinstance(part, list):
            array = xp.asarray(part)
            return array.astype(np.int64) if array.size == 0 else array  # x[[]] picks nothing (int64, as PyTorch)
        return part

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


def _is_array(part: Any) -> bool:
    return hasattr(part, "ndim") and hasattr(part, "dtype") and not isinstance(part, np.generic)


class _NewDim(NamedTuple):
    """A bool in an index: a new dim of size 1 that an index [True] keeps or [False] empties."""

    keep: bool


_VALID_INDICES = "indices are integers, slices, None, Ellipsis, bools and integer or bool tensors"


def split_index(op: str, index: Any, shape: tuple[int, ...], device: str) -> tuple[tuple[Any, ...], Any]:
    """PyTorch's indexing as two NumPy indexes: ``x[index] == x[basic][advanced]``.

    PyTorch applies ints (and 0-d integer tensors), slices, None and Ellipsis first, as a
    view (an int removes its dim), and only then the index tensors, to that view. NumPy
    instead counts an int as one more index array when arrays are present, which moves the
    indexed dims: for x of shape (3, 4, 5) and d of shape (2,), ``x[1, :, d]`` is (4, 2) in
    PyTorch but (2, 4) in NumPy. ``basic`` holds ints, slices and None (slice(None) where an
    array goes), ``advanced`` (None when there are no arrays) the arrays, in the view's dims.
    A Python bool (or 0-d bool tensor) adds a dim of size 1 (True) or 0 (False), as in PyTorch.
    """
    xp = backend.array_module(device)
    parts = list(index_arrays(index, device)) if isinstance(index, tuple) else [index_arrays(index, device)]
    for i, part in enumerate(parts):
        if _is_array(part) and part.ndim == 0 and part.dtype.kind in "iu":
            parts[i] = int(part)  # a 0-d integer tensor selects, like an int
        elif isinstance(part, np.generic) and part.dtype.kind in "iu":
            parts[i] = int(part)
        elif isinstance(part, bool | np.bool_) or (_is_array(part) and part.ndim == 0 and part.dtype.kind == "b"):
            parts[i] = _NewDim(bool(part))
    consumed = 0
    for part in parts:
        if _is_array(part):
            consumed += part.ndim if part.dtype.kind == "b" else 1
        elif isinstance(part, int | slice):
            consumed += 1
        elif isinstance(part, str | bytes):  # PyTorch: TypeError ("new(): invalid data type 'str'")
            raise TypeError(f"{op}: a {type(part).__name__} ({part!r}) is not a valid index; {_VALID_INDICES}")
        elif part is not None and part is not Ellipsis and not isinstance(part, _NewDim):
            raise IndexError(
                f"{op}: only integers, slices, None, Ellipsis, bools and integer or bool tensors are valid "
                f"indices, got {type(part).__name__}"
            )
    if sum(p is Ellipsis for p in parts) > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
    if consumed > len(shape):
        raise IndexError(f"{op}: too many indices for a tensor of dimension {len(shape)} (index {index!r})")
    basic: list[Any] = []
    advanced: list[Any] = []
    has_arrays = False
    for part in parts:
        if part is Ellipsis:
            basic.extend([slice(None)] * (len(shape) - consumed))
            advanced.extend([slice(None)] * (len(shape) - consumed))
        elif isinstance(part, slice):
            if part.step is not None and int(part.step) <= 0:
                raise ValueError(f"{op}: step must be greater than zero, got {part.step} (use flip to reverse)")
            basic.append(part)
            advanced.append(slice(None))
        elif part is None:
            basic.append(None)
            advanced.append(slice(None))
        elif isinstance(part, _NewDim):  # a new dim of size 1, kept (True) or dropped (False)
            basic.append(None)
            advanced.append(xp.asarray([part.keep]))
            has_arrays = True
        elif isinstance(part, int):
            basic.append(part)
        else:
            if part.dtype.kind not in "iub":
                raise IndexError(f"{op}: tensors used as indices must be long, int or bool tensors, got {part.dtype}")
            basic.extend([slice(None)] * (part.ndim if part.dtype.kind == "b" else 1))
            advanced.append(part)
            has_arrays = True
    return tuple(basic), (tuple(advanced) if has_arrays else None)


class GetItem(Function):
    """z = x[index] (PyTorch's rule: see ``split_index``);  dL/dx = zeros with g added at the indexed places"""

    @staticmethod
    def forward(ctx: Context, x: Any, basic: tuple[Any, ...], advanced: Any) -> Any:
        ctx.shape, ctx.basic, ctx.advanced = x.shape, basic, advanced
        view = x[basic]
        return view if advanced is None else view[advanced]

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        if ctx.advanced is None:
            g[ctx.basic] = grad
        else:  # g[basic] is a view of g (it keeps the array's dim), and repeated indices add up
            backend.scatter_add(g[ctx.basic], ctx.advanced, grad)
        return g


class IndexPut(Function):
    """z = x with z[index] = v (``x[index] = v``, ``fill_``: an in-place write, recorded);
    dL/dx = g with the written places set to 0;  dL/dv = g[index] (summed back to v's shape)"""

    @staticmethod
    def forward(ctx: Context, x: Any, value: Any, index: Any, op: str, device: str) -> Any:
        out = x.copy()
        setitem_array(out, index, value, device, op)
        ctx.index, ctx.op, ctx.device = index, op, device
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        to_x = grad.copy()
        setitem_array(to_x, ctx.index, 0, ctx.device, ctx.op)
        basic, advanced = split_index(ctx.op, ctx.index, grad.shape, ctx.device)
        part = grad[basic]
        return to_x, part if advanced is None else part[advanced]


class AddAt(Function):
    """z = x with v added at ``index`` (a NumPy index: repeated places add up, as ``np.add.at``);
    dL/dx = g,  dL/dv = g[index]. The recorded form of a backward's scatter-add (engine/recorded.py)."""

    @staticmethod
    def forward(ctx: Context, x: Any, v: Any, index: Any) -> Any:
        ctx.index = index
        out = x.copy()
        backend.scatter_add(out, index, v)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, grad[ctx.index]


def add_at(input: Tensor, index: Any, value: Tensor) -> Tensor:
    """``input`` with ``value`` added at ``index`` (repeats add up), out of place and differentiable in both."""
    return AddAt.apply(input, value, index=index)


def index_put(input: Tensor, index: Any, value: Any, op: str = "index_put") -> Tensor:
    """``input`` with ``input[index] = value``, out of place and differentiable in both (see IndexPut)."""
    return IndexPut.apply(input, value, index=index, op=op, device=input.device)


def _along_dim_index(xp: Any, index: Any, dim: int) -> tuple[Any, ...]:
    """The full index tuple that picks ``index`` along ``dim`` and keeps every other dim."""
    grids = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


class TakeAlongDim(Function):
    """z[..., i, ...] = x[..., index[..., i, ...], ...] along dim;  dL/dx = g scatter-added back"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, dim: int) -> Any:
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return ctx.xp.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        (index,) = ctx.saved_arrays
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        backend.scatter_add(g, _along_dim_index(ctx.xp, index, ctx.dim), grad)
        return g, None


def getitem(input: Tensor, index: Any) -> Tensor:
    """PyTorch indexing: ints, slices with positive steps, None, Ellipsis, bools, bool masks,
    integer tensors and lists; the dims of index tensors are placed as PyTorch places them."""
    try:
        basic, advanced = split_index("getitem", index, input.shape, input.device)
        return GetItem.apply(input, basic=basic, advanced=advanced)
    except IndexError as err:
        if str(err).startswith("getitem:"):
            raise
        raise IndexError(f"getitem: index {index!r} is invalid for shape {input.shape}: {err}") from err


def setitem_array(array: Any, index: Any, value: Any, device: str, op: str = "setitem") -> None:
    """``array[index] = value`` in place, with ``index`` read by PyTorch's rule (``split_index``). Nothing is
    written when it raises: TypeError for a string or None value, RuntimeError naming ``op`` and both shapes
    when the value does not broadcast to the indexed places (PyTorch's types, not NumPy's ValueError)."""
    if value is None or isinstance(value, str | bytes):
        raise TypeError(f"{op}: can't assign a {type(value).__name__} to a tensor of dtype {array.dtype}")
    basic, advanced = split_index(op, index, array.shape, device)
    try:
        if advanced is None:
            array[basic] = value
        else:
            array[basic][advanced] = value  # array[basic] is a view, so this writes into array
    except IndexError as err:
        raise IndexError(f"{op}: index {index!r} is invalid for shape {tuple(array.shape)}: {err}") from err
    except ValueError:  # NumPy checks the broadcast before it writes anything; say it as PyTorch does
        target = tuple((array[basic] if advanced is None else array[basic][advanced]).shape)
        shape = core = tuple(getattr(value, "shape", ()))
        while len(core) > len(target) and core[0] == 1:  # the value's leading 1s are dropped
            core = core[1:]
        if len(core) <= len(target) and all(n in (1, m) for n, m in zip(core[::-1], target[::-1], strict=False)):
            raise  # the shapes fit (leading 1s dropped, then broadcast): a value NumPy can't convert
        raise RuntimeError(
            f"{op}: shape mismatch: value of shape {shape} can't be broadcast to the indexed shape {target}"
        ) from None


def take_along_dim(input: Tensor, indices: Tensor, dim: int) -> Tensor:
    """Values of ``input`` at ``indices`` along ``dim`` (shapes broadcast except on dim)."""
    d = normalize_dim("take_along_dim", dim, input.ndim)
    if indices.ndim != input.ndim:
        raise RuntimeError(
            f"take_along_dim: indices shape {indices.shape} and input shape {input.shape} differ in ndim"
        )
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"take_along_dim: indices must be integers, got {indices.dtype}")
    # PyTorch reads past the row for an index outside [-n, n) (no check on its cpu); we refuse it. As in
    # gather, only on the cpu: on cuda reading the index back would stall on a device-to-host copy.
    n = input.shape[d] if input.ndim else 1
    if indices.device == "cpu" and indices.numel():
        low, high = int(indices.array.min()), int(indices.array.max())
        if low < -n or high >= n:
            bad = low if low < -n else high
            raise RuntimeError(f"take_along_dim: index {bad} is out of bounds for dimension {dim} with size {n}")
    return TakeAlongDim.apply(input, indices, dim=d)


def gather(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    *,
    sparse_grad: bool = False,
    axis: int | None = None,
) -> Tensor:
    """out[i][j] = input[index[i][j]][j] for dim 0, and so on (PyTorch's gather)."""
    if sparse_grad:
        raise ValueError("gather: sparse_grad=True is not supported (glassgrad has no sparse tensors)")
    dim = dim_or_axis("gather", dim, axis)
    if index is None or not isinstance(index, Tensor):
        raise TypeError(f"gather: index must be a Tensor, got {type(index).__name__}")
    d = normalize_dim("gather", dim, input.ndim)
    for i, (n, m) in enumerate(zip(index.shape, input.shape, strict=False)):
        if i != d and n > m:
            raise RuntimeError(f"gather: index shape {index.shape} is larger than input shape {input.shape} in dim {i}")
    if index.ndim != input.ndim:
        raise RuntimeError(f"gather: index shape {index.shape} and input shape {input.shape} differ in ndim")
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"gather: index must be an int64 tensor, got {index.dtype}")
    # Bounds are checked on the cpu only: on cuda reading the index back would stall on a
    # device-to-host copy (PyTorch checks there with an asynchronous device-side assert).
    if index.device == "cpu" and index.numel():
        low, high = int(index.array.min()), int(index.array.max())
        if low < 0 or high >= input.shape[d]:
            bad = low if low < 0 else high
            raise RuntimeError(f"gather: index {bad} is out of bounds for dimension {dim} with size {input.shape[d]}")
    if index.shape != input.shape:
        crop = tuple(slice(0, n) if i != d else slice(None) for i, n in enumerate(index.shape))
        input = input[crop]
    return take_along_dim(input, index, d)
