"""Shape ops: they move values around without changing them, so each backward
moves the gradient back the same way (reshape back, inverse permutation, sum
over copies, slice out the pieces)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...amp.autocast_mode import autocast_args, autocast_state
from ..function import Context, Function
from ..tensor import Tensor
from .checks import broadcast_shape
from .operands import as_int, dim_or_axis, normalize_dim, normalize_dims, promote, shape_args, tensor_sequence


class Reshape(Function):
    """z = x with a new shape (same elements, row-major order);  dL/dx = g reshaped back"""

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple[int, ...]) -> Any:
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad.reshape(ctx.shape)


class Permute(Function):
    """z = x with its dims reordered;  dL/dx = g with the inverse order"""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...]) -> Any:
        ctx.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad.transpose(ctx.inverse)


class Expand(Function):
    """z = x broadcast to a larger shape (no copy);  dL/dx = g summed over the copies

    (the engine's unbroadcast does that sum)."""

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple[int, ...]) -> Any:
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad


class Repeat(Function):
    """z = x tiled r_i times along dim i;  dL/dx = g summed over the tiles"""

    @staticmethod
    def forward(ctx: Context, x: Any, repeats: tuple[int, ...]) -> Any:
        ctx.shape = (1,) * (len(repeats) - x.ndim) + x.shape
        ctx.repeats = repeats
        return ctx.xp.tile(x, repeats)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        split = [n for pair in zip(ctx.repeats, ctx.shape, strict=True) for n in pair]
        g = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g


class Flip(Function):
    """z = x reversed along dims;  dL/dx = g reversed along the same dims"""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...]) -> Any:
        ctx.dims = dims
        return ctx.xp.flip(x, dims).copy()  # a copy, as in PyTorch (whose tensors have no negative strides)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.flip(grad, ctx.dims)


class Pad(Function):
    """z = x with `value` added around it (negative widths crop);  dL/dx = g's centre"""

    @staticmethod
    def forward(ctx: Context, x: Any, widths: tuple[tuple[int, int], ...], value: float) -> Any:
        grow = [(max(a, 0), max(b, 0)) for a, b in widths]
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(widths, x.shape, strict=True))
        ctx.grow, ctx.crop, ctx.shape = grow, crop, x.shape
        return ctx.xp.pad(x[crop], grow, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        inner = tuple(slice(a, n - b) for (a, b), n in zip(ctx.grow, grad.shape, strict=True))
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        g[ctx.crop] = grad[inner]
        return g


class Cat(Function):
    """z = [x₁, x₂, ...] joined along dim;  dL/dxᵢ = the slice of g where xᵢ went"""

    @staticmethod
    def forward(ctx: Context, *xs: Any, dim: int) -> Any:
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [x.shape[dim] for x in xs])
        return ctx.xp.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * ctx.dim
        b = ctx.bounds
        return tuple(grad[lead + (slice(b[i], b[i + 1]),)] for i in range(len(b) - 1))


class Stack(Function):
    """z = [x₁, x₂, ...] stacked along a new dim;  dL/dxᵢ = g indexed at i on that dim"""

    @staticmethod
    def forward(ctx: Context, *xs: Any, dim: int) -> Any:
        ctx.dim = dim
        return ctx.xp.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        return tuple(ctx.xp.moveaxis(grad, ctx.dim, 0))


def _infer_shape(op: str, shape: tuple[int, ...], numel: int, old: tuple[int, ...]) -> tuple[int, ...]:
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dim can be -1, got {shape}")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {old} ({numel} elements)")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if math.prod(shape) != numel or any(s < 0 for s in shape):
        raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {old} ({numel} elements)")
    return shape


class View(Function):
    """z = x with a new shape, sharing x's memory (strides from ``view_strides``);  dL/dx = g reshaped back"""

    @staticmethod
    def forward(ctx: Context, x: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
        ctx.shape = x.shape
        return ctx.xp.lib.stride_tricks.as_strided(x, shape=shape, strides=tuple(s * x.itemsize for s in strides))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad.reshape(ctx.shape)


def view_strides(old: tuple[int, ...], strides: tuple[int, ...], new: tuple[int, ...]) -> tuple[int, ...] | None:
    """The strides (in elements) of ``new`` as a view of memory laid out as (``old``, ``strides``),
    or None when no view exists (PyTorch's computeStride).

    Walking the old dims from the last, a run of dims where each stride is the next one's
    stride times its size is one contiguous "chunk"; a view may split and merge dims inside a
    chunk but never across two, so the new dims must fill each chunk exactly. Size-1 dims fit
    anywhere. An empty tensor views as anything.
    """
    if not old:
        return (1,) * len(new)
    numel = math.prod(old)
    if numel == 0:
        if old == new:
            return strides
        out, step = [0] * len(new), 1
        for d in range(len(new) - 1, -1, -1):
            out[d] = step
            step *= max(new[d], 1)
        return tuple(out)
    out = [0] * len(new)
    view_d = len(new) - 1
    base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(old) - 1, -1, -1):
        tensor_numel *= old[d]
        if d == 0 or (old[d - 1] != 1 and strides[d - 1] != tensor_numel * base):  # the chunk ends at d
            while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
                out[view_d] = view_numel * base
                view_numel *= new[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                base, tensor_numel, view_numel = strides[d - 1], 1, 1
    return tuple(out) if view_d == -1 else None


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape: a view when the strides allow it, else a copy."""
    new = _infer_shape("reshape", shape_args("reshape", shape), input.numel(), input.shape)
    return input if new == input.shape else Reshape.apply(input, shape=new)


class ViewDtype(Function):
    """z = x's bytes read as another dtype (``x.view(torch.int32)``); not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, dtype: Any) -> Any:
        return x.view(dtype)


def _is_dtype(value: Any) -> bool:
    return isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic))


