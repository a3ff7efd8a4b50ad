"""Timers for the benchmark harness: wall clock on the cpu, CUDA events on the GPU.

A timer runs ``fn`` ``warmup`` times untimed, then ``repeat`` times timed, and
returns the list of seconds. On cuda each repetition is bracketed by two
events on the current stream, so the time is the GPU's, not Python's.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any


def time_cpu(fn: Callable[[], Any], repeat: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def time_interleaved(fns: dict[str, Callable[[], Any]], repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """``repeat`` timings of each function, the functions taking turns so that a busy spell
    on a shared machine hits every contender alike. Each turn first makes ``warmup``
    untimed calls: they absorb what the previous contender left behind (PyTorch's
    OpenMP threads spin for a while after its last op and would slow the next
    library's first call)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            for _ in range(warmup):
                fn()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def time_cuda(fn: Callable[[], Any], repeat: int, warmup: int) -> list[float]:
    import cupy

    for _ in range(warmup):
        fn()
    cupy.cuda.get_current_stream().synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return times


def first_call_seconds(fn: Callable[[], Any], device: str) -> float:
    """Time of the very first call: includes numba/NVRTC compilation (or the disk cache load)."""
    start = time.perf_counter()
    fn()
    if device == "cuda":
        import cupy

        cupy.cuda.get_current_stream().synchronize()
    return time.perf_counter() - start


def peak_bytes(fn: Callable[[], Any], device: str) -> int:
    """Peak memory allocated while ``fn`` runs: tracemalloc on the cpu (NumPy reports its
    buffers to it), the CuPy pool's growth on cuda."""
    if device == "cuda":
        import cupy

        pool = cupy.get_default_memory_pool()
        pool.free_all_blocks()
        before = pool.total_bytes()
        fn()
        cupy.cuda.get_current_stream().synchronize()
        return int(pool.total_bytes() - before)
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


TIMERS = {"cpu": time_cpu, "cuda": time_cuda}
