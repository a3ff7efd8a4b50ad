"""Data-parallel training on N ranks: what the ``train`` command and the trainer do differently.

Every rank holds the whole model (``nn.parallel.DistributedDataParallel``: the same weights at the
start, the gradients averaged in backward) and takes 1/N of every global batch of ``--batch-size`` B:

    rank r's batch k = b = B/N samples;   ∪_r (rank r's batch k) = the 1-process batch k of the same order
    ∇θ = (1/N) Σ_r ∇θ L_r(b samples) = ∇θ L(B samples)      (each L_r a mean over b equal-sized shards)

so N ranks take the steps of one process on the same global batches (up to the order of float sums).
The shards:

- a ``DataLoader`` task (SupervisedTask recipes): ``DataLoader(dataset, B/N, sampler=DistributedSampler(
  dataset, N, r, shuffle, seed))``, ``set_epoch(epoch)`` before every epoch: the order is a function of
  (seed, epoch) alone, the same for any N, so ``--nproc 1`` (one process, no MPI) is the reference run of
  any ``--nproc N``, and a checkpoint resumes on any number of ranks (where N does not divide the
  dataset, the sampler repeats a few samples to even the shards, as PyTorch's);
- a language model (``LanguageModelTask``: ``TokenBlocks``, ``BPTTBatches``): every rank draws the
  global batch from the engine generator (identical on all ranks) and keeps rows [r·b, (r+1)·b)
  (``BatchShard``); with BPTT, row b of one chunk continues row b of the last, so each rank carries the
  recurrent state of its own rows.

Rank 0 alone prints, evaluates (the whole held-out set, with the unwrapped model: its figures are the
1-process ones), runs the task's ``end_epoch`` (samples, tokenizer files), writes metrics, plots and
checkpoints. Once per epoch the training sums (loss · count, correct, extras, count, and the Ctrl-C flag)
are all-reduced in one call, and rank 0's generator state is broadcast, so every rank's random
numbers (windows, dropout) stay the ones a checkpoint records. A Ctrl-C (mpiexec passes it to every
rank) stops all ranks at the end of the current epoch; a second one makes mpiexec abort the job.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import creation, dtypes
from ..engine.tensor import Tensor

DIST_INSTALL = "pip install -e '.[dist]'"
# world size of a process started by mpiexec: MPICH, Intel MPI and srun's PMI; Open MPI
WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
# the ranks this machine runs: MPICH/Intel MPI, Open MPI
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
RNG_BYTES = 1024  # the generator's JSON state, padded (PCG64's is about 200 characters)


@dataclass(frozen=True)
class World:
    """The ranks of a run: ``size`` processes, this one ``rank``; ``data_parallel`` says the data is
    sharded as for N ranks (also ``--nproc 1``, which runs alone, with no process group)."""

    size: int = 1
    rank: int = 0
    device: str = "cpu"
    data_parallel: bool = False

    @property
    def main(self) -> bool:
        """Whether this rank prints and writes (rank 0)."""
        return self.rank == 0

    @property
    def collective(self) -> bool:
        """Whether other ranks take part (size > 1): the reductions and broadcasts talk to them."""
        return self.size > 1

    def all_reduce_sum(self, values: Sequence[float]) -> list[float]:
        """Σ over the ranks of each of ``values`` (one all-reduce of a float64 vector)."""
        if not self.collective:
            return [float(v) for v in values]
        from .. import distributed as dist

        buffer = creation.tensor(np.asarray(values, dtype=np.float64), device=self.device)
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
        return [float(v) for v in buffer.cpu().numpy()]

    def sync_rng(self) -> None:
        """Every rank's CPU generator becomes rank 0's (one broadcast of its JSON state)."""
        if not self.collective:
            return
        from .. import distributed as dist
        from .checkpoint import rng_state, set_rng_state

        text = rng_state().encode() if self.main else b""
        if len(text) > RNG_BYTES:
            raise RuntimeError(f"World.sync_rng: the generator state takes {len(text)} bytes, over {RNG_BYTES}")
        padded = np.zeros(RNG_BYTES, dtype=np.uint8)
        padded[: len(text)] = np.frombuffer(text, dtype=np.uint8)
        buffer = creation.tensor(padded, dtype=dtypes.uint8, device=self.device)
        dist.broadcast(buffer, src=0)
        if not self.main:
            set_rng_state(bytes(buffer.cpu().numpy()).rstrip(b"\0").decode())


SINGLE = World()


def launched_world_size() -> int:
    """The number of ranks mpiexec (or srun) started this process among; 1 outside an MPI launch
    (a batch job's SLURM_NTASKS alone does not count: only the processes srun starts are ranks)."""
    for name in WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    mpi = sys.modules.get("mpi4py.MPI")  # only when something has already started MPI in this process
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        return int(mpi.COMM_WORLD.Get_size())
    return 1


def require_mpi4py(api: str) -> None:
    """ImportError unless mpi4py (and an MPI library under it) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise ImportError(f"{api}: distributed training needs mpi4py and an MPI: {DIST_INSTALL}") from None


def mpiexec_path() -> str | None:
    """The ``mpiexec`` next to this Python (a virtualenv's, the mpich wheel's), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec")


def launch_command(nproc: int, argv: Sequence[str]) -> list[str]:
    """``mpiexec -n nproc <this python> -m glassgrad <argv>``; ValueError without mpiexec or mpi4py."""
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"launch_command: nproc must be a positive integer, got {nproc!r}")
    require_mpi4py(f"--nproc {nproc}")
    mpiexec = mpiexec_path()
    if mpiexec is None:
        raise ValueError(f"--nproc {nproc}: no mpiexec next to {sys.executable} or on PATH: {DIST_INSTALL}")
    return [mpiexec, "-n", str(nproc), sys.executable, "-m", "glassgrad", *argv]


