"""Making tensors: from data, filled, random, ranges; and interop (NumPy, DLPack)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend, dtypes
from .random import cpu_generator, generator
from .tensor import Tensor


def _infer_dtype(array: np.ndarray, data: Any) -> np.dtype:
    """PyTorch's inference for Python data: floats → float32, ints → int64."""
    if isinstance(data, np.ndarray | np.generic):
        return array.dtype
    if dtypes.is_floating(array.dtype):
        return dtypes.DEFAULT_FLOAT
    if array.dtype.kind in "iu":
        return dtypes.int64
    if array.dtype.kind == "b":
        return dtypes.bool_
    raise TypeError(f"tensor: can't make a tensor from data of NumPy dtype {array.dtype}")


def _check_grad(op: str, dtype: np.dtype, requires_grad: bool) -> None:
    """RuntimeError naming ``op`` (PyTorch's message) when a tensor of a non-floating ``dtype`` is to require
    grad; checked before any array is built (a random draw would advance the generator)."""
    if requires_grad and not dtypes.is_floating(dtype):
        raise RuntimeError(f"{op}: Only Tensors of floating point and complex dtype can require gradients, got {dtype}")


def _leaf(op: str, array: Any, requires_grad: bool) -> Tensor:
    """A new leaf tensor of ``array`` (``_check_grad`` named for ``op``)."""
    _check_grad(op, array.dtype, requires_grad)
    return Tensor(array, requires_grad=requires_grad)


