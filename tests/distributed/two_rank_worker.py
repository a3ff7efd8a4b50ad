"""Run by test_two_ranks.py as ``mpiexec -n 2 python two_rank_worker.py OUT``: every collective, and
DistributedDataParallel trained for a few steps next to the one-process reference (which each rank
computes itself on the global batch). Each rank writes what it got to OUT/rank<R>.json; the test
asserts on it. Then rank 0 runs into a collective timeout, which must end the job."""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

import glassgrad as gg
import glassgrad.distributed as dist
from glassgrad import nn
from glassgrad.nn.parallel import DistributedDataParallel as DDP  # noqa: N817 - as PyTorch users write it

STEPS = 3
GLOBAL_BATCH = 8


def collectives(rank: int, world: int) -> dict:
    """The collectives' results (the test computes what they should be from the same inputs)."""
    out: dict = {}
    for op in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
        x = gg.tensor(np.arange(12.0).reshape(3, 4) * (rank + 1) - 3 * rank)[:, ::2]  # a non-contiguous view
        dist.all_reduce(x, op=getattr(dist.ReduceOp, op))
        out[f"all_reduce_{op}"] = x.numpy().tolist()
    i = gg.tensor(np.array([1, 2, 3], np.int64) * (rank + 2))
    work = dist.all_reduce(i, async_op=True)
    out["async_is_work"] = isinstance(work, dist.Work)
    out["async_wait"] = work.wait()
    out["async_completed"] = work.is_completed()
    out["all_reduce_int64"] = [i.numpy().tolist(), str(i.dtype)]
    h = gg.tensor(np.array([0.5, 1.5, 2.0 + rank]), dtype=gg.bfloat16)
    dist.all_reduce(h, op=dist.ReduceOp.SUM)
    out["all_reduce_bfloat16"] = [h.float().numpy().tolist(), str(h.dtype)]
    b = gg.tensor(np.full((2, 2), rank + 10.0, np.float32))
    dist.broadcast(b, src=1)
    out["broadcast"] = [b.numpy().tolist(), str(b.dtype)]
    gathered = [gg.zeros(3, dtype=gg.float64) for _ in range(world)]
    dist.all_gather(gathered, gg.tensor(np.array([rank, rank * 2.0, -1.0])))
    out["all_gather"] = [t.numpy().tolist() for t in gathered]
    for op in ("SUM", "MAX"):
        got = gg.zeros(2, dtype=gg.float64)
        inputs = [gg.tensor(np.array([10.0 * j + rank, -rank * 1.0])) for j in range(world)]
        dist.reduce_scatter(got, inputs, op=getattr(dist.ReduceOp, op))
        out[f"reduce_scatter_{op}"] = got.numpy().tolist()
    out["barrier"] = dist.barrier() is None
    return out


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()


def batches() -> list[tuple[gg.Tensor, gg.Tensor]]:
    """The global batches, the same on every rank."""
    rng = np.random.default_rng(123)
    return [
        (gg.tensor(rng.normal(size=(GLOBAL_BATCH, 3))), gg.tensor(rng.normal(size=(GLOBAL_BATCH, 2))))
        for _ in range(STEPS)
    ]


def loss_of(model: nn.Module, x: gg.Tensor, y: gg.Tensor) -> gg.Tensor:
    return ((model(x) - y) ** 2).mean()


def train(optimizer_name: str, rank: int, world: int, bucket_cap_mb: float | None) -> dict:
    """k steps with DDP on this rank's quarter of each global batch, and k steps of one process on the whole."""
    gg.manual_seed(100)
    reference = mlp()  # rank 0's start
    gg.manual_seed(100 + rank)  # a different start on each rank: DDP must broadcast rank 0's
    model = mlp()
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    at_wrap = [p.detach().numpy().tolist() for p in model.parameters()]
    make = {"sgd": lambda ps: gg.optim.SGD(ps, lr=0.1, momentum=0.9), "adam": lambda ps: gg.optim.Adam(ps, lr=0.01)}
    optimizer, ref_optimizer = make[optimizer_name](ddp.parameters()), make[optimizer_name](reference.parameters())
    share = GLOBAL_BATCH // world
    for x, y in batches():
        optimizer.zero_grad()
        loss_of(ddp, x[rank * share : (rank + 1) * share], y[rank * share : (rank + 1) * share]).backward()
        optimizer.step()
        ref_optimizer.zero_grad()
        loss_of(reference, x, y).backward()
        ref_optimizer.step()
    return {
        "buckets": len(ddp.reducer.buckets),
        "at_wrap": at_wrap,
        "weights": [p.detach().numpy().tolist() for p in model.parameters()],
        "reference": [p.detach().numpy().tolist() for p in reference.parameters()],
        "state_dict_keys": list(ddp.state_dict()),
    }


