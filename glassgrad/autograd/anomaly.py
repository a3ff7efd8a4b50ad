"""Anomaly mode: stop at the first op whose forward output or backward gradient holds NaN or Inf,
and say where in the user's code that op was called (PyTorch's ``torch.autograd.detect_anomaly``).

While it is on, an observer (engine/observers.py) watches every op:

* forward: it remembers the call stack that created each Node (the user's frames, without glassgrad's
  own), and raises when an op returns NaN, or ±Inf from inputs that were all finite;
* backward: it raises when a node sends NaN or ±Inf to one of its inputs, with PyTorch's message
  (``Function 'SqrtBackward' returned nan values in its 0th output.``) followed by the traceback of
  the forward call that created that node.

Off (the default), nothing is watched and nothing is checked.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import traceback
import weakref
from typing import Any

from ..engine import autograd, observers
from ..engine.backend import xp_of
from ..engine.dtypes import is_floating
from ..engine.tensor import Tensor

__all__ = ["detect_anomaly", "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "set_detect_anomaly"]

_WALK_CODE = autograd._walk.__code__
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # glassgrad/


class _AnomalyObserver:
    """Keeps each Node's creation stack and checks values for NaN/Inf (when ``check_nan``)."""

    def __init__(self) -> None:
        self.check_nan = True
        self.created_at: weakref.WeakKeyDictionary[Any, list[traceback.FrameSummary]] = weakref.WeakKeyDictionary()

    def on_forward(self, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        stack = None
        if result.grad_fn is not None:
            stack = _user_frames()
            self.created_at[result.grad_fn] = stack
        if not self.check_nan:
            return
        found = _non_finite(result.array)
        if found is None:
            return
        inputs = [a.array for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, float)]
        inputs_finite = all(_non_finite(a) is None for a in inputs) and all(math.isfinite(x) for x in numbers)
        if found == "inf" and not inputs_finite:
            return  # ±Inf passed through (a mask of -inf, an infinite input): not made here
        if _in_backward():
            return  # an op of a recorded backward: on_backward names the node whose backward made it
        cause = "" if inputs_finite else " (its inputs already held non-finite values)"
        raise RuntimeError(
            f"Function '{function.__name__}' returned {found} values in its output in the forward pass{cause}.\n"
            + _format_stack(stack if stack is not None else _user_frames(), "forward call that produced them")
        )

    def on_backward(self, node: Any, grad_output: Any, grad_inputs: tuple[Any, ...]) -> None:
        if not self.check_nan:
            return
        for i, g in enumerate(grad_inputs):
            if g is None:
                continue
            found = _non_finite(g.tensor.array if hasattr(g, "tensor") else g)
            if found is not None:
                stack = self.created_at.get(node)
                where = (
                    _format_stack(stack, f"forward call that created {node.name()}")
                    if stack is not None
                    else f"No forward pass information available for {node.name()}: it was created outside "
                    "anomaly mode. Run the forward pass inside detect_anomaly() to get its traceback."
                )
                raise RuntimeError(f"Function '{node.name()}' returned {found} values in its {i}th output.\n{where}")


_OBSERVER = _AnomalyObserver()
_enabled = False


def _non_finite(array: Any) -> str | None:
    """The string "nan" when the floating array holds a NaN, "inf" when it holds ±Inf (and no NaN), else None."""
    if getattr(array, "dtype", None) is None or not (is_floating(array.dtype) or array.dtype.kind == "c"):
        return None
    xp = xp_of(array)
    if bool(xp.isfinite(array).all()):
        return None
    return "nan" if bool(xp.isnan(array).any()) else "inf"


def _in_backward() -> bool:
    """Whether the engine's backward pass is on the call stack (a recorded backward runs forward ops)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _WALK_CODE:
            return True
        frame = frame.f_back
    return False


def _user_frames() -> list[traceback.FrameSummary]:
    """The current call stack without glassgrad's own frames (all of it if nothing else is left)."""
    stack = traceback.extract_stack()
    user = [f for f in stack if not os.path.abspath(f.filename).startswith(_PACKAGE + os.sep)]
    return user or stack


def _format_stack(stack: list[traceback.FrameSummary], what: str) -> str:
    return f"Traceback of {what} (most recent call last):\n" + "".join(traceback.format_list(stack))


def _set(mode: bool, check_nan: bool) -> None:
    global _enabled
    if mode and not _enabled:
        observers.ACTIVE.append(_OBSERVER)
    elif not mode and _enabled:
        observers.ACTIVE.remove(_OBSERVER)
    _enabled = mode
    _OBSERVER.check_nan = check_nan


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on."""
    return _enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode, when on, checks values for NaN/Inf (else it only records creation stacks)."""
    return _OBSERVER.check_nan


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Anomaly mode inside a ``with detect_anomaly():`` block, or for every call of a function decorated
    with ``@detect_anomaly()``: the first op whose forward output or backward gradient holds NaN/Inf
    raises RuntimeError naming the op and showing where in the user's code it was called.
    ``check_nan=False`` only records where each node was created. The previous mode returns on exit."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = _checked_bool("detect_anomaly", "check_nan", check_nan)
        self.previous: list[tuple[bool, bool]] = []  # a stack: the same decorated function may recurse

    def __enter__(self) -> detect_anomaly:
        self.previous.append((_enabled, _OBSERVER.check_nan))
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc: object) -> None:
        _set(*self.previous.pop())


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """``set_detect_anomaly(mode)`` turns anomaly mode on or off at once; used as a context manager it
    restores the previous mode on exit, as PyTorch's does."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        mode = _checked_bool("set_detect_anomaly", "mode", mode)
        check_nan = _checked_bool("set_detect_anomaly", "check_nan", check_nan)
        self.previous = (_enabled, _OBSERVER.check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> set_detect_anomaly:
        return self

    def __exit__(self, *exc: object) -> None:
        _set(*self.previous)


def _checked_bool(op: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a bool, got {value!r}")
    return value
