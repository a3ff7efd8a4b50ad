"""The default process group: which backend, this process's rank, the world size, the timeout.

``init_process_group`` joins the ranks that ``mpiexec`` started (MPI gives each its rank and the
world size; nothing else to configure) and installs an excepthook: a rank that raises prints
"glassgrad.distributed: rank R raised ..." and aborts the whole job (MPI Abort), so the other ranks
end with it instead of waiting for it in their next collective.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import sys
from types import TracebackType
from typing import Any

from .work import _seconds

BACKENDS = ("mpi", "nccl")
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default for collectives
TIMEOUT_ENV = "GLASSGRAD_DIST_TIMEOUT"  # seconds; the default timeout when init_process_group gets none


class _State:
    backend: Any = None  # MPIBackend or NCCLBackend while initialized
    previous_excepthook: Any = None
    broken: str | None = None  # why the group is unusable (a collective timed out)


_state = _State()


def is_available() -> bool:
    """True when the "mpi" backend can be used (mpi4py is installed); importing it does not start MPI."""
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _state.backend is not None


def default_timeout() -> float:
    """Seconds a collective waits: $GLASSGRAD_DIST_TIMEOUT when set, else 30 minutes (PyTorch's)."""
    value = os.environ.get(TIMEOUT_ENV)
    if value is None:
        return DEFAULT_TIMEOUT.total_seconds()
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"init_process_group: {TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None
    return _seconds(f"init_process_group ({TIMEOUT_ENV})", seconds)


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
) -> None:
    """Join the default process group of every rank ``mpiexec`` started.

    ``backend``: "mpi" (cpu tensors, through mpi4py; the default) or "nccl" (cuda tensors, one GPU
    per rank, through CuPy's NCCL, bootstrapped over MPI). ``timeout``: how long a collective waits
    for the other ranks before raising (default: $GLASSGRAD_DIST_TIMEOUT seconds, else 30 minutes).
    ``init_method``, ``world_size`` and ``rank`` are PyTorch's; MPI's launcher decides the ranks, so
    they may only be left out or agree with it. A process not started by mpiexec is rank 0 of 1.
    """
    api = "init_process_group"
    if _state.backend is not None:
        raise ValueError(f"{api}: trying to initialize the default process group twice!")
    name = "mpi" if backend is None else backend
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"{api}: unknown backend {backend!r}; glassgrad.distributed has {', '.join(BACKENDS)}")
    name = name.lower()
    if init_method not in (None, "env://"):
        raise ValueError(
            f"{api}: init_method {init_method!r} is not used: mpiexec starts the ranks and MPI connects them"
        )
    seconds = default_timeout() if timeout is None else _seconds(api, timeout)
    for what, value in (("world_size", world_size), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{api}: {what} must be an int, got {value!r}")
    if not is_available():
        raise RuntimeError(f"{api}: backend {name!r} needs mpi4py and an MPI (pip install -e '.[dist]')")
    if name == "nccl":
        _check_nccl(api)
        from .nccl_backend import NCCLBackend as Backend
    else:
        from .mpi_backend import MPIBackend as Backend
    _check_launch(api, world_size, rank)
    _state.broken = None
    _state.backend = Backend(seconds, _mark_broken)
    _state.previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_uncaught


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (MPI itself stays up, so a later init_process_group works)."""
    backend = default_group("destroy_process_group", group, usable=False)
    _state.backend = None
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = _state.previous_excepthook
    _state.previous_excepthook = None
    backend.close()


def get_rank(group: Any = None) -> int:
    """This process's rank in 0..world_size-1."""
    return default_group("get_rank", group, usable=False).rank


def get_world_size(group: Any = None) -> int:
    """The number of ranks in the process group."""
    return default_group("get_world_size", group, usable=False).world_size


def get_backend(group: Any = None) -> str:
    """The backend's name: "mpi" or "nccl"."""
    return default_group("get_backend", group, usable=False).name


def default_group(api: str, group: Any = None, usable: bool = True) -> Any:
    """The backend of the default group, else ValueError (not initialized, as PyTorch) naming ``api``;
    with ``usable``, RuntimeError when an earlier collective timed out (the ranks are out of step)."""
    if group is not None:
        raise ValueError(f"{api}: glassgrad.distributed has only the default group; pass group=None, got {group!r}")
    if _state.backend is None:
        raise ValueError(
            f"{api}: Default process group has not been initialized, please make sure to call init_process_group."
        )
    if usable and _state.broken is not None:
        raise RuntimeError(f"{api}: the process group is unusable after an earlier failure: {_state.broken}")
    return _state.backend


def _mark_broken(reason: str) -> None:
    _state.broken = reason


def _check_launch(api: str, world_size: int, rank: int) -> None:
    """world_size and rank, when given, must be the ones MPI assigned."""
    if world_size == -1 and rank == -1:
        return
    from mpi4py import MPI

    actual = {"world_size": MPI.COMM_WORLD.Get_size(), "rank": MPI.COMM_WORLD.Get_rank()}
    for what, value in (("world_size", world_size), ("rank", rank)):
        if value != -1 and value != actual[what]:
            raise ValueError(f"{api}: {what}={value}, but mpiexec started this process as {what} {actual[what]}")


def _check_nccl(api: str) -> None:
    """The "nccl" backend needs CuPy with NCCL and a GPU."""
    if importlib.util.find_spec("cupy") is None:
        raise RuntimeError(f"{api}: backend 'nccl' needs CuPy (pip install -e '.[gpu]') and a GPU; use backend='mpi'")
    from ..engine.backend import cuda_is_available

    if not cuda_is_available():
        raise RuntimeError(f"{api}: backend 'nccl' needs a GPU, and CUDA sees none; use backend='mpi'")
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError as error:
        raise RuntimeError(f"{api}: backend 'nccl' needs CuPy built with NCCL ({error})") from None


def _abort_on_uncaught(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
    """sys.excepthook while the group is up: one line naming the rank (first, flushed: another rank's abort
    may end this process while the traceback is still being written), the usual traceback, then MPI Abort
    (with more than one rank), which ends every rank of the job."""
    backend = _state.backend
    if backend is not None:
        sys.stderr.write(f"glassgrad.distributed: rank {backend.rank} raised {kind.__name__}: {error}\n")
        sys.stderr.flush()
    (_state.previous_excepthook or sys.__excepthook__)(kind, error, traceback)
    if backend is None:
        return
    if backend.world_size > 1:
        sys.stderr.write(f"glassgrad.distributed: aborting all {backend.world_size} ranks of the job (MPI Abort)\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if backend.world_size > 1:
        backend.abort(1)