def view(input: Tensor, *shape: Any) -> Tensor:
    """The same memory seen with a new shape (never a copy: a write through either is seen by both).

    Raises RuntimeError, as PyTorch, when the tensor's strides cannot express ``shape``
    (e.g. flattening a transposed matrix): use ``reshape`` there (see ``view_strides``).
    ``view(dtype)`` reads the same bytes as another dtype (the last dim rescaled when the
    element sizes differ; it must then have stride 1 and a divisible size)."""
    if len(shape) == 1 and _is_dtype(shape[0]):
        return _view_dtype(input, np.dtype(shape[0]))
    new = _infer_shape("view", shape_args("view", shape), input.numel(), input.shape)
    strides = view_strides(input.shape, tuple(s // input.array.itemsize for s in input.array.strides), new)
    if strides is None:
        raise RuntimeError(
            f"view: view size is not compatible with input tensor's size and stride (at least one dimension "
            f"spans across two contiguous subspaces): shape {input.shape} with strides {input.stride()} can't be "
            f"viewed as {new}. Use .reshape(...) instead."
        )
    return View.apply(input, shape=new, strides=strides)


def _view_dtype(input: Tensor, dtype: np.dtype) -> Tensor:
    if dtype == input.dtype:
        return input
    old, new = input.array.itemsize, dtype.itemsize
    if old != new:
        if input.ndim == 0 or input.array.strides[-1] != old:
            stride = input.stride(-1) if input.ndim else None
            raise RuntimeError(
                f"view: self.stride(-1) must be 1 to view {input.dtype} as {dtype} (different element sizes), "
                f"but got {stride}"
            )
        if (input.shape[-1] * old) % new:
            raise RuntimeError(
                f"view: self.size(-1) must be divisible by {new // old} to view {input.dtype} as {dtype} "
                f"(different element sizes), but got {input.shape[-1]}"
            )
    return ViewDtype.apply(input, dtype=dtype)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    if input.ndim == 0:
        return reshape(input, 1)
    s = normalize_dim("flatten", start_dim, input.ndim)
    e = normalize_dim("flatten", end_dim, input.ndim)
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape
    return reshape(input, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1); the inverse of ``flatten``."""
    d = normalize_dim("unflatten", dim, input.ndim)
    sizes = shape_args("unflatten", (sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[d]
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (-1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
        raise RuntimeError(f"unflatten: provided sizes {sizes} don't multiply up to the size of dim {dim} ({n})")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1 :])


def permute(input: Tensor, *dims: Any) -> Tensor:
    dims = shape_args("permute", dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute: {len(dims)} dims {dims} given for a tensor with {input.ndim} dims")
    order = tuple(normalize_dim("permute", d, input.ndim) for d in dims)
    if sorted(order) != list(range(input.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of {input.ndim} dims")
    return Permute.apply(input, dims=order)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    order = list(range(input.ndim))
    a, b = normalize_dim("transpose", dim0, input.ndim), normalize_dim("transpose", dim1, input.ndim)
    order[a], order[b] = order[b], order[a]
    return Permute.apply(input, dims=tuple(order)) if input.ndim > 1 else input


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix (a vector is returned as is)."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dims, got shape {input.shape}")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def squeeze(input: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or those in ``dim`` that have size 1)."""
    dim = dim_or_axis("squeeze", dim, axis)
    dims = normalize_dims("squeeze", dim, input.ndim) if input.ndim else ()
    return reshape(input, tuple(n for i, n in enumerate(input.shape) if not (i in dims and n == 1)))


def unsqueeze(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    dim = dim_or_axis("unsqueeze", dim, axis)
    if dim is None:
        raise TypeError("unsqueeze: missing required argument 'dim'")
    d = normalize_dim("unsqueeze", dim, input.ndim + 1)
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


def _expand(op: str, input: Tensor, sizes: tuple[Any, ...]) -> Tensor:
    """``expand`` for the API ``op`` the user called (expand, broadcast_to, expand_as): RuntimeError naming it."""
    sizes = shape_args(op, sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"{op}: {sizes} has fewer dims than the input's shape {input.shape}")
    lead = len(sizes) - input.ndim
    for i, s in enumerate(sizes):
        if s == -1 and i < lead:
            raise RuntimeError(
                f"{op}: the expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension {i} "
                f"(sizes {sizes}, input shape {input.shape})"
            )
        if s < -1:
            raise RuntimeError(f"{op}: the expanded size {s} of dim {i} is negative (sizes {sizes})")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, n in enumerate(input.shape):
        if n != 1 and n != shape[lead + i]:
            raise RuntimeError(f"{op}: the input's shape {input.shape} can't be expanded to {sizes}")
    return input if shape == input.shape else Expand.apply(input, shape=shape)


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` (-1 keeps a dim) without copying."""
    return _expand("expand", input, sizes)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return _expand("broadcast_to", input, (shape,))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return _expand("expand_as", input, (other.shape,))


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape (RuntimeError naming the shapes if there is none)."""
    tensors = tuple(tensor_sequence("broadcast_tensors", tensors))
    shape = broadcast_shape("broadcast_tensors", *(t.shape for t in tensors))
    return tuple(_expand("broadcast_tensors", t, (shape,)) for t in tensors)


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    sizes = shape_args("repeat", sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"repeat: {len(sizes)} repeats given for a tensor with {input.ndim} dims")
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {min(sizes)} in {sizes}")
    return Repeat.apply(input, repeats=sizes)


def flip(input: Tensor, *dims: Any) -> Tensor:
    return Flip.apply(input, dims=normalize_dims("flip", shape_args("flip", dims), input.ndim))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """``pad`` lists (before, after) pairs starting from the LAST dim; negative widths crop.

    mode "constant" fills with ``value`` (0 when None); "reflect", "replicate" and "circular"
    copy the input's own values (engine/ops/padding.py, with their scatter-add backward)."""
    from .padding import check_input, pad_by_mode, pad_widths

    check_input(input)
    if mode != "constant":
        return pad_by_mode(input, pad, mode, value)
    widths = pad_widths(pad, input.ndim)
    value = 0.0 if value is None else value
    for (a, b), n in zip(widths, input.shape, strict=True):
        if n + a + b < 0:
            raise RuntimeError(f"pad: pad {tuple(pad)} crops more than the input's shape {input.shape}")
    return Pad.apply(input, widths=tuple(widths), value=value)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join along an existing dim; dtypes are promoted, other dims must match."""
    dim = dim_or_axis("cat", dim, axis, 0)
    tensors = tensor_sequence("cat", tensors)
    if autocast_state.enabled:
        (tensors,) = autocast_args("cat", tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    tensors = [t for t in tensors if t.shape != (0,)] or tensors[:1]  # PyTorch skips legacy empties
    d = normalize_dim("cat", dim, tensors[0].ndim)
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or any(t.shape[j] != ref[j] for j in range(len(ref)) if j != d):
            raise RuntimeError(f"cat: sizes must match except in dim {dim}; got {ref} and {t.shape} (tensor {i})")
    return Cat.apply(*promote("cat", *tensors), dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join along a new dim; all shapes must be equal."""
    dim = dim_or_axis("stack", dim, axis, 0)
    tensors = tensor_sequence("stack", tensors)
    if autocast_state.enabled:
        (tensors,) = autocast_args("stack", tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, got {tensors[0].shape} and {t.shape} (tensor {i})"
            )
    d = normalize_dim("stack", dim, tensors[0].ndim + 1)
    return Stack.apply(*promote("stack", *tensors), dim=d)


def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of size ``split_size`` (the last may be smaller), or of the listed sizes."""
    d = normalize_dim("split", dim, input.ndim)
    n = input.shape[d]
    if not isinstance(split_size_or_sections, Sequence | np.ndarray):
        size = as_int("split", "split_size", split_size_or_sections)
        if size <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size)
        if n % size or n == 0:
            sizes.append(n % size)
    else:
        sizes = list(shape_args("split", (split_size_or_sections,)))
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split_sizes must be non-negative, got {sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split: sections {sizes} don't add up to {n} (dim {dim} of {input.shape})")
    bounds = np.cumsum([0] + sizes)
    lead = (slice(None),) * d
    return tuple(input[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def chunk(input: Tensor, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple[Tensor, ...]:
    """``chunks`` pieces of equal size ceil(n / chunks) (fewer if n is small)."""
    dim = dim_or_axis("chunk", dim, axis, 0)
    chunks = as_int("chunk", "chunks", chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    n = input.shape[normalize_dim("chunk", dim, input.ndim)]
    return split(input, max(math.ceil(n / chunks), 1), dim)


def narrow(
    input: Tensor, dim: int | None = None, start: int = 0, length: int = 0, *, axis: int | None = None
) -> Tensor:
    """Elements start .. start + length - 1 of dim ``dim`` (a view); a negative start counts from the end."""
    d = normalize_dim("narrow", dim_or_axis("narrow", dim, axis), input.ndim)
    start, length, n = as_int("narrow", "start", start), as_int("narrow", "length", length), input.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    start = start + n if start < 0 else start
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n}) of dim {dim}")
    return input[(slice(None),) * d + (slice(start, start + length),)]
