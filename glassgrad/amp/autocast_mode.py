"""``autocast(device_type, dtype)``: a region in which the ops of ``op_lists`` cast their inputs.

Inside the region a matrix product or convolution runs on low-precision copies of its float32
inputs (bfloat16 on cpu, float16 on cuda by default), its kernel accumulating in float32 and
rounding the result once; losses and products run in float32; ``cat``-like ops promote to their
widest input. The parameters stay float32 (the master weights): the cast is an op of the graph,
z = cast(w);  dL/dw = g (carried back in w's dtype), so gradients arrive in float32.

The settings are per thread, as PyTorch's. An op's public function (never Function.apply) reads ONE
plain attribute, ``autocast_state.enabled`` (some thread is in an enabled region), at its entry and
calls ``autocast_args`` (which reads this thread's settings) only when it is set, so a program that
never enters a region pays one attribute read per op:

    if autocast_state.enabled:
        input, weight, bias = autocast_args("linear", input, weight, bias)

Within the outermost region a float32 leaf that requires grad (a parameter) is cast once per
grad mode and the copy reused (``cache_enabled``); the cache is dropped when the outermost region
exits, so cast copies never outlive a forward pass run in the region.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any

from ..engine import dtypes
from ..engine.backend import cuda_is_available
from ..engine.grad_mode import is_grad_enabled
from . import op_lists

DEVICE_TYPES = ("cpu", "cuda")
DEFAULT_DTYPES = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}  # PyTorch's defaults
SUPPORTED_DTYPES = (dtypes.bfloat16, dtypes.float16)


class _AutocastFlag:
    """What ops read: ``enabled`` is True while some thread is inside an enabled region. A plain attribute
    (a thread-local one costs four times as much to read); ``autocast_args`` then reads this thread's
    own settings, so a region in one thread changes nothing in another."""

    enabled = False

    def __init__(self) -> None:
        self.regions = 0  # enabled regions open in all threads
        self.lock = threading.Lock()

    def count(self, change: int) -> None:
        with self.lock:
            self.regions += change
            self.enabled = self.regions > 0


class _ThreadAutocast(threading.local):
    """This thread's autocast settings."""

    def __init__(self) -> None:
        self.on = dict.fromkeys(DEVICE_TYPES, False)
        self.dtype = dict(DEFAULT_DTYPES)
        self.cache_enabled = True
        self.nesting = 0
        self.cache: dict[tuple[int, bool], tuple[Any, Any]] = {}


autocast_state = _AutocastFlag()
_local = _ThreadAutocast()


