"""Run by test_two_ranks.py as ``mpiexec -n 2 python failing_worker.py``: rank 1 raises while rank 0
waits in a barrier (default timeout: 30 minutes); the excepthook init_process_group installed must
abort the job at once."""

from __future__ import annotations

import glassgrad.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise ValueError("rank 1 fails on purpose")
dist.barrier()
print(f"rank {dist.get_rank()} was not stopped", flush=True)
