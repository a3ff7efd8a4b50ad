"""Random numbers: one seeded generator per device.

``manual_seed(s)`` reseeds both. Initial weights are drawn on the host and then
moved, so a model built on "cuda" starts from the same numbers as on "cpu";
per-step randomness such as dropout masks is drawn on the tensor's own device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, dtypes

_state: dict[str, Any] = {"seed": 0, "cpu": np.random.default_rng(0), "cuda": None}


def manual_seed(seed: int) -> None:
    """Reseed every device's generator. As in PyTorch, ``seed`` is anything ``int()`` takes ("3", 2.5, True)
    in [-2**63, 2**64); a negative seed counts from 2**64 (``initial_seed()`` of -1 is 2**64 - 1)."""
    try:
        value = int(seed)
    except (TypeError, ValueError) as err:  # PyTorch raises what int() raises
        raise type(err)(f"manual_seed: seed must be an int, got {type(seed).__name__} {seed!r}") from None
    if not -(2**63) <= value < 2**64:
        raise ValueError(f"manual_seed: seed {value} is out of range [-2**63, 2**64)")
    value %= 2**64
    _state["seed"] = value
    _state["cpu"] = np.random.default_rng(value)
    _state["cuda"] = None


def initial_seed() -> int:
    return _state["seed"]


def cpu_generator() -> np.random.Generator:
    return _state["cpu"]


def generator(device: str) -> Any:
    """The generator that draws directly on ``device`` (NumPy's or CuPy's)."""
    if device == "cpu":
        return _state["cpu"]
    if _state["cuda"] is None:
        cp = backend.cupy_module()
        _state["cuda"] = cp.random.default_rng(_state["seed"])
    return _state["cuda"]


def _on(array: np.ndarray, dtype: Any, device: str) -> Any:
    return backend.to_device(array.astype(dtype, copy=False), device)


def _number(op: str, name: str, value: Any) -> float:
    """``value`` as a Python float, or TypeError naming ``op`` and the argument (PyTorch refuses strings)."""
    if isinstance(value, str | bytes) or not hasattr(value, "__float__"):
        raise TypeError(f"{op}: argument '{name}' must be a number, not {type(value).__name__} ({value!r})")
    return float(value)


def _floating(op: str, dtype: Any) -> None:
    # PyTorch: NotImplementedError ("normal_kernel_cpu" not implemented for 'Long')
    if not dtypes.is_floating(np.dtype(dtype)):
        raise NotImplementedError(f"{op}: is only implemented for floating point tensors, got {np.dtype(dtype)}")


def normal_array(shape: tuple[int, ...], mean: float, std: float, dtype: Any, device: str, op: str = "normal") -> Any:
    """Normal(mean, std) samples of ``shape``, drawn on the host; ``op`` (the API called) names it in errors:
    RuntimeError for std < 0 or NaN, as PyTorch."""
    mean, std = _number(op, "mean", mean), _number(op, "std", std)
    if not std >= 0.0:
        raise RuntimeError(f"{op}: expects std >= 0.0, but found std {std}")
    _floating(op, dtype)
    return _on(cpu_generator().normal(mean, std, size=shape), dtype, device)


def uniform_array(shape: tuple[int, ...], low: float, high: float, dtype: Any, device: str, op: str = "uniform") -> Any:
    """Uniform[low, high) samples of ``shape``, drawn on the host; ``op`` (the API called) names it in errors:
    RuntimeError for low > high or a bound that is not finite, as PyTorch."""
    low, high = _number(op, "from", low), _number(op, "to", high)
    for name, bound in (("from", low), ("to", high)):
        if not np.isfinite(bound):
            raise RuntimeError(f"{op}: {name}={bound} is out of bounds (it must be finite)")
    if low > high:
        raise RuntimeError(f"{op}: expects to return a [from, to) range, but found from={low} > to={high}")
    _floating(op, dtype)
    return _on(cpu_generator().uniform(low, high, size=shape), dtype, device)
