"""glassgrad.distributed: data-parallel training across processes, with torch.distributed's names.

    mpiexec -n 2 python train.py          # every process calls:
    import glassgrad.distributed as dist
    dist.init_process_group("mpi")        # "nccl" for cuda tensors, one GPU per rank
    dist.all_reduce(t, op=dist.ReduceOp.SUM)

Backends: "mpi" (process_group.py → mpi_backend.py, mpi4py's non-blocking collectives on NumPy
arrays) and "nccl" (nccl_backend.py, CuPy's NCCL, bootstrapped over MPI). Every collective waits at
most the group's timeout (work.py); a rank that raises aborts the job (process_group.py).
``glassgrad.nn.parallel.DistributedDataParallel`` averages gradients with these.
"""

from .collectives import all_gather, all_reduce, barrier, broadcast, reduce_scatter
from .process_group import (
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
)
from .reduce_op import ReduceOp
from .work import Work

__all__ = [
    "ReduceOp",
    "Work",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "reduce_scatter",
]
