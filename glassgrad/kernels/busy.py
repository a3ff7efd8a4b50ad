"""How much of the CPU the *other* processes take while a benchmark runs.

    others' CPU = (busy jiffies of all cores, /proc/stat) − (this process's user + system
                  jiffies, /proc/self/stat), over the wall time between two marks

in cores (1.0 = one core kept busy all the time); ``share`` divides by the number of cores.
A jiffy is 1/SC_CLK_TCK s (10 ms on Linux), so a figure over a span of less than a few
tenths of a second is coarse: sum the jiffies of several spans before comparing with a
threshold (``total``). Where /proc is missing (not Linux) every figure is None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class Mark:
    """A moment: wall clock, all cores' busy jiffies, this process's jiffies."""

    seconds: float
    all_busy: int
    own: int


@dataclass(frozen=True)
class Span:
    """What the other processes used between two marks: jiffies over seconds."""

    seconds: float
    others_jiffies: int

    @property
    def cores(self) -> float:
        """Others' CPU in cores (0.5 = half of one core)."""
        return max(self.others_jiffies, 0) / CLOCK_TICKS / self.seconds if self.seconds > 0 else 0.0

    @property
    def share(self) -> float:
        """Others' CPU as a share of all cores (0..1)."""
        return self.cores / CORES


def _all_busy_jiffies() -> int:
    """user + nice + system + irq + softirq + steal of the first ("cpu", all cores) line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


def _own_jiffies() -> int:
    """utime + stime of this process (all its threads): fields 14 and 15 of /proc/self/stat."""
    with open("/proc/self/stat") as f:
        after_name = f.read().rsplit(")", 1)[1].split()  # the name (field 2) may hold spaces
    return int(after_name[11]) + int(after_name[12])


def mark() -> Mark | None:
    """The current moment, or None where /proc cannot be read."""
    try:
        return Mark(time.perf_counter(), _all_busy_jiffies(), _own_jiffies())
    except (OSError, ValueError, IndexError):
        return None


def since(start: Mark | None) -> Span | None:
    """Others' use from ``start`` to now (None when ``start`` is None)."""
    end = mark()
    if start is None or end is None:
        return None
    return Span(end.seconds - start.seconds, (end.all_busy - start.all_busy) - (end.own - start.own))


def total(spans: Iterable[Span | None]) -> Span | None:
    """The spans taken together (their jiffies over their seconds); None if any is None."""
    spans = list(spans)
    if not spans or any(s is None for s in spans):
        return None
    return Span(sum(s.seconds for s in spans), sum(s.others_jiffies for s in spans))
