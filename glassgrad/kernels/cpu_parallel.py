"""numba kernels that run on one thread for small work and on numba's thread pool for large.

A parallel numba loop (``prange``) wakes the pool's workers on every call: 3-6 µs on
the 2-core test machine, more than a whole serial pass over a few thousand floats
(an SGD step on 640 floats: 6.4 µs parallel, 0.4 µs serial). ``parallel_njit``
compiles the same function twice, each lazily on its first use — serially (``prange``
is then a plain ``range``) and in parallel — and runs the serial one while the first
array argument holds fewer than ``min_size`` elements. The two compilations are
cached under different names, so numba's disk cache keeps them apart.
"""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Callable, Iterator
from typing import Any

import numba

#: elements below which a kernel runs on one thread (the pool's wake-up costs more than it saves)
PARALLEL_MIN_SIZE = 1 << 15
#: the thresholds the kernel families use (elements of the first array), measured on the
#: 2-core machine: an optimizer step is a few flops per element and memory-bound, so threads
#: pay only for large parameters; a row op or an activation does an exp or erf per element
#: (softmax rows: 8,192 floats 36 µs serial / 35 µs parallel, 32,768: 141 / 71 µs).
OPTIM_MIN_SIZE = 1 << 17
ROWS_MIN_SIZE = 1 << 13
ELEMENTWISE_MIN_SIZE = 1 << 13

_forced: str | None = None  # "serial" or "parallel" inside ``forced`` (tests run both on small cases)


@contextlib.contextmanager
def forced(mode: str) -> Iterator[None]:
    """Run every ``parallel_njit`` kernel serially or in parallel whatever its size, inside the block."""
    global _forced
    if mode not in ("serial", "parallel"):
        raise ValueError(f"cpu_parallel.forced: mode must be 'serial' or 'parallel', got {mode!r}")
    previous, _forced = _forced, mode
    try:
        yield
    finally:
        _forced = previous


def _renamed(fn: Callable[..., Any], suffix: str) -> Callable[..., Any]:
    """A copy of ``fn`` whose qualified name ends in ``suffix`` (numba's cache files are named by it)."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return copy


def parallel_njit(min_size: int = PARALLEL_MIN_SIZE, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: ``fn`` compiled as ``numba.njit(**options)`` and ``numba.njit(parallel=True, **options)``;
    a call runs the parallel one when ``args[0].size >= min_size``. ``.serial`` and ``.parallel`` are the two."""

    def decorate(fn: Callable[..., Any]) -> Any:
        serial = numba.njit(**options)(_renamed(fn, "_serial"))
        parallel = numba.njit(parallel=True, **options)(_renamed(fn, "_parallel"))

        @functools.wraps(fn)
        def run(*args: Any) -> Any:
            if _forced is None:
                return (parallel if args[0].size >= min_size else serial)(*args)
            return (parallel if _forced == "parallel" else serial)(*args)

        run.serial, run.parallel = serial, parallel  # type: ignore[attr-defined]
        return run

    return decorate
