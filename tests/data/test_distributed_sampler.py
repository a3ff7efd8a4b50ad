"""DistributedSampler against torch.utils.data.DistributedSampler, and DataLoader(sampler=)."""

from __future__ import annotations

import pytest
import torch.utils.data

import glassgrad as gg
from glassgrad.data import DataLoader, DistributedSampler, TensorDataset


@pytest.mark.parametrize("drop_last", [False, True])
def test_without_shuffle_exactly_pytorchs(drop_last: bool) -> None:
    for n in (0, 1, 5, 7, 12):
        for replicas in (1, 2, 3, 5):
            for rank in range(replicas):
                ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                theirs = torch.utils.data.DistributedSampler(
                    range(n), replicas, rank, shuffle=False, drop_last=drop_last
                )
                assert list(ours) == list(theirs) and len(ours) == len(theirs), (n, replicas, rank)


def test_shuffle_partitions_each_epoch() -> None:
    n, replicas = 11, 3
    for drop_last in (False, True):
        shares = {}
        for epoch in (0, 1):
            samplers = [DistributedSampler(range(n), replicas, r, seed=7, drop_last=drop_last) for r in range(replicas)]
            for s in samplers:
                s.set_epoch(epoch)
            parts = [list(s) for s in samplers]
            theirs = [
                len(torch.utils.data.DistributedSampler(range(n), replicas, r, drop_last=drop_last))
                for r in range(replicas)
            ]
            assert [len(p) for p in parts] == [len(s) for s in samplers] == theirs
            together = sum(parts, [])
            if drop_last:  # disjoint, n - n % replicas of them
                assert len(set(together)) == len(together) == n - n % replicas
            else:  # every index, padded by repeating the first ones of the permutation
                assert set(together) == set(range(n)) and len(together) == 12
            assert parts == [list(s) for s in samplers]  # the same epoch draws the same order again
            shares[epoch] = parts
        assert shares[0] != shares[1]  # set_epoch reshuffles
    again = DistributedSampler(range(n), replicas, 0, seed=7)
    assert list(again) == list(DistributedSampler(range(n), replicas, 0, seed=7))
    assert list(again) != list(DistributedSampler(range(n), replicas, 0, seed=8))


def test_dataloader_takes_the_sampler() -> None:
    data = TensorDataset(gg.arange(10), gg.arange(10) * 2)
    sampler = DistributedSampler(data, num_replicas=3, rank=1, shuffle=False)
    loader = DataLoader(data, batch_size=2, sampler=sampler)
    assert len(loader) == 2 == len(torch.utils.data.DataLoader(range(10), batch_size=2, sampler=sampler))
    assert [(x.tolist(), y.tolist()) for x, y in loader] == [([1, 4], [2, 8]), ([7, 0], [14, 0])]
    with pytest.raises(ValueError, match="DataLoader: sampler option is mutually exclusive with shuffle"):
        DataLoader(data, batch_size=2, sampler=sampler, shuffle=True)
    with pytest.raises(TypeError, match="DataLoader: the sampler needs __iter__ and __len__"):
        DataLoader(data, sampler=3)


def test_defaults_come_from_the_process_group() -> None:
    pytest.importorskip("mpi4py")
    import glassgrad.distributed as dist

    with pytest.raises(RuntimeError, match="DistributedSampler: num_replicas and rank default to the process group"):
        DistributedSampler(range(4))
    dist.init_process_group("mpi")
    try:
        sampler = DistributedSampler(range(4), shuffle=False)
        assert (sampler.num_replicas, sampler.rank, list(sampler)) == (1, 0, [0, 1, 2, 3])
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"num_replicas": 2, "rank": 2}, ValueError, r"Invalid rank 2, rank should be in the interval \[0, 1\]"),
        ({"num_replicas": 2, "rank": -1}, ValueError, "Invalid rank -1"),
        ({"num_replicas": 0, "rank": 0}, ValueError, "num_replicas must be positive"),
        ({"num_replicas": 2.0, "rank": 0}, TypeError, "num_replicas must be an int"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        DistributedSampler(range(4), **kwargs)
    if error is ValueError and kwargs["num_replicas"] > 0:
        with pytest.raises(ValueError, match=words):
            torch.utils.data.DistributedSampler(range(4), **kwargs)
    with pytest.raises(TypeError, match="set_epoch: epoch must be an int"):
        DistributedSampler(range(4), 1, 0).set_epoch(1.5)