def check_gpus(nproc: int) -> None:
    """ValueError unless this machine has a GPU for each of ``nproc`` ranks (NCCL takes one GPU per rank)."""
    from ..engine.backend import cupy_module

    gpus = cupy_module("--device cuda").cuda.runtime.getDeviceCount()
    if gpus < nproc:
        raise ValueError(
            f"--nproc {nproc} --device cuda: NCCL needs one GPU per rank and this machine has {gpus}; give "
            f"--nproc {gpus} or less (or more machines: mpiexec -f HOSTS)"
        )


def threads_per_rank(ranks_here: int) -> int:
    """This machine's cores shared evenly by the ``ranks_here`` ranks it runs (at least one each)."""
    return max(1, (os.cpu_count() or 1) // max(ranks_here, 1))


def launch_environment(nproc: int) -> dict[str, str]:
    """This environment for ``nproc`` ranks on this machine: BLAS, OpenMP and numba at
    ``threads_per_rank(nproc)`` threads each, unless the user set them (N ranks of all-core pools would
    fight over the cores)."""
    threads = str(threads_per_rank(nproc))
    return {name: threads for name in THREAD_VARIABLES} | dict(os.environ)


def shard_batch_size(batch_size: int, world_size: int) -> int:
    """The per-rank batch b = B / N of a global ``--batch-size`` B; ValueError unless N divides B."""
    if batch_size % world_size:
        raise ValueError(
            f"--batch-size {batch_size} is the global batch, split evenly over the {world_size} ranks: give a "
            f"multiple of {world_size} (such as {max(world_size, batch_size // world_size * world_size)})"
        )
    return batch_size // world_size


def start(data_parallel: bool, nproc: int | None, device: str) -> World:
    """The world of this run: a process group when mpiexec started several ranks (``nccl`` on cuda,
    ``mpi`` on the cpu); in one process, the data-parallel data order (``--nproc 1``, or resuming a
    ``--nproc`` run) when ``data_parallel``, else a plain run. Ranks other than 0 send their standard
    output to the null device (rank 0 alone prints)."""
    size = launched_world_size()
    if size == 1:
        return World(device=device, data_parallel=data_parallel)
    if nproc is not None and nproc != size:
        raise ValueError(f"--nproc {nproc} given to a process that mpiexec started among {size} ranks")
    require_mpi4py("train")
    from .. import distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "mpi")
    world = World(dist.get_world_size(), dist.get_rank(), device, data_parallel=True)
    local = next((int(os.environ[v]) for v in LOCAL_SIZE_VARIABLES if os.environ.get(v, "").isdigit()), 1)
    if "NUMBA_NUM_THREADS" not in os.environ:  # numba's pool, as launch_environment sets for the others
        import numba

        numba.set_num_threads(min(numba.get_num_threads(), threads_per_rank(local)))
    if not world.main:
        sys.stdout = open(os.devnull, "w")  # for the life of the process
    return world