def accumulate(rank: int, world: int) -> dict:
    """no_sync: two micro-batches per rank, the first backward local, the second synchronizing."""
    gg.manual_seed(0)
    reference = mlp()
    gg.manual_seed(0)
    model = mlp()
    ddp = DDP(model, bucket_cap_mb=1e-5)
    x, y = batches()[0]
    share = GLOBAL_BATCH // world
    xs, ys = x[rank * share : (rank + 1) * share], y[rank * share : (rank + 1) * share]
    half = share // 2
    with ddp.no_sync():
        (loss_of(ddp, xs[:half], ys[:half]) / 2).backward()
    local = [p.grad.numpy().tolist() for p in model.parameters()]
    (loss_of(ddp, xs[half:], ys[half:]) / 2).backward()
    loss_of(reference, x, y).backward()
    return {
        "local": local,
        "grads": [p.grad.numpy().tolist() for p in model.parameters()],
        "reference": [p.grad.numpy().tolist() for p in reference.parameters()],
    }


class Branches(nn.Module):
    """fc3 is used on rank 0 only; never_used on no rank."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3, self.never_used = (
            nn.Linear(3, 4),
            nn.Linear(4, 2),
            nn.Linear(4, 2),
            nn.Linear(2, 2),
        )

    def forward(self, x: gg.Tensor, use_fc3: bool) -> gg.Tensor:
        h = self.fc1(x).tanh()
        return self.fc2(h) + self.fc3(h) if use_fc3 else self.fc2(h)


def unused_parameters(rank: int, world: int) -> dict:
    """find_unused_parameters: fc3 averaged with rank 1's zeros, never_used left without a gradient;
    the reference differentiates (L_0 + L_1) / 2 in one process. Then a DDP without it raises at the
    next forward."""
    gg.manual_seed(0)
    reference = Branches().double()
    gg.manual_seed(0)
    model = Branches().double()
    ddp = DDP(model, find_unused_parameters=True)
    x, y = batches()[0]
    share = GLOBAL_BATCH // world
    part = [(x[r * share : (r + 1) * share], y[r * share : (r + 1) * share]) for r in range(world)]
    ((ddp(part[rank][0], rank == 0) - part[rank][1]) ** 2).mean().backward()
    losses = [((reference(xr, r == 0) - yr) ** 2).mean() for r, (xr, yr) in enumerate(part)]
    (sum(losses[1:], losses[0]) / world).backward()
    got = {n: None if p.grad is None else p.grad.numpy().tolist() for n, p in model.named_parameters()}
    want = {n: None if p.grad is None else p.grad.numpy().tolist() for n, p in reference.named_parameters()}
    strict = DDP(Branches().double())
    (strict(part[rank][0], False) ** 2).mean().backward()  # fc3 gets no gradient: the reduction never finishes
    try:
        strict(part[rank][0], False)
        error = None
    except RuntimeError as e:
        error = str(e)
    return {"grads": got, "reference": want, "error": error}


def buffers(rank: int) -> dict:
    """broadcast_buffers: rank 0's buffers at wrap time and again before each forward."""
    model = nn.Linear(2, 2).double()
    model.register_buffer("count", gg.tensor(np.array([rank + 1.0, 7.0 * rank])))
    ddp = DDP(model)
    at_wrap = model.count.numpy().tolist()
    model.count.array[...] = 50.0 + rank
    ddp(gg.ones(1, 2, dtype=gg.float64))
    return {"at_wrap": at_wrap, "after_forward": model.count.numpy().tolist()}


def main() -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    results = {
        "rank": rank,
        "world_size": world,
        "backend": dist.get_backend(),
        "collectives": collectives(rank, world),
        "sgd_one_bucket": train("sgd", rank, world, None),
        "sgd_tiny_buckets": train("sgd", rank, world, 1e-5),
        "adam_tiny_buckets": train("adam", rank, world, 1e-5),
        "no_sync": accumulate(rank, world),
        "buffers": buffers(rank),
        "unused": unused_parameters(rank, world),
    }
    Path(sys.argv[1], f"rank{rank}.json").write_text(json.dumps(results))
    # Last, a collective that times out: rank 1 never joins rank 0's all_reduce, which raises after the
    # group's 1 s; the excepthook aborts the job, rank 1's sleep included.
    dist.destroy_process_group()
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1))
    if rank == 0:
        dist.all_reduce(gg.ones(3))
    time.sleep(300)
    print(f"rank {rank} was not stopped", flush=True)


if __name__ == "__main__":
    main()
