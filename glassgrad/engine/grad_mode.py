"""Whether ops record the graph: ``no_grad()`` and ``enable_grad()``.

Both work as ``with`` blocks and as decorators, as in PyTorch.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    """Grad mode, one per thread; a thread starts with it on (as in PyTorch)."""

    enabled = True


state = _GradState()  # read directly by Function.apply (the hot path)


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return state.enabled


def set_grad_enabled(mode: bool) -> None:
    state.enabled = bool(mode)


class _GradMode:
    enabled: bool

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        set_grad_enabled(self.enabled)

    def __exit__(self, *exc: object) -> None:
        set_grad_enabled(self._previous)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Ops inside record nothing; results have ``requires_grad=False``."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Turn recording back on inside a ``no_grad`` block."""

    enabled = True