def abort(code: int) -> None:
    """End every rank of the job now (MPI_Abort), as a second Ctrl-C or an error in one rank must."""
    from mpi4py import MPI

    MPI.COMM_WORLD.Abort(code)


def unwrap(module: Any) -> Any:
    """The model inside a ``DistributedDataParallel`` (its state_dict has no ``module.`` prefix), else
    ``module``. Nothing is imported: a model can only be wrapped once ``nn.parallel`` is loaded."""
    wrapper = getattr(sys.modules.get("glassgrad.nn.parallel"), "DistributedDataParallel", None)
    return module.module if wrapper is not None and isinstance(module, wrapper) else module


@contextmanager
def unwrapped(task: Any) -> Iterator[Any]:
    """``task`` with its plain model for the work rank 0 does alone (evaluation, samples, reports):
    a wrapped model's forward may talk to the other ranks, which are not there."""
    wrapped = getattr(task, "model", None)
    if wrapped is None or unwrap(wrapped) is wrapped:
        yield task
        return
    task.model = unwrap(wrapped)
    try:
        yield task
    finally:
        task.model = wrapped


class BatchShard:
    """Rows [r·b, (r+1)·b) of every batch of ``loader`` (a tensor or a tuple/list of tensors, B rows each)."""

    def __init__(self, loader: Any, world: World) -> None:
        self.loader, self.world = loader, world

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:  # target_segments(), tokens, ... of the loader
        return getattr(self.__dict__["loader"], name)

    def _rows(self, batch: Any) -> Any:
        if isinstance(batch, tuple | list):
            return type(batch)(self._rows(b) for b in batch)
        if not isinstance(batch, Tensor):
            return batch
        size = shard_batch_size(batch.shape[0], self.world.size)
        return batch[self.world.rank * size : (self.world.rank + 1) * size]

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            yield self._rows(batch)


def _sharded_loader(loader: Any, world: World, seed: int) -> Any:
    """The DataLoader of the same dataset and options with this rank's DistributedSampler and b = B/N."""
    from ..data import DataLoader, DistributedSampler

    sampler = DistributedSampler(
        loader.dataset, num_replicas=world.size, rank=world.rank, shuffle=bool(loader.shuffle), seed=seed
    )
    size = shard_batch_size(loader.batch_size, world.size)
    return DataLoader(loader.dataset, size, sampler=sampler, drop_last=loader.drop_last, collate_fn=loader.collate_fn)


def distribute(task: Any, world: World, recipe: str, seed: int) -> Any:
    """``task`` made data-parallel in place (see the module docstring): its model wrapped in
    DistributedDataParallel when other ranks take part, its training loader sharded.
    ValueError for a task that trains otherwise (several models, batches of uneven sizes)."""
    from ..data import DataLoader
    from .language_model import LanguageModelTask
    from .task import OneModelTask

    if not world.data_parallel:
        return task
    supported = isinstance(task, LanguageModelTask) or (
        isinstance(task, OneModelTask) and isinstance(task.train_loader, DataLoader)
    )
    if not supported:
        raise ValueError(
            f"--nproc is not supported by recipe {recipe}: its {type(task).__name__} does not take a DataLoader "
            "or a language model's batches, so its batches cannot be split evenly over ranks; train it without "
            "--nproc"
        )
    if isinstance(task, LanguageModelTask):
        task.train_loader.loader = BatchShard(task.train_loader.loader, world)
    else:
        task.train_loader = _sharded_loader(task.train_loader, world, seed)
    if world.collective:
        from ..nn.parallel import DistributedDataParallel

        task.model = DistributedDataParallel(task.model)
    return task


def set_epoch(loader: Any, epoch: int) -> None:
    """``loader.sampler.set_epoch(epoch)`` where the loader has such a sampler (a DistributedSampler)."""
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)


def record(world: World, meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """``meta`` noting a data-parallel run, so that a resume keeps the sharded data order."""
    if meta is None or not world.data_parallel:
        return meta
    return meta | {"data_parallel": True}


__all__ = [
    "DIST_INSTALL",
    "SINGLE",
    "BatchShard",
    "World",
    "abort",
    "check_gpus",
    "distribute",
    "launch_command",
    "launch_environment",
    "launched_world_size",
    "mpiexec_path",
    "record",
    "set_epoch",
    "shard_batch_size",
    "start",
    "threads_per_rank",
    "unwrap",
    "unwrapped",
]
