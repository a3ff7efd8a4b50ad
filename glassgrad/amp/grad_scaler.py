"""``GradScaler``: dynamic loss scaling, so float16 gradients neither underflow nor go unnoticed when
they overflow (PyTorch's torch.amp.GradScaler, same methods, messages and state_dict).

One step, for a scale s:

    scaler.scale(loss).backward()   # L' = s·L, so every gradient is s·dL/dw (small ones stay above
                                    # float16's underflow)
    scaler.step(optimizer)          # unscale_: grad ← grad · (1/s), found_inf = any grad not finite;
                                    # the optimizer steps only if found_inf is 0
    scaler.update()                 # found_inf: s ← s · backoff_factor, streak ← 0
                                    # else: streak ← streak + 1; at growth_interval s ← s · growth_factor
                                    # (if that is finite), streak ← 0

The scale, the streak and found_inf are arrays on the loss's device; all of it runs there, and the
one host read per step is step()'s look at found_inf (PyTorch's too).
"""

from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any

from ..engine import backend, dtypes
from ..engine.backend import cuda_is_available
from ..engine.creation import full
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """Scale the loss up by ``scale`` before backward, unscale and check the gradients before the step.

    ``enabled=False`` makes every method a pass-through (scale returns its argument, step calls
    optimizer.step), so one training loop serves float32 and float16.
    """

    def __init__(
        self,
        device: str = "cpu",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = backend.normalize_device(device, "GradScaler")
        self._enabled = enabled
        if self._device == "cuda" and enabled and not cuda_is_available():
            warnings.warn("glassgrad.amp.GradScaler is enabled, but CUDA is not available.  Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Tensor | None = None
            self._per_optimizer_states: dict[int, dict[str, Any]] = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Tensor, Tensor]:
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, device: str) -> None:
        self._scale = full((), self._init_scale, dtype=dtypes.float32, device=device)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=dtypes.int32, device=device)

    # ------------------------------------------------------------------ scale
    def scale(self, outputs: Any) -> Any:
        """``outputs · scale``: a tensor, or a list/tuple (same type back) or other iterable (a map) of them."""
        if not self._enabled:
            return outputs

        def apply_scale(value: Any) -> Any:
            if isinstance(value, Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(value.device)
                return value * self._scale.to(device=value.device)
            if isinstance(value, abc.Iterable):
                scaled = map(apply_scale, value)
                return type(value)(scaled) if isinstance(value, list | tuple) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    # ---------------------------------------------------------------- unscale
    def _unscale_grads_(self, optimizer: Any, inv_scale: Tensor, allow_fp16: bool) -> dict[str, Tensor]:
        """grad ← grad · inv_scale for every gradient of ``optimizer``; per device, found_inf = 1 if any
        of them holds an inf or NaN (before scaling), else 0."""
        found_inf_per_device: dict[str, Tensor] = {}
        with no_grad():
            grads = []
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    if not allow_fp16 and param.grad.dtype == dtypes.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    grads.append(param.grad.array)
            for g in grads:
                device = backend.device_of(g)
                xp = backend.xp_of(g)
                found = found_inf_per_device.get(device)
                if found is None:
                    found = found_inf_per_device[device] = full((), 0.0, dtype=dtypes.float32, device=device)
                inv = backend.to_device(inv_scale.array, device)
                xp.maximum(found.array, ~xp.isfinite(g).all(), out=found.array)
                if g.dtype in dtypes.LOW_PRECISION:
                    g[...] = (g.astype(dtypes.float32) * inv).astype(g.dtype)
                else:
                    g *= inv.astype(g.dtype)
        return found_inf_per_device

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once between update() calls), e.g. before
        clipping them; step() does it when it was not done."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        xp = self._scale.xp
        inv_scale = Tensor((1.0 / self._scale.array.astype(xp.float64)).astype(xp.float32))
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        optimizer_state["stage"] = OptState.UNSCALED

    # ------------------------------------------------------------------- step
    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless unscale_ ran) and step ``optimizer`` unless a gradient was inf or NaN; returns
        what optimizer.step returned, None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):  # the host read
            retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    # ----------------------------------------------------------------- update
    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Back off after a step that found inf/NaN, grow after ``growth_interval`` clean steps in a row;
        or set the scale to ``new_scale``. Ends the iteration (unscale_/step may run again)."""
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                _scale.array[...] = new_scale
            else:
                reason = (
                    "new_scale should be a float or a 1-element glassgrad.Tensor of dtype float32 with "
                    "requires_grad=False."
                )
                if not isinstance(new_scale, Tensor) or new_scale.device != self._scale.device:
                    raise AssertionError(reason)
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError(reason)
                _scale.array[...] = new_scale.array.reshape(())
        else:
            found_infs = [
                backend.to_device(found_inf.array, _scale.device)
                for state in self._per_optimizer_states.values()
                for found_inf in state["found_inf_per_device"].values()
            ]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._update_scale(_scale.array, _growth_tracker.array, sum(found_infs[1:], found_infs[0]))
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _update_scale(self, scale: Any, tracker: Any, found_inf: Any) -> None:
        """PyTorch's _amp_update_scale_, on the device, in place."""
        xp = backend.xp_of(scale)
        found = found_inf > 0
        streak = tracker + 1
        grow = ~found & (streak == self._growth_interval)
        grown = (scale * self._growth_factor).astype(scale.dtype)
        backed_off = (scale * self._backoff_factor).astype(scale.dtype)
        scale[...] = xp.where(found, backed_off, xp.where(grow & xp.isfinite(grown), grown, scale))
        tracker[...] = xp.where(found | grow, 0, streak)

    # -------------------------------------------------------------- accessors
    def get_scale(self) -> float:
        """The current scale as a Python float (a host read); 1.0 when disabled."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker.item())
        return 0

    def is_enabled(self) -> bool:
        return self._enabled

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}``; {} when disabled."""
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.array[...] = state_dict["scale"]
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.array[...] = state_dict["_growth_tracker"]
