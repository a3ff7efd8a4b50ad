"""dtypes and PyTorch's type-promotion rules.

glassgrad's dtypes are NumPy dtypes (``glassgrad.float32 is np.dtype("float32")``)
so arrays need no translation. Promotion follows PyTorch, not NumPy:

* Python numbers: ``float`` gives float32, ``int`` gives int64, ``bool`` gives bool.
* tensor with tensor: the higher *category* wins (bool < integer < floating);
  within one category the wider type wins. So int64 + float32 is float32
  (NumPy would say float64).
* tensor with a Python number: the number only matters if its category is
  higher: float32 * 2.0 stays float32, int64 * 2.5 becomes float32.

bfloat16 is ``ml_dtypes.bfloat16`` (the NumPy bfloat16 that JAX uses). Its NumPy ``kind`` is "V"
(a user-defined type), so code asks ``is_floating(dtype)``, never ``dtype.kind == "f"``. Within the
floating category the wider type wins and bfloat16 + float16 is float32 (neither holds the other), as
in PyTorch. Kernels without a bfloat16 or float16 version compute in float32 and round the result
once (``kernels.run``; ``COMPUTE_DTYPE``), which is what PyTorch's CPU kernels do.
"""

from __future__ import annotations

import builtins
from typing import Any

import ml_dtypes
import numpy as np

_py_float, _py_int, _py_bool = builtins.float, builtins.int, builtins.bool

bfloat16 = np.dtype(ml_dtypes.bfloat16)
float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")  # PyTorch's alias
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")  # PyTorch's alias
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

DEFAULT_FLOAT = float32
FLOATING = frozenset((bfloat16, float16, float32, float64))
LOW_PRECISION = frozenset((bfloat16, float16))
COMPUTE_DTYPE = float32  # what kernels without a low-precision version compute bfloat16 and float16 in


def to_dtype(dtype: Any) -> np.dtype:
    """Accept a NumPy dtype, its name ("float32"), or a Python type; return np.dtype."""
    if dtype is None:
        raise TypeError("dtype must not be None here")
    if dtype is _py_float:
        return DEFAULT_FLOAT
    if dtype is _py_int:
        return int64
    if dtype is _py_bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"unknown dtype {dtype!r}") from err


# Public APIs refuse dtype names ("float64") with TypeError, as PyTorch does.


def dtype_arg(op: str, dtype: Any, default: Any = None) -> Any:
    """The ``dtype=`` argument of a public API as an np.dtype (``default`` when None), or TypeError naming
    ``op``. A glassgrad dtype (``glassgrad.float32``), a NumPy scalar type or Python's float/int/bool is
    accepted; a string is refused, as PyTorch refuses ``dtype="float32"`` (internal code that means a
    name calls ``to_dtype``)."""
    if dtype is None:
        return default
    if isinstance(dtype, str | bytes):
        raise TypeError(f"{op}: argument 'dtype' must be a dtype such as glassgrad.float32, not str ({dtype!r})")
    try:
        out = to_dtype(dtype)
    except (TypeError, ValueError):
        out = None
    if out is None or (out.kind not in "biufc" and out != bfloat16):
        raise TypeError(f"{op}: argument 'dtype' must be a dtype such as glassgrad.float32, not {dtype!r}")
    return out


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2}


def category(dtype: np.dtype) -> _py_int:
    """0 for bool, 1 for integers, 2 for floating point."""
    try:
        return _CATEGORY[dtype.kind]
    except (KeyError, AttributeError):
        if dtype == bfloat16:
            return 2
        raise TypeError(f"unsupported dtype {dtype}") from None


def is_floating(dtype: Any) -> _py_bool:
    """Whether ``dtype`` is a floating-point dtype: bfloat16, float16, float32, float64 (any byte order)."""
    return dtype in FLOATING or getattr(dtype, "kind", None) == "f"


def is_floating_point(input: Any) -> _py_bool:
    """``gg.is_floating_point(t)``: whether tensor ``t`` has a floating-point dtype (PyTorch's)."""
    dtype = getattr(input, "dtype", None)
    if dtype is None:
        raise TypeError(f"is_floating_point: argument 'input' must be Tensor, not {type(input).__name__}")
    return is_floating(dtype)


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype NumPy-level code computes ``dtype`` in: float32 for bfloat16 and float16, else itself."""
    return COMPUTE_DTYPE if dtype in LOW_PRECISION else dtype


def summed(x: Any, axis: Any, keepdims: bool = False) -> Any:
    """Σ x over ``axis`` as ``accumulated(x, "sum", ...)``; for a NumPy array that accumulates in its own
    dtype, one C call (``np.add.reduce``), without ``ndarray.sum``'s Python wrapper in NumPy."""
    if type(x) is _ndarray and x.dtype not in LOW_PRECISION:
        return _add_reduce(x, axis, x.dtype, None, keepdims)
    return accumulated(x, "sum", axis=axis, keepdims=keepdims)


