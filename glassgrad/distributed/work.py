"""Work: a collective in flight, waited for with a deadline.

A backend starts a non-blocking collective and hands back a ``test`` function (True once it is
done, for this rank) and a ``finish`` function (copies the result where the caller wants it).
``wait`` polls ``test`` until it holds or the deadline passes; past it, RuntimeError names the
collective and the timeout, so a rank whose peers never join raises instead of hanging
(``init_process_group``'s excepthook then aborts the whole job).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

SPIN_SECONDS = 1e-3  # poll without sleeping this long first (a small collective ends in microseconds)
LONGEST_SLEEP = 5e-3  # then sleep between polls, doubling up to this


class Work:
    """``torch.distributed.Work``: ``wait()`` blocks until the collective is done on this rank,
    ``is_completed()`` asks without blocking. Returned by the collectives when ``async_op=True``."""

    def __init__(
        self,
        op: str,
        test: Callable[[], bool],
        timeout: float,
        finish: Callable[[], None] | None = None,
        on_timeout: Callable[[str], None] | None = None,
    ) -> None:
        self.op, self._test, self._timeout, self._finish = op, test, timeout, finish
        self._on_timeout = on_timeout
        self._done = False

    def is_completed(self) -> bool:
        """True once the collective has finished on this rank (its result is then in place)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Block until the collective is done (its result in place), at most ``timeout`` (default:
        the process group's); past it, RuntimeError naming the collective. Returns True."""
        if self._done:
            return True
        seconds = self._timeout if timeout is None else _seconds("Work.wait", timeout)
        start = time.monotonic()
        deadline, pause = start + seconds, 0.0
        while not self._test():
            now = time.monotonic()
            if now >= deadline:
                message = (
                    f"glassgrad.distributed.{self.op}: timed out after {seconds:g} s waiting for the other ranks "
                    "(a rank that never called it, or called another collective)"
                )
                if self._on_timeout is not None:
                    self._on_timeout(message)
                raise RuntimeError(message)
            if now - start > SPIN_SECONDS:
                pause = min(LONGEST_SLEEP, max(2 * pause, 1e-5))
                time.sleep(min(pause, max(deadline - now, 0.0)))
        self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def __repr__(self) -> str:
        return f"Work({self.op}, completed={self._done})"


def completed(op: str) -> Work:
    """A Work that is already done (a collective with nothing to exchange, e.g. on one rank)."""
    work = Work(op, lambda: True, 0.0)
    work._done = True
    return work


def _seconds(api: str, timeout: object) -> float:
    """A timeout (datetime.timedelta, as PyTorch, or a number of seconds) in positive seconds."""
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, int | float) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"{api}: timeout must be a datetime.timedelta, got {type(timeout).__name__}")
    if not seconds > 0:
        raise ValueError(f"{api}: timeout must be positive, got {timeout!r}")
    return seconds
