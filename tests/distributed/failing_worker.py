"""Run by test_two_ranks.py as ``mpiexec -n 2 python failing_worker.py MODE``: a job that must end
quickly with a message, not hang.

raise:   rank 1 raises while rank 0 waits in a barrier (default timeout: 30 minutes); the excepthook
         init_process_group installed aborts the job.
timeout: rank 0 all-reduces with a 1 s timeout while rank 1 never joins; rank 0 raises RuntimeError
         naming all_reduce and the timeout, which aborts the job.
"""

from __future__ import annotations

import datetime
import sys
import time

import glassgrad as gg
import glassgrad.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1) if mode == "timeout" else None)
rank = dist.get_rank()
if mode == "raise":
    if rank == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.barrier()
elif mode == "timeout":
    if rank == 0:
        dist.all_reduce(gg.ones(3))
    time.sleep(120)
print(f"rank {rank} was not stopped", flush=True)
