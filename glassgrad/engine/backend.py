"""Array modules per device: NumPy on "cpu", CuPy on "cuda".

Every op is written once against an array module ``xp`` and runs on either
device. This file is the only place that decides which module a device uses
(``array_module``, ``xp_of``), and the engine gets CuPy from here
(``cupy_module``). CuPy is also imported, always lazily inside the function
that needs it and never at module import, by ``scatter_add`` below (cupyx),
``engine/special.py`` (cupyx.scipy.special), the code under ``glassgrad/kernels``
(launchers, references, timing) and the ``doctor`` command.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

DEVICES = ("cpu", "cuda")


class DeviceError(RuntimeError, ValueError):
    """An unknown or malformed device string: PyTorch's RuntimeError, and a ValueError too (which
    ``serialization._device`` catches to report a checkpoint's unknown device)."""


@functools.lru_cache(maxsize=1)
def _cupy_or_reason() -> tuple[Any, str]:
    """Import CuPy once; return (module, "") or (None, why it is unusable)."""
    try:
        import cupy
    except ImportError as err:  # pragma: no cover - depends on the machine
        return None, f"CuPy is not installed ({err}); install glassgrad[gpu]"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDA raises many error types
        return None, f"CuPy is installed but CUDA is unusable ({err})"
    if count == 0:
        return None, "CuPy is installed but no CUDA GPU was found"
    from ..kernels.cuda.measured_defaults import apply_for  # the defaults a benchmark measured on this GPU

    apply_for(cupy)
    return cupy, ""


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return _cupy_or_reason()[0] is not None


def cupy_module(op: str | None = None):
    """Return CuPy, or raise RuntimeError saying what is missing (naming ``op``, the API called, if given)."""
    cp, why = _cupy_or_reason()
    if cp is None:
        raise RuntimeError(f"{op + ': ' if op else ''}device 'cuda' is not available: {why}")
    return cp


def normalize_device(device: Any, op: str = "tensor") -> str:
    """Turn "cpu", "cuda", "cuda:0" or a Device-like object into "cpu" or "cuda"."""
    name = str(device if device is not None else "cpu")
    base = name.split(":")[0]
    if base not in DEVICES:
        raise DeviceError(f"{op}: unknown device {name!r}; expected one of {DEVICES}")
    if base == "cuda" and name not in ("cuda", "cuda:0"):
        raise DeviceError(f"{op}: invalid device string {name!r} (only one GPU, cuda:0, is supported)")
    return base


def array_module(device: str, op: str | None = None):
    """The array module (numpy or cupy) that holds arrays on ``device``; ``op`` names the API in errors."""
    return np if device == "cpu" else cupy_module(op)


def device_of(array: Any) -> str:
    """ "cpu" for a NumPy array, "cuda" for a CuPy array."""
    if isinstance(array, np.ndarray | np.generic):
        return "cpu"
    module = type(array).__module__
    if module.startswith("cupy"):
        return "cuda"
    raise TypeError(f"not a NumPy or CuPy array: {type(array).__name__}")


def xp_of(array: Any):
    """The array module of an existing array."""
    return np if device_of(array) == "cpu" else cupy_module()


@functools.lru_cache(maxsize=1)
def _cuda_bfloat16_missing() -> str:
    """Why CuPy can't hold bfloat16 arrays ("" when it can: CuPy 14 and later take ml_dtypes.bfloat16)."""
    import ml_dtypes

    cp = cupy_module()
    try:
        (cp.zeros(2, dtype=ml_dtypes.bfloat16) + 1).get()
    except Exception as err:  # CuPy raises TypeError, NotImplementedError or a compile error
        return f"CuPy {cp.__version__} has no bfloat16 arrays ({type(err).__name__}: {err}); CuPy >= 14 has"
    return ""


def check_dtype(device: str, dtype: Any, op: str | None = None) -> None:
    """TypeError naming ``op`` when ``device`` can't hold ``dtype``: bfloat16 on a CuPy without it."""
    if device == "cuda" and getattr(dtype, "name", None) == "bfloat16":
        cupy_module(op)
        why = _cuda_bfloat16_missing()
        if why:
            raise TypeError(f"{op + ': ' if op else ''}bfloat16 tensors on cuda need CuPy's bfloat16: {why}")


def to_device(array: Any, device: str, op: str | None = None):
    """Copy ``array`` to ``device`` (no copy when it is already there); ``op`` names the API in errors."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    check_dtype(device, array.dtype, op)
    return cupy_module(op).asarray(array)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """target[index] += values, adding up repeated indices (np.add.at / cupyx.scatter_add; on a Recorded
    target, in a recorded backward, the recorded op that does it)."""
    if isinstance(target, np.ndarray):
        np.add.at(target, index, values)
    elif hasattr(target, "add_at"):
        target.add_at(index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def strided_view(array: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    """A read-only view with the given shape and byte strides (im2col, pooling windows)."""
    if isinstance(array, np.ndarray):
        return np.lib.stride_tricks.as_strided(array, shape=shape, strides=strides, writeable=False)
    return cupy_module().lib.stride_tricks.as_strided(array, shape=shape, strides=strides)
