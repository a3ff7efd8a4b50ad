"""The "mpi" backend: collectives on NumPy arrays through mpi4py's non-blocking calls.

Each collective starts one ``MPI.Comm.I*`` call on the array's memory (no copy when the array is
contiguous and of a dtype MPI knows) and returns a Work that polls ``Request.Test()``. MPI has no
half-precision types: float16/bfloat16 are reduced in float32 and rounded back, and moved
(broadcast, all_gather) as raw bytes. ReduceOp.AVG is MPI's SUM divided by the world size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .reduce_op import ReduceOp
from .work import Work

MPI_DTYPE_CHARS = "?bBhHiIlLqQfdgFD"  # NumPy dtypes mpi4py maps to an MPI datatype itself


class MPIBackend:
    """One process group over all the ranks ``mpiexec`` started: a duplicate of MPI_COMM_WORLD."""

    name = "mpi"
    device = "cpu"

    def __init__(self, timeout: float, on_timeout: Callable[[str], None]) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout, self.on_timeout = timeout, on_timeout
        self.mpi_ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD}
        self.mpi_ops |= {ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, array: np.ndarray, op: ReduceOp) -> Work:
        """array ← reduce_r(array_r), in place."""
        wire = _reduction_buffer(array)
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, wire, self.mpi_ops[op])
        return self._work("all_reduce", request, lambda: _write_back(array, wire, self._scale(op)))

    def broadcast(self, array: np.ndarray, src: int) -> Work:
        """array ← array_src, in place."""
        wire = _movement_buffer(array)
        request = self.comm.Ibcast(wire, root=src)
        return self._work("broadcast", request, lambda: _write_back(array, wire.view(array.dtype)))

    def all_gather(self, outputs: list[np.ndarray], array: np.ndarray) -> Work:
        """outputs[r] ← array_r for every rank r."""
        send = _movement_buffer(array)
        gathered = np.empty((self.world_size, *send.shape), send.dtype)
        request = self.comm.Iallgather(send, gathered)

        def finish() -> None:
            for out, part in zip(outputs, gathered, strict=True):
                out[...] = part.view(array.dtype).reshape(out.shape)

        return self._work("all_gather", request, finish)

    def reduce_scatter(self, output: np.ndarray, inputs: list[np.ndarray], op: ReduceOp) -> Work:
        """output ← reduce_r(inputs_r[rank]): rank i gets the reduction of every rank's i-th input."""
        dtype = _reduction_dtype(output.dtype)
        send = np.stack([np.asarray(x, dtype=dtype) for x in inputs])
        received = np.empty(output.shape, dtype)
        request = self.comm.Ireduce_scatter_block(send, received, self.mpi_ops[op])
        return self._work("reduce_scatter", request, lambda: _write_back(output, received, self._scale(op)))

    def barrier(self) -> Work:
        """Done once every rank has entered the barrier."""
        return self._work("barrier", self.comm.Ibarrier(), None)

    # ------------------------------------------------------------------ life cycle
    def abort(self, code: int = 1) -> None:
        """End every rank of the job now (MPI_Abort on MPI_COMM_WORLD)."""
        self.MPI.COMM_WORLD.Abort(code)

    def close(self) -> None:
        self.comm.Free()

    def _work(self, op: str, request: Any, finish: Callable[[], None] | None) -> Work:
        return Work(op, request.Test, self.timeout, finish, self.on_timeout)

    def _scale(self, op: ReduceOp) -> float | None:
        return 1.0 / self.world_size if op is ReduceOp.AVG else None


def _reduction_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype MPI reduces ``dtype`` in: itself, or float32 for the half-precision floats."""
    return dtype if dtype.char in MPI_DTYPE_CHARS else np.dtype(np.float32)


def _reduction_buffer(array: np.ndarray) -> np.ndarray:
    """The array itself when MPI can reduce it in place, else a contiguous copy in the reduction dtype."""
    dtype = _reduction_dtype(array.dtype)
    if dtype == array.dtype and array.flags.c_contiguous:
        return array
    return np.ascontiguousarray(array, dtype=dtype)


def _movement_buffer(array: np.ndarray) -> np.ndarray:
    """The array's bytes, contiguous, as a dtype MPI can move (itself, or raw bytes)."""
    contiguous = np.ascontiguousarray(array)
    return contiguous if array.dtype.char in MPI_DTYPE_CHARS else contiguous.view(np.uint8)


def _write_back(array: np.ndarray, wire: np.ndarray, scale: float | None = None) -> None:
    """Put the collective's result (``wire``, times ``scale`` when given) into ``array``."""
    if scale is not None:
        if wire is array:
            array *= array.dtype.type(scale)
            return
        wire = wire * scale
    if wire is not array:
        array[...] = wire.reshape(array.shape)
