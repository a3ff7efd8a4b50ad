"""Making tensors: from data, filled, random, ranges; and interop (NumPy, DLPack)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, dtypes
from .random import cpu_generator, generator
from .tensor import Tensor


def _infer_dtype(array: np.ndarray, data: Any) -> np.dtype:
    """PyTorch's inference for Python data: floats → float32, ints → int64."""
    if isinstance(data, np.ndarray | np.generic):
        return array.dtype
    if array.dtype.kind == "f":
        return dtypes.DEFAULT_FLOAT
    if array.dtype.kind in "iu":
        return dtypes.int64
    if array.dtype.kind == "b":
        return dtypes.bool_
    raise TypeError(f"tensor: can't make a tensor from data of NumPy dtype {array.dtype}")


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (number, nested list, NumPy/CuPy array, Tensor)."""
    if isinstance(data, Tensor):
        data = data.array
    source = "cpu"
    try:
        source = backend.device_of(data)
    except TypeError:
        pass
    target = backend.normalize_device(device if device is not None else source, "tensor")
    if source == "cuda":
        xp = backend.cupy_module()
        array = xp.array(data, copy=True)
        dt = dtypes.to_dtype(dtype) if dtype is not None else array.dtype
    else:
        try:
            array = np.array(data)
        except ValueError as err:
            raise ValueError(f"tensor: data has an irregular shape ({err})") from err
        dt = dtypes.to_dtype(dtype) if dtype is not None else _infer_dtype(array, data)
    array = backend.to_device(array.astype(dt, copy=False), target)
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory when ``data`` already has the dtype and device."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype) and device in (None, "cpu"):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
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
    dev = backend.normalize_device(device, op)
    xp = backend.array_module(dev)
    if dtype is None:
        dtype = dtypes.scalar_dtype(value) if fill == "full" else dtypes.DEFAULT_FLOAT
    dt = dtypes.to_dtype(dtype)
    array = xp.full(shape, value, dtype=dt) if fill == "full" else getattr(xp, fill)(shape, dtype=dt)
    return Tensor(array, requires_grad=requires_grad)


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


def _like(fn: Any, input: Tensor, dtype: Any, device: Any, requires_grad: bool, *extra: Any) -> Tensor:  # noqa: A002
    return fn(
        input.shape,
        *extra,
        dtype=dtype if dtype is not None else input.dtype,
        device=device if device is not None else input.device,
        requires_grad=requires_grad,
    )


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    return _like(zeros, input, dtype, device, requires_grad)


def ones_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    return _like(ones, input, dtype, device, requires_grad)


def empty_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    return _like(empty, input, dtype, device, requires_grad)


def full_like(
    input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:  # noqa: A002
    return _like(full, input, dtype, device, requires_grad, fill_value)


def _random(kind: str, size: tuple[Any, ...], dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    from .ops.operands import shape_args

    shape = shape_args(kind, size, sizes=True)
    dev = backend.normalize_device(device, kind)
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.DEFAULT_FLOAT
    rng = generator(dev)
    array = rng.standard_normal(shape) if kind == "randn" else rng.random(shape)
    return Tensor(array.astype(dt, copy=False), requires_grad=requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the device's seeded generator (``manual_seed``)."""
    return _random("randn", size, dtype, device, requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from the device's seeded generator."""
    return _random("rand", size, dtype, device, requires_grad)


def randn_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    return _like(randn, input, dtype, device, requires_grad)


def rand_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    return _like(rand, input, dtype, device, requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None, device: Any = None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` means low = 0)."""
    from .ops.operands import as_int, shape_args

    if isinstance(high, tuple | list):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    low, high = as_int("randint", "low", low), as_int("randint", "high", high)
    if low >= high:
        raise RuntimeError(f"randint: expects 'low' to be less than 'high', but got low={low} >= high={high}")
    shape = shape_args("randint", (size,), sizes=True)
    dev = backend.normalize_device(device, "randint")
    array = cpu_generator().integers(low, high, size=shape)
    return Tensor(backend.to_device(array.astype(dtype or dtypes.int64), dev))


def randperm(n: int, dtype: Any = None, device: Any = None) -> Tensor:
    from .ops.operands import as_int

    n = as_int("randperm", "n", n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dev = backend.normalize_device(device, "randperm")
    return Tensor(backend.to_device(cpu_generator().permutation(n).astype(dtype or dtypes.int64), dev))


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
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero, got {step}")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: upper bound and lower bound inconsistent with step sign (start={start}, end={end}, step={step})"
        )
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, int) for v in (start, end, step)) else dtypes.DEFAULT_FLOAT
    xp = backend.array_module(backend.normalize_device(device, "arange"))
    return Tensor(xp.arange(start, end, step).astype(dtypes.to_dtype(dtype)), requires_grad=requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    from .ops.operands import as_int

    steps = as_int("linspace", "steps", steps)
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    xp = backend.array_module(backend.normalize_device(device, "linspace"))
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.DEFAULT_FLOAT
    return Tensor(xp.linspace(start, end, steps).astype(dt), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    from .ops.operands import as_int

    n = as_int("eye", "n", n)
    m = n if m is None else as_int("eye", "m", m)
    if n < 0 or m < 0:
        raise RuntimeError(f"eye: n and m must be greater or equal to 0, got n={n}, m={m}")
    xp = backend.array_module(backend.normalize_device(device, "eye"))
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.DEFAULT_FLOAT
    return Tensor(xp.eye(n, m, dtype=dt), requires_grad=requires_grad)