_ndarray, _add_reduce = np.ndarray, np.add.reduce  # globals: numpy's module __getattr__ blocks caching np.X


def accumulated(x: Any, method: str, **kwargs: Any) -> Any:
    """``x.<method>(**kwargs)`` for a summing reduction or scan (sum, mean, prod, cumsum, cumprod)
    accumulated in float32 when ``x`` is bfloat16 or float16 and rounded back once, as PyTorch's CPU
    kernels (NumPy would accumulate in the low dtype: 10000 bfloat16 ones would sum to 256); other dtypes
    accumulate in their own dtype."""
    if x.dtype in LOW_PRECISION:
        return getattr(x, method)(dtype=COMPUTE_DTYPE, **kwargs).astype(x.dtype)
    return getattr(x, method)(dtype=x.dtype, **kwargs)


class finfo:  # noqa: N801 - PyTorch's name
    """``gg.finfo(dtype)``: the machine limits of a floating dtype, PyTorch's fields as Python floats
    (``resolution`` = 10^-precision, ``tiny`` = ``smallest_normal``, ``dtype`` its name)."""

    def __init__(self, type: Any = None) -> None:
        dtype = DEFAULT_FLOAT if type is None else dtype_arg("finfo", type)
        if not is_floating(dtype):
            raise TypeError(f"finfo: requires a floating point dtype (iinfo is for integers), got {dtype}")
        info = ml_dtypes.finfo(dtype)
        self.bits: _py_int = dtype.itemsize * 8
        self.eps: _py_float = _py_float(info.eps)
        self.max: _py_float = _py_float(info.max)
        self.min: _py_float = _py_float(info.min)
        self.tiny: _py_float = _py_float(info.smallest_normal)
        self.smallest_normal: _py_float = self.tiny
        self.resolution: _py_float = 10.0 ** -_py_int(info.precision)
        self.dtype: str = str(dtype)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
            f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})"
        )


def name(dtype: np.dtype) -> str:
    """A dtype as PyTorch prints one: ``glassgrad.bfloat16`` (torch.bfloat16), ``glassgrad.bool``."""
    return "glassgrad." + ("bool" if dtype == bool_ else str(dtype))


def scalar_dtype(value: Any) -> np.dtype:
    """The dtype PyTorch gives a Python scalar: bool, int64 or float32."""
    if isinstance(value, _py_bool | np.bool_):
        return bool_
    if isinstance(value, _py_int | np.integer):
        return int64
    if isinstance(value, _py_float | np.floating | ml_dtypes.bfloat16):
        return DEFAULT_FLOAT
    raise TypeError(f"expected a Python number, got {type(value).__name__}")


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """Result dtype of an op between two tensors (PyTorch's torch.promote_types)."""
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(*operands: Any) -> np.dtype:
    """Result dtype for a mix of tensors/arrays and Python scalars, by PyTorch's three tiers.

    Tensors with dims decide among themselves; a 0-d tensor lifts the result only
    when its category (bool < integer < float) is higher, and then to its own dtype;
    a Python scalar only when its category is higher still, and then to the default
    dtype of that category (``int8 tensor + tensor(3)`` stays int8,
    ``float32 tensor + tensor(2.5, float64)`` stays float32, ``int tensor + 2.5`` is float32).
    """
    dimensioned = zero_dim = None
    scalar_cat = -1
    for x in operands:
        dt = getattr(x, "dtype", None)
        if dt is not None and not isinstance(x, np.generic):
            dt = np.dtype(dt)
            if x.ndim == 0:
                zero_dim = dt if zero_dim is None else promote_types(zero_dim, dt)
            else:
                dimensioned = dt if dimensioned is None else promote_types(dimensioned, dt)
        else:
            scalar_cat = max(scalar_cat, category(scalar_dtype(x)))
    if dimensioned is None:  # only 0-d tensors: they are the top tier
        dimensioned, zero_dim = zero_dim, None
    if dimensioned is None:
        return {0: bool_, 1: int64, 2: DEFAULT_FLOAT}[scalar_cat]
    result = dimensioned
    if zero_dim is not None and category(zero_dim) > category(result):
        result = zero_dim
    if scalar_cat > category(result):
        return {1: int64, 2: DEFAULT_FLOAT}[scalar_cat]
    return result


def float_result(dtype: np.dtype) -> np.dtype:
    """Ops such as exp or mean turn integer inputs into the default float dtype."""
    return dtype if is_floating(dtype) else DEFAULT_FLOAT
