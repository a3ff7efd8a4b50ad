"""The "nccl" backend: collectives on CuPy arrays through ``cupy.cuda.nccl``, one GPU per rank.

Bootstrapped over MPI: rank 0 makes NCCL's unique id and broadcasts it over MPI_COMM_WORLD, every
rank builds its ``NcclCommunicator(world_size, id, rank)`` on the GPU of its local rank (its index
among the ranks on its machine). A collective runs on the backend's own stream after that stream
waits for the caller's current stream (so it sees the finished inputs); its Work polls a CUDA event
recorded after it, and on completion makes the caller's stream wait for that event.
ReduceOp.AVG is NCCL's SUM divided by the world size. Importable only where CuPy is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cupy
from cupy.cuda import nccl

from .reduce_op import ReduceOp
from .work import Work

NCCL_DTYPES = {
    "int8": nccl.NCCL_INT8,
    "uint8": nccl.NCCL_UINT8,
    "int32": nccl.NCCL_INT32,
    "uint32": nccl.NCCL_UINT32,
    "int64": nccl.NCCL_INT64,
    "uint64": nccl.NCCL_UINT64,
    "float16": nccl.NCCL_FLOAT16,
    "float32": nccl.NCCL_FLOAT32,
    "float64": nccl.NCCL_FLOAT64,
}
if hasattr(nccl, "NCCL_BFLOAT16"):  # CuPy built against NCCL >= 2.10
    NCCL_DTYPES["bfloat16"] = nccl.NCCL_BFLOAT16
NCCL_OPS = {
    ReduceOp.SUM: nccl.NCCL_SUM,
    ReduceOp.AVG: nccl.NCCL_SUM,
    ReduceOp.PRODUCT: nccl.NCCL_PROD,
    ReduceOp.MIN: nccl.NCCL_MIN,
    ReduceOp.MAX: nccl.NCCL_MAX,
}


def local_rank(mpi_world: Any) -> int:
    """This rank's index among the ranks on its machine (MPI's shared-memory split)."""
    from mpi4py import MPI

    node = mpi_world.Split_type(MPI.COMM_TYPE_SHARED)
    index = node.Get_rank()
    node.Free()
    return index


class NCCLBackend:
    """One NCCL communicator over all the ranks, each on the GPU ``local_rank % device_count``."""

    name = "nccl"
    device = "cuda"

    def __init__(self, timeout: float, on_timeout: Callable[[str], None]) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        world = MPI.COMM_WORLD
        self.rank, self.world_size = world.Get_rank(), world.Get_size()
        self.gpu = local_rank(world) % cupy.cuda.runtime.getDeviceCount()
        cupy.cuda.Device(self.gpu).use()
        unique_id = nccl.get_unique_id() if self.rank == 0 else None
        unique_id = world.bcast(unique_id, root=0)
        self.comm = nccl.NcclCommunicator(self.world_size, unique_id, self.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.timeout, self.on_timeout = timeout, on_timeout

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, array: Any, op: ReduceOp) -> Work:
        """array ← reduce_r(array_r), in place."""
        wire = cupy.ascontiguousarray(array)
        self._start()
        self.comm.allReduce(wire.data.ptr, wire.data.ptr, wire.size, _dtype(wire), NCCL_OPS[op], self.stream.ptr)
        return self._work("all_reduce", lambda: _write_back(array, wire, self._scale(op)))

    def broadcast(self, array: Any, src: int) -> Work:
        """array ← array_src, in place."""
        wire = cupy.ascontiguousarray(array)
        self._start()
        self.comm.broadcast(wire.data.ptr, wire.data.ptr, wire.size, _dtype(wire), src, self.stream.ptr)
        return self._work("broadcast", lambda: _write_back(array, wire))

    def all_gather(self, outputs: list[Any], array: Any) -> Work:
        """outputs[r] ← array_r for every rank r."""
        send = cupy.ascontiguousarray(array)
        gathered = cupy.empty((self.world_size, *send.shape), send.dtype)
        self._start()
        self.comm.allGather(send.data.ptr, gathered.data.ptr, send.size, _dtype(send), self.stream.ptr)

        def finish() -> None:
            for out, part in zip(outputs, gathered, strict=True):
                out[...] = part.reshape(out.shape)

        return self._work("all_gather", finish)

    def reduce_scatter(self, output: Any, inputs: list[Any], op: ReduceOp) -> Work:
        """output ← reduce_r(inputs_r[rank])."""
        send = cupy.stack(inputs)
        received = cupy.empty(output.shape, output.dtype)
        self._start()
        self.comm.reduceScatter(
            send.data.ptr, received.data.ptr, received.size, _dtype(received), NCCL_OPS[op], self.stream.ptr
        )
        return self._work("reduce_scatter", lambda: _write_back(output, received, self._scale(op)))

    def barrier(self) -> Work:
        """Done once every rank has reached it: an all-reduce of one element."""
        return self.all_reduce(cupy.zeros(1, cupy.float32), ReduceOp.SUM)

    # ------------------------------------------------------------------ life cycle
    def abort(self, code: int = 1) -> None:
        """Abort the communicator, then every rank of the job (MPI_Abort)."""
        self.comm.abort()
        self.MPI.COMM_WORLD.Abort(code)

    def close(self) -> None:
        self.stream.synchronize()
        self.comm.destroy()

    def _start(self) -> None:
        """The backend's stream waits for the work already queued on the caller's stream."""
        self.stream.wait_event(cupy.cuda.get_current_stream().record())

    def _work(self, op: str, finish: Callable[[], None]) -> Work:
        done = self.stream.record()

        def complete() -> None:
            cupy.cuda.get_current_stream().wait_event(done)
            finish()

        return Work(op, lambda: done.done, self.timeout, complete, self.on_timeout)

    def _scale(self, op: ReduceOp) -> float | None:
        return 1.0 / self.world_size if op is ReduceOp.AVG else None


def _dtype(array: Any) -> int:
    name = array.dtype.name
    if name not in NCCL_DTYPES:
        raise TypeError(f"glassgrad.distributed (nccl): dtype {name} has no NCCL type ({', '.join(NCCL_DTYPES)})")
    return NCCL_DTYPES[name]


def _write_back(array: Any, wire: Any, scale: float | None = None) -> None:
    """Put the collective's result (``wire``, times ``scale`` when given) into ``array``."""
    if scale is not None:
        wire *= wire.dtype.type(scale)
    if wire is not array:
        array[...] = wire.reshape(array.shape)
