"""Random numbers: one seeded generator per device.

``manual_seed(s)`` reseeds both. Initial weights are drawn on the host and then
moved, so a model built on "cuda" starts from the same numbers as on "cpu";
per-step randomness such as dropout masks is drawn on the tensor's own device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend

_state: dict[str, Any] = {"seed": 0, "cpu": np.random.default_rng(0), "cuda": None}


def manual_seed(seed: int) -> None:
    """Reseed every device's generator."""
    _state["seed"] = int(seed)
    _state["cpu"] = np.random.default_rng(int(seed))
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


def normal_array(shape: tuple[int, ...], mean: float, std: float, dtype: Any, device: str) -> Any:
    """Normal(mean, std) samples of ``shape``, drawn on the host."""
    return _on(cpu_generator().normal(mean, std, size=shape), dtype, device)


def uniform_array(shape: tuple[int, ...], low: float, high: float, dtype: Any, device: str) -> Any:
    """Uniform[low, high) samples of ``shape``, drawn on the host."""
    return _on(cpu_generator().uniform(low, high, size=shape), dtype, device)