def _device_type(api: str, device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(
            f"{api}: User specified an unsupported autocast device_type '{device_type}' "
            f"(expected one of {', '.join(DEVICE_TYPES)})"
        )
    return device_type


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (PyTorch: "cuda" when not given)."""
    return _local.on[_device_type("is_autocast_enabled", "cuda" if device_type is None else device_type)]


def get_autocast_dtype(device_type: str) -> Any:
    """The low dtype autocast uses on ``device_type`` (its setting also while autocast is off)."""
    return _local.dtype[_device_type("get_autocast_dtype", device_type)]


def is_autocast_cache_enabled() -> bool:
    return _local.cache_enabled


class autocast:  # noqa: N801 - PyTorch's name
    """``with gg.autocast("cpu"):`` or ``@gg.autocast("cpu")``: run the region's ops as ``op_lists`` says.

    ``dtype`` None is the device's default (cpu: bfloat16, cuda: float16); a dtype other than those
    two warns and disables the region, as PyTorch does. Regions nest; ``enabled=False`` turns autocast
    off inside an enabled region; leaving a region restores the settings it found.
    """

    def __init__(
        self, device_type: str, dtype: Any = None, enabled: bool = True, cache_enabled: bool | None = None
    ) -> None:
        self.device = _device_type("autocast", device_type)
        self.fast_dtype = _local.dtype[self.device] if dtype is None else dtypes.dtype_arg("autocast", dtype)
        self._cache_enabled = _local.cache_enabled if cache_enabled is None else bool(cache_enabled)
        name = self.device.upper()
        if enabled and self.device == "cuda" and not cuda_is_available():
            warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=2)
            enabled = False
        elif enabled and self.fast_dtype not in SUPPORTED_DTYPES:
            warnings.warn(
                f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                f"{name} Autocast only supports dtypes of glassgrad.bfloat16, glassgrad.float16 currently.",
                stacklevel=2,
            )
            enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        self._prev = (_local.on[self.device], _local.dtype[self.device], _local.cache_enabled)
        _local.on[self.device] = self._enabled
        _local.dtype[self.device] = self.fast_dtype
        _local.cache_enabled = self._cache_enabled
        _local.nesting += 1
        if self._enabled:
            autocast_state.count(1)
        return self

    def __exit__(self, *exc: Any) -> bool:
        _local.nesting -= 1
        if _local.nesting == 0:
            _local.cache.clear()
        _local.on[self.device], _local.dtype[self.device], _local.cache_enabled = self._prev
        if self._enabled:
            autocast_state.count(-1)
        return False

    def __call__(self, func: Callable) -> Callable:
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. Did you mean to use "
                f'autocast as a context manager? For example:\n    with glassgrad.autocast("cpu"):\n'
                "        output = model(input)"
            )
        settings = (self.device, self.fast_dtype, self._enabled, self._cache_enabled)

        @functools.wraps(func)
        def run_in_autocast(*args: Any, **kwargs: Any) -> Any:
            with autocast(*settings):  # a fresh region per call, so recursive calls nest
                return func(*args, **kwargs)

        return run_in_autocast


def _eligible(value: Any, device: str) -> bool:
    """A floating tensor of the region's device that autocast may cast (float64 never is)."""
    return (
        hasattr(value, "array")
        and value.device == device
        and dtypes.is_floating(value.dtype)
        and value.dtype != dtypes.float64
    )


def _first_device(args: tuple[Any, ...]) -> str | None:
    for value in args:
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if hasattr(value, "array"):
            return value.device
    return None


def _promoted(op: str, args: tuple[Any, ...], device: str, low: Any) -> Any:
    """PyTorch's prioritize: float32 if any eligible argument is float32, else the low dtype."""
    widest = low
    for value in _flat(args):
        if not _eligible(value, device):
            continue
        if value.dtype == dtypes.float32 or widest == dtypes.float32:
            widest = dtypes.float32
        elif value.dtype != low:
            raise RuntimeError(
                f"{op}: autocast to {low} cannot promote an argument of dtype {value.dtype} "
                "(only float32 and the autocast dtype mix here)"
            )
    return widest


def _flat(args: tuple[Any, ...]) -> list[Any]:
    return [v for value in args for v in (value if isinstance(value, list | tuple) else (value,))]


def _cast(value: Any, dtype: Any, device: str) -> Any:
    """``value`` in ``dtype`` when autocast may cast it; a parameter's copy from the region's cache."""
    if not _eligible(value, device) or value.dtype == dtype:
        return value
    from ..engine.ops.arithmetic import cast  # the engine's ops load after this module

    cacheable = (
        _local.cache_enabled
        and dtype == _local.dtype[device]
        and value.dtype == dtypes.float32
        and value.requires_grad
        and value.is_leaf
    )
    if not cacheable:
        return cast(value, dtype)
    key = (id(value), is_grad_enabled())
    hit = _local.cache.get(key)
    if hit is not None and hit[0] is value:
        return hit[1]
    out = cast(value, dtype)
    _local.cache[key] = (value, out)  # holding value keeps its id from being reused
    return out


def autocast_args(op: str, *args: Any) -> tuple[Any, ...]:
    """``args`` as op ``op`` takes them under this thread's autocast: its tensors (also those in a list
    or tuple argument) cast as ``op_lists`` says for their device; unchanged when the op is on no list
    or autocast is off for that device. Returns a tuple of len(args)."""
    device = _first_device(args)
    if device is None or not _local.on[device]:
        return args
    rule = op_lists.policy(device, op)
    if rule is None:
        return args
    low = _local.dtype[device]
    target = {op_lists.LOWER_PRECISION: low, op_lists.FLOAT32: dtypes.float32}.get(rule)
    if target is None:
        target = _promoted(op, args, device, low)
    out = []
    for value in args:
        if isinstance(value, list | tuple):
            out.append(type(value)(_cast(v, target, device) for v in value))
        else:
            out.append(_cast(value, target, device))
    return tuple(out)