def _input(op: str, input: Any) -> Tensor:
    """``input`` of a ``*_like`` function: a Tensor, or TypeError naming ``op`` (PyTorch's message)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


def _fill_value(op: str, value: Any) -> Any:
    """The fill value of ``full``/``full_like``: a Python or NumPy number (a 0-d tensor gives its item),
    or TypeError naming ``op`` (PyTorch: "argument 'fill_value' must be Number, not str")."""
    if isinstance(value, Tensor) and value.ndim == 0:
        return value.item()
    if isinstance(value, bool | int | float | complex | np.number | np.bool_):
        return value
    raise TypeError(f"{op}: argument 'fill_value' must be a number, not {type(value).__name__} ({value!r})")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (number, nested list, NumPy/CuPy array, Tensor)."""
    dt = dtypes.dtype_arg("tensor", dtype)
    if isinstance(data, Tensor):
        data = data.array
    source = "cpu"
    try:
        source = backend.device_of(data)
    except TypeError:
        pass
    target = backend.normalize_device(device if device is not None else source, "tensor")
    if source == "cuda":
        xp = backend.cupy_module("tensor")
        array = xp.array(data, copy=True)
        dt = dt if dt is not None else array.dtype
    else:
        try:
            array = np.array(data)
        except ValueError as err:
            raise ValueError(f"tensor: data has an irregular shape ({err})") from err
        dt = dt if dt is not None else _infer_dtype(array, data)
    _check_grad("tensor", dt, requires_grad)
    array = backend.to_device(array.astype(dt, copy=False), target, "tensor")
    return _leaf("tensor", array, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory when ``data`` already has the dtype and device."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    dt = dtypes.dtype_arg("as_tensor", dtype)
    if isinstance(data, np.ndarray) and (dt is None or dt == data.dtype) and device in (None, "cpu"):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biufc" and array.dtype != dtypes.bfloat16:  # object, strings, datetimes...
        raise TypeError(
            f"from_numpy: can't convert np.ndarray of dtype {array.dtype.name} ({array.dtype.type.__name__}); "
            "the supported dtypes are float64, float32, float16, complex64, complex128, int64, int32, int16, "
            "int8, uint64, uint32, uint16, uint8 and bool"
        )
    return Tensor(array)


def from_dlpack(obj: Any) -> Tensor:
    """Zero-copy import from any DLPack producer (NumPy, CuPy, PyTorch...)."""
    device_type, _ = obj.__dlpack_device__()
    if device_type == 1:  # kDLCPU
        return Tensor(np.from_dlpack(obj))
    if device_type == 2:  # kDLCUDA
        return Tensor(backend.cupy_module().from_dlpack(obj))
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {device_type}")


def _filled(
    fill: str,
    size: tuple[Any, ...],
    dtype: Any,
    device: Any,
    requires_grad: bool,
    value: Any = None,
    op: str | None = None,
) -> Tensor:
    from .ops.operands import shape_args

    op = op or fill
    shape = shape_args(op, size, sizes=True)
    if fill == "full":
        value = _fill_value(op, value)
    dt = dtypes.dtype_arg(op, dtype)
    if dt is None:
        dt = dtypes.scalar_dtype(value) if fill == "full" else dtypes.DEFAULT_FLOAT
    _check_grad(op, dt, requires_grad)
    dev = backend.normalize_device(device, op)
    xp = backend.array_module(dev, op)
    backend.check_dtype(dev, dt, op)
    array = xp.full(shape, value, dtype=dt) if fill == "full" else getattr(xp, fill)(shape, dtype=dt)
    return _leaf(op, array, requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("zeros", size, dtype, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("ones", size, dtype, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _filled("empty", size, dtype, device, requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    if not isinstance(size, tuple | list) and not hasattr(size, "shape"):  # PyTorch wants a sequence here
        raise TypeError(f"full: size must be a tuple of ints, got {type(size).__name__} {size!r}")
    return _filled("full", (size,), dtype, device, requires_grad, value=fill_value)


def new_filled(
    self: Tensor, fill: str, size: tuple[Any, ...], dtype: Any, device: Any, requires_grad: bool, value: Any = None
) -> Tensor:
    """``x.new_zeros(size)`` and friends: a new tensor with ``x``'s dtype and device unless given."""
    return _filled(
        fill,
        size,
        self.dtype if dtype is None else dtype,
        self.device if device is None else device,
        requires_grad,
        value,
        op="new_" + fill,
    )


def _like(kind: str, input: Any, dtype: Any, device: Any, requires_grad: bool, value: Any = None) -> Tensor:
    """``kind_like(input, ...)``: ``kind`` (zeros, ones, empty, full, randn, rand) of ``input``'s shape, with
    its dtype and device unless given; errors name ``kind_like``."""
    op = kind + "_like"
    input = _input(op, input)
    dtype = dtypes.dtype_arg(op, dtype, input.dtype)
    device = device if device is not None else input.device
    if kind in ("randn", "rand"):
        return _random(kind, (input.shape,), dtype, device, requires_grad, op)
    return _filled(kind, (input.shape,), dtype, device, requires_grad, value, op)


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("zeros", input, dtype, device, requires_grad)


def ones_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("ones", input, dtype, device, requires_grad)


def empty_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("empty", input, dtype, device, requires_grad)


def full_like(
    input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _like("full", input, dtype, device, requires_grad, fill_value)


def _random(
    kind: str, size: tuple[Any, ...], dtype: Any, device: Any, requires_grad: bool, op: str | None = None
) -> Tensor:
    from .ops.operands import shape_args

    op = op or kind
    shape = shape_args(op, size, sizes=True)
    dev = backend.normalize_device(device, op)
    dt = dtypes.dtype_arg(op, dtype, dtypes.DEFAULT_FLOAT)
    if not dtypes.is_floating(dt):  # PyTorch: NotImplementedError ("normal_kernel_cpu" not implemented for 'Long')
        raise NotImplementedError(f"{op}: not implemented for dtype {dt}; {kind} draws floating point numbers")
    backend.array_module(dev, op)  # "cuda is not available" names the op
    backend.check_dtype(dev, dt, op)
    rng = generator(dev)
    array = rng.standard_normal(shape) if kind == "randn" else rng.random(shape)
    return _leaf(op, array.astype(dt, copy=False), requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the device's seeded generator (``manual_seed``)."""
    return _random("randn", size, dtype, device, requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the device's seeded generator."""
    return _random("rand", size, dtype, device, requires_grad)


def randn_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("randn", input, dtype, device, requires_grad)


def rand_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like("rand", input, dtype, device, requires_grad)


_NO_SIZE: Any = object()


def randint(
    low: int = 0,
    high: int | None = None,
    size: Any = _NO_SIZE,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers in [low, high) of shape ``size`` (``randint(high, size)`` means low = 0); ``size`` is required."""
    from .ops.operands import as_int, shape_args

    if size is _NO_SIZE and isinstance(high, tuple | list):  # randint(high, size)
        low, high, size = 0, low, high
    if size is _NO_SIZE:
        raise TypeError(
            f"randint: missing the required argument 'size' (a tuple of ints), got randint({low!r}, {high!r}); "
            "call randint(low, high, size) or randint(high, size)"
        )
    if high is None:
        low, high = 0, low
    low, high = as_int("randint", "low", low), as_int("randint", "high", high)
    if low >= high:
        raise RuntimeError(f"randint: expects 'low' to be less than 'high', but got low={low} >= high={high}")
    shape = shape_args("randint", (size,), sizes=True)
    dt = dtypes.dtype_arg("randint", dtype, dtypes.int64)
    _check_grad("randint", dt, requires_grad)
    dev = backend.normalize_device(device, "randint")
    backend.array_module(dev, "randint")
    array = cpu_generator().integers(low, high, size=shape)
    return _leaf("randint", backend.to_device(array.astype(dt), dev, "randint"), requires_grad)


def randperm(n: int, dtype: Any = None, device: Any = None) -> Tensor:
    from .ops.operands import as_int

    n = as_int("randperm", "n", n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dt = dtypes.dtype_arg("randperm", dtype, dtypes.int64)
    dev = backend.normalize_device(device, "randperm")
    backend.array_module(dev, "randperm")
    return Tensor(backend.to_device(cpu_generator().permutation(n).astype(dt), dev, "randperm"))


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """[start, end) in steps; int64 when every argument is an int, else float32."""
    if end is None:
        start, end = 0, start
    dt = dtypes.dtype_arg("arange", dtype)
    if step == 0 or step != step:  # step != step: nan
        raise RuntimeError(f"arange: step must be nonzero, got {step}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} (start and end must be finite)")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: upper bound and lower bound inconsistent with step sign (start={start}, end={end}, step={step})"
        )
    if dt is None:
        dt = dtypes.int64 if all(isinstance(v, int) for v in (start, end, step)) else dtypes.DEFAULT_FLOAT
    _check_grad("arange", dt, requires_grad)
    xp = backend.array_module(backend.normalize_device(device, "arange"), "arange")
    return _leaf("arange", xp.arange(start, end, step).astype(dt), requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    from .ops.operands import as_int

    steps = as_int("linspace", "steps", steps)
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    dt = dtypes.dtype_arg("linspace", dtype, dtypes.DEFAULT_FLOAT)
    _check_grad("linspace", dt, requires_grad)
    xp = backend.array_module(backend.normalize_device(device, "linspace"), "linspace")
    return _leaf("linspace", xp.linspace(start, end, steps).astype(dt), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    from .ops.operands import as_int

    n = as_int("eye", "n", n)
    m = n if m is None else as_int("eye", "m", m)
    if n < 0 or m < 0:
        raise RuntimeError(f"eye: n and m must be greater or equal to 0, got n={n}, m={m}")
    dt = dtypes.dtype_arg("eye", dtype, dtypes.DEFAULT_FLOAT)
    _check_grad("eye", dt, requires_grad)
    xp = backend.array_module(backend.normalize_device(device, "eye"), "eye")
    return _leaf("eye", xp.eye(n, m, dtype=dt), requires_grad)
