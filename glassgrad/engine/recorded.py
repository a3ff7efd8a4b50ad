"""Recorded arrays: run a backward written for NumPy arrays on Tensors, so that it records a graph.

Every op's ``backward`` is written once, for arrays: ``grad * ctx.xp.cos(x)``. To differentiate a
derivative (``create_graph=True``) that same body must build a graph instead of numbers. The engine
runs it with ``grad`` and the saved inputs and output wrapped as ``Recorded`` values, and ``ctx.xp``
set to ``numpy_api`` below: each NumPy-style method or function a backward uses turns into the
engine op that computes it (``x.sum(axis=1, keepdims=True)`` into ``Tensor.sum(dim=1, keepdim=True)``,
``xp.where`` into ``gg.where``), and that op records its node as any forward op does. So the
derivative of a derivative comes from the same formulas, and the plain first-order backward (arrays)
is untouched.

A NumPy name not listed here raises ``NotImplementedError`` naming it: the op whose backward used it
cannot yet be differentiated twice (add the name here, or give the op a ``decomposition``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensor import Tensor


class Recorded:
    """An array-like over a Tensor: NumPy's method names, the engine's recorded ops underneath."""

    __slots__ = ("tensor", "base")
    __array_ufunc__ = None  # ndarray ∘ Recorded calls Recorded's reflected operator

    def __init__(self, tensor: Tensor, base: tuple[Recorded, Any] | None = None) -> None:
        self.tensor = tensor
        # for a view (indexed, reshaped, transposed): (the Recorded it views, how the viewed values rebuild
        # that one's), so that a write here shows there, as a write into a NumPy view shows in its base
        self.base = base

    # ------------------------------------------------------------ facts (NumPy's names)
    shape = property(lambda self: self.tensor.shape)
    dtype = property(lambda self: self.tensor.dtype)
    ndim = property(lambda self: self.tensor.ndim)
    size = property(lambda self: self.tensor.numel())
    flags = property(lambda self: self.tensor.array.flags)  # the layout of the values underneath
    T = property(lambda self: self.transpose())

    def __len__(self) -> int:
        return len(self.tensor)

    def __repr__(self) -> str:
        return f"Recorded({self.tensor!r})"

    # ------------------------------------------------------------ operators
    def __add__(self, o: Any) -> Recorded:
        return Recorded(self.tensor + tensor_of(o))

    def __radd__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) + self.tensor)

    def __sub__(self, o: Any) -> Recorded:
        return Recorded(self.tensor - tensor_of(o))

    def __rsub__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) - self.tensor)

    def __mul__(self, o: Any) -> Recorded:
        return Recorded(self.tensor * tensor_of(o))

    def __rmul__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) * self.tensor)

    def __truediv__(self, o: Any) -> Recorded:
        return Recorded(self.tensor / tensor_of(o))

    def __rtruediv__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) / self.tensor)

    def __pow__(self, o: Any) -> Recorded:
        return Recorded(self.tensor ** tensor_of(o))

    def __rpow__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) ** self.tensor)

    # a // b in a backward is a quotient with zero derivative: div(rounding_mode="floor"), not floor_divide (which raises)
    def __floordiv__(self, o: Any) -> Recorded:
        return Recorded(_ops().div(self.tensor, tensor_of(o), rounding_mode="floor"))

    def __rfloordiv__(self, o: Any) -> Recorded:
        return Recorded(_ops().div(tensor_of(o), self.tensor, rounding_mode="floor"))

    def __matmul__(self, o: Any) -> Recorded:
        return Recorded(self.tensor @ tensor_of(o))

    def __rmatmul__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) @ self.tensor)

    # in-place arithmetic as NumPy's: the name keeps the array, and a view's base sees the change
    def __iadd__(self, o: Any) -> Recorded:
        return self._assign(self.tensor + tensor_of(o))

    def __isub__(self, o: Any) -> Recorded:
        return self._assign(self.tensor - tensor_of(o))

    def __imul__(self, o: Any) -> Recorded:
        return self._assign(self.tensor * tensor_of(o))

    def __itruediv__(self, o: Any) -> Recorded:
        return self._assign(self.tensor / tensor_of(o))

    def _assign(self, tensor: Tensor) -> Recorded:
        self.tensor = tensor
        self._write_back()
        return self

    def __neg__(self) -> Recorded:
        return Recorded(-self.tensor)

    def __abs__(self) -> Recorded:
        return Recorded(abs(self.tensor))

    # comparisons give masks: constants of the graph (their derivative is zero)
    def __lt__(self, o: Any) -> Recorded:
        return Recorded(self.tensor < tensor_of(o))

    def __le__(self, o: Any) -> Recorded:
        return Recorded(self.tensor <= tensor_of(o))

    def __gt__(self, o: Any) -> Recorded:
        return Recorded(self.tensor > tensor_of(o))

    def __ge__(self, o: Any) -> Recorded:
        return Recorded(self.tensor >= tensor_of(o))

    def __eq__(self, o: Any) -> Recorded:  # type: ignore[override]
        return Recorded(self.tensor == tensor_of(o))

    def __ne__(self, o: Any) -> Recorded:  # type: ignore[override]
        return Recorded(self.tensor != tensor_of(o))

    def __invert__(self) -> Recorded:
        return Recorded(~self.tensor)

    def __and__(self, o: Any) -> Recorded:
        return Recorded(self.tensor & tensor_of(o))

    def __or__(self, o: Any) -> Recorded:
        return Recorded(self.tensor | tensor_of(o))

    def __rand__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) & self.tensor)

    def __ror__(self, o: Any) -> Recorded:
        return Recorded(tensor_of(o) | self.tensor)

    def __bool__(self) -> bool:
        return bool(self.tensor.array)

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------ indexing
    def __getitem__(self, index: Any) -> Recorded:
        from .ops.indexing import index_put

        index = constant_index(index)
        return Recorded(self.tensor[index], base=(self, lambda v: index_put(self.tensor, index, v)))

    def __setitem__(self, index: Any, value: Any) -> None:
        """``a[index] = value`` as the out-of-place, recorded ``index_put``: ``a`` now names the result
        (and when ``a`` is a view of ``b``, ``b`` is rebuilt from it)."""
        from .ops.indexing import index_put

        self.tensor = index_put(self.tensor, constant_index(index), tensor_of(value, like=self.tensor))
        self._write_back()

    def add_at(self, index: Any, values: Any) -> None:
        """``np.add.at(a, index, values)`` as the out-of-place, recorded ``add_at``: ``a`` now names the result."""
        from .ops.indexing import add_at

        self.tensor = add_at(self.tensor, constant_index(index), _as_tensor(values))
        self._write_back()

    def _write_back(self) -> None:
        if self.base is not None:
            owner, rebuild = self.base
            owner._assign(rebuild(self.tensor))

    def _view(self, tensor: Tensor, rebuild: Any) -> Recorded:
        return Recorded(tensor, base=(self, rebuild))

    # ------------------------------------------------------------ NumPy's methods
    def sum(self, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Recorded:
        out = self.tensor.sum(dim=_dims(axis), keepdim=keepdims)
        return Recorded(out if dtype is None else out.to(np.dtype(dtype)))

    def mean(self, axis: Any = None, keepdims: bool = False) -> Recorded:
        return Recorded(self.tensor.mean(dim=_dims(axis), keepdim=keepdims))

    def prod(self, axis: Any = None, keepdims: bool = False) -> Recorded:
        dims = _dims(axis)
        if dims is None or isinstance(dims, int):
            return Recorded(self.tensor.prod(dim=dims, keepdim=keepdims))
        out = self.tensor
        for d in sorted((d % self.ndim for d in dims), reverse=True):
            out = out.prod(dim=d, keepdim=keepdims)
        return Recorded(out)

    def reshape(self, *shape: Any) -> Recorded:
        return self._view(self.tensor.reshape(*shape), lambda v: v.reshape(self.shape))

    def transpose(self, *axes: Any) -> Recorded:
        if not axes or (len(axes) == 1 and axes[0] is None):
            order = tuple(reversed(range(self.ndim)))
        else:
            order = tuple(int(a) for a in (axes[0] if len(axes) == 1 else axes))
        inverse = tuple(int(i) for i in np.argsort(order))
        return self._view(self.tensor.permute(*order), lambda v: v.permute(*inverse))

    def swapaxes(self, a: int, b: int) -> Recorded:
        return self._view(self.tensor.transpose(a, b), lambda v: v.transpose(a, b))

    def astype(self, dtype: Any, copy: bool = True) -> Recorded:
        return Recorded(self.tensor.to(np.dtype(dtype)))

    def copy(self) -> Recorded:
        return Recorded(self.tensor.clone())

    def ravel(self) -> Recorded:
        return self.reshape(-1)

    def flatten(self) -> Recorded:  # a copy, as NumPy's: writing into it leaves self alone
        return Recorded(self.tensor.reshape(-1))

    def squeeze(self, axis: Any = None) -> Recorded:
        out = self.tensor.squeeze() if axis is None else self.tensor.squeeze(axis)
        return self._view(out, lambda v: v.reshape(self.shape))

    def max(self, axis: Any = None, keepdims: bool = False) -> Recorded:
        return Recorded(self.tensor.amax(dim=_dims(axis), keepdim=keepdims))

    def min(self, axis: Any = None, keepdims: bool = False) -> Recorded:
        return Recorded(self.tensor.amin(dim=_dims(axis), keepdim=keepdims))


def _dims(axis: Any) -> Any:
    return tuple(int(a) for a in axis) if isinstance(axis, tuple | list) else axis


def tensor_of(value: Any, like: Tensor | None = None) -> Any:
    """The Tensor behind ``value``: a Recorded's tensor, an array as a constant Tensor; Python numbers pass
    through (the engine's ops take them as weak scalars)."""
    if isinstance(value, Recorded):
        return value.tensor
    if isinstance(value, Tensor) or isinstance(value, bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "shape"):
        return Tensor(value)
    return value


def constant_index(index: Any) -> Any:
    """An index with any Recorded part (a mask or positions computed in the backward) turned into its array."""
    if isinstance(index, tuple):
        return tuple(constant_index(i) for i in index)
    if isinstance(index, Recorded):
        return index.tensor.array
    if isinstance(index, Tensor):
        return index.array
    return index


def recorded(value: Any) -> Any:
    """Wrap a Tensor (or a float array, as a constant) for a recorded backward; others pass through."""
    if isinstance(value, Tensor):
        return Recorded(value)
    if hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(value, np.generic):
        return Recorded(Tensor(value))
    return value


def _ops() -> Any:
    from . import ops

    return ops


def _unary(name: str) -> Any:
    def function(x: Any) -> Any:
        return Recorded(getattr(_ops(), name)(tensor_of(x) if isinstance(x, Recorded) else Tensor(np.asarray(x))))

    function.__name__ = name
    return function


class _NumpyAPI:
    """The NumPy functions a backward calls through ``ctx.xp``, as recorded engine ops."""

    errstate = np.errstate
    finfo = np.finfo
    iinfo = np.iinfo
    float32, float64, int64, bool_ = np.float32, np.float64, np.int64, np.bool_
    ndarray = Recorded
    newaxis = None

    exp = staticmethod(_unary("exp"))
    exp2 = staticmethod(_unary("exp2"))
    expm1 = staticmethod(_unary("expm1"))
    log = staticmethod(_unary("log"))
    log1p = staticmethod(_unary("log1p"))
    sqrt = staticmethod(_unary("sqrt"))
    sin = staticmethod(_unary("sin"))
    cos = staticmethod(_unary("cos"))
    tan = staticmethod(_unary("tan"))
    sinh = staticmethod(_unary("sinh"))
    cosh = staticmethod(_unary("cosh"))
    tanh = staticmethod(_unary("tanh"))
    abs = staticmethod(_unary("abs"))
    sign = staticmethod(_unary("sign"))
    trunc = staticmethod(_unary("trunc"))
    floor = staticmethod(_unary("floor"))
    isfinite = staticmethod(_unary("isfinite"))
    isnan = staticmethod(_unary("isnan"))
    square = staticmethod(_unary("square"))
    reciprocal = staticmethod(_unary("reciprocal"))

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Recorded:
        return Recorded(_ops().where(_as_tensor(condition), _as_tensor(a), _as_tensor(b)))

    @staticmethod
    def maximum(a: Any, b: Any) -> Recorded:
        return Recorded(_ops().maximum(_as_tensor(a), _as_tensor(b)))

    @staticmethod
    def minimum(a: Any, b: Any) -> Recorded:
        return Recorded(_ops().minimum(_as_tensor(a), _as_tensor(b)))

    @staticmethod
    def logaddexp(a: Any, b: Any) -> Recorded:
        return Recorded(_ops().logaddexp(_as_tensor(a), _as_tensor(b)))

    @staticmethod
    def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
        """np.repeat: of a Recorded, the recorded repeat_interleave; of index arrays, NumPy's own."""
        if not isinstance(a, Recorded):
            return np.repeat(a, repeats, axis=axis)
        counts = repeats if isinstance(repeats, int) else Tensor(np.asarray(repeats, dtype=np.int64))
        return Recorded(_ops().repeat_interleave(a.tensor, counts, dim=axis))

    @staticmethod
    def clip(a: Any, low: Any, high: Any) -> Recorded:
        return Recorded(_ops().clamp(_as_tensor(a), tensor_of(low), tensor_of(high)))

    @staticmethod
    def power(a: Any, b: Any) -> Recorded:
        return Recorded(_as_tensor(a) ** tensor_of(b))

    @staticmethod
    def true_divide(a: Any, b: Any) -> Recorded:
        return Recorded(_as_tensor(a) / tensor_of(b))

    @staticmethod
    def floor_divide(a: Any, b: Any) -> Recorded:
        return Recorded(_as_tensor(a) // tensor_of(b))

    @staticmethod
    def broadcast_to(a: Any, shape: Sequence[int]) -> Recorded:
        return Recorded(_ops().broadcast_to(_as_tensor(a), tuple(shape)))

    @staticmethod
    def expand_dims(a: Any, axis: int) -> Recorded:
        return Recorded(_ops().unsqueeze(_as_tensor(a), axis))

    @staticmethod
    def moveaxis(a: Any, source: Any, destination: Any) -> Recorded:
        src = [source] if isinstance(source, int) else list(source)
        dst = [destination] if isinstance(destination, int) else list(destination)
        n = a.ndim
        src, dst = [s % n for s in src], [d % n for d in dst]
        order = [i for i in range(n) if i not in src]
        for d, s in sorted(zip(dst, src, strict=True)):
            order.insert(d, s)
        return Recorded(_as_tensor(a).permute(*order))

    @staticmethod
    def flip(a: Any, axis: Any = None) -> Recorded:
        dims = tuple(range(a.ndim)) if axis is None else (axis if isinstance(axis, tuple | list) else (axis,))
        return Recorded(_ops().flip(_as_tensor(a), tuple(dims)))

    @staticmethod
    def roll(a: Any, shift: Any, axis: Any = None) -> Recorded:
        return Recorded(_ops().roll(_as_tensor(a), shift, axis))

    @staticmethod
    def concatenate(arrays: Sequence[Any], axis: int = 0) -> Recorded:
        return Recorded(_ops().cat([_as_tensor(a) for a in arrays], dim=axis))

    @staticmethod
    def stack(arrays: Sequence[Any], axis: int = 0) -> Recorded:
        return Recorded(_ops().stack([_as_tensor(a) for a in arrays], dim=axis))

    @staticmethod
    def cumprod(a: Any, axis: int) -> Recorded:
        return Recorded(_ops().cumprod(_as_tensor(a), axis))

    @staticmethod
    def cumsum(a: Any, axis: int) -> Recorded:
        return Recorded(_ops().cumsum(_as_tensor(a), axis))

    @staticmethod
    def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Recorded:
        return Recorded(_ops().diagonal(_as_tensor(a), offset, axis1, axis2))

    @staticmethod
    def einsum(subscripts: str, *operands: Any, optimize: Any = False) -> Recorded:  # the engine orders it
        return Recorded(_ops().einsum(subscripts, *(_as_tensor(o) for o in operands)))

    @staticmethod
    def take(a: Any, indices: Any, axis: Any = None) -> Recorded:  # a copy: no write-back
        a = recorded_of(a).ravel() if axis is None else recorded_of(a)
        return Recorded(a[(slice(None),) * (0 if axis is None else axis % a.ndim) + (indices,)].tensor)

    @staticmethod
    def sum(a: Any, axis: Any = None, keepdims: bool = False) -> Recorded:
        return recorded_of(a).sum(axis=axis, keepdims=keepdims)

    # new arrays are constants of the graph, Recorded so that writing into them is recorded
    @staticmethod
    def zeros_like(a: Any, dtype: Any = None) -> Recorded:
        return Recorded(Tensor(np.zeros(a.shape, dtype=dtype or a.dtype)))

    @staticmethod
    def ones_like(a: Any, dtype: Any = None) -> Recorded:
        return Recorded(Tensor(np.ones(a.shape, dtype=dtype or a.dtype)))

    @staticmethod
    def zeros(shape: Any, dtype: Any = float) -> Recorded:
        return Recorded(Tensor(np.zeros(shape, dtype=dtype)))

    @staticmethod
    def ones(shape: Any, dtype: Any = float) -> Recorded:
        return Recorded(Tensor(np.ones(shape, dtype=dtype)))

    @staticmethod
    def full(shape: Any, value: Any, dtype: Any = None) -> Recorded:
        return Recorded(Tensor(np.full(shape, value, dtype=dtype)))

    # index arithmetic: NumPy's own arrays
    eye = staticmethod(np.eye)
    arange = staticmethod(np.arange)
    ogrid = np.ogrid
    argsort = staticmethod(np.argsort)
    prod = staticmethod(np.prod)

    @staticmethod
    def asarray(a: Any, dtype: Any = None) -> Any:
        if isinstance(a, Recorded):
            return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
        return np.asarray(a, dtype=dtype)

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(
            f"create_graph: the backward uses xp.{name}, which glassgrad cannot record yet, so this op's derivative "
            f"can't be differentiated again; add {name} to glassgrad/engine/recorded.py or give the op a decomposition"
        )


def _as_tensor(value: Any) -> Any:
    """A Tensor for any operand: Recorded → its tensor, array or NumPy scalar → a constant Tensor."""
    if isinstance(value, Recorded):
        return value.tensor
    if isinstance(value, Tensor):
        return value
    if isinstance(value, bool | int | float):
        return value
    return Tensor(np.asarray(value))


def recorded_of(value: Any) -> Recorded:
    return value if isinstance(value, Recorded) else Recorded(_as_tensor(value))


numpy_api = _NumpyAPI()
