"""glassgrad.distributed in one process (world size 1: a process not started by mpiexec is rank 0 of
1): the group's life cycle, the collectives' results and every bad argument's exception."""

from __future__ import annotations

import datetime
import sys

import numpy as np
import pytest
import torch.distributed

import glassgrad as gg
import glassgrad.distributed as dist
from glassgrad.distributed.process_group import default_timeout
from glassgrad.distributed.work import Work

pytest.importorskip("mpi4py")


@pytest.fixture
def group():
    dist.init_process_group("mpi")
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_before_init_as_pytorch() -> None:
    assert dist.is_available() and not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, lambda: dist.all_reduce(gg.ones(2)), dist.destroy_process_group):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        torch.distributed.get_rank()  # the same type and words


def test_life_cycle(group) -> None:
    assert dist.is_initialized() and (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
    assert sys.excepthook is not sys.__excepthook__
    with pytest.raises(ValueError, match="init_process_group: trying to initialize the default process group twice"):
        dist.init_process_group("mpi")
    dist.destroy_process_group()
    assert not dist.is_initialized() and sys.excepthook is sys.__excepthook__
    dist.init_process_group(backend="MPI", timeout=datetime.timedelta(seconds=5), world_size=1, rank=0)
    assert dist.get_world_size() == 1


def test_collectives_on_one_rank(group) -> None:
    x = gg.tensor(np.arange(6.0).reshape(2, 3))
    for op in dist.ReduceOp:
        assert dist.all_reduce(x, op=op) is None
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    work = dist.all_reduce(x, async_op=True)
    assert isinstance(work, dist.Work) and work.wait() and work.is_completed()
    dist.broadcast(x, 0)
    out = [gg.zeros(2, 3, dtype=gg.float64)]
    dist.all_gather(out, x)
    np.testing.assert_array_equal(out[0].numpy(), x.numpy())
    got = gg.zeros(3)
    dist.reduce_scatter(got, [gg.tensor([1.0, 2.0, 3.0])], op=dist.ReduceOp.MAX)
    np.testing.assert_array_equal(got.numpy(), [1.0, 2.0, 3.0])
    assert dist.barrier() is None and dist.barrier(async_op=True).wait()


def test_a_leaf_that_requires_grad_is_reduced_in_place(group) -> None:
    w = gg.ones(3, requires_grad=True)
    dist.all_reduce(w, op=dist.ReduceOp.AVG)
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.detach().numpy(), np.ones(3))


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: dist.broadcast(gg.ones(2), 1), ValueError, "broadcast: src 1 is out of range for world size 1"),
        (lambda: dist.broadcast(gg.ones(2), -1), ValueError, "broadcast: src -1 is out of range"),
        (lambda: dist.broadcast(gg.ones(2)), ValueError, "broadcast: src .* is required"),
        (lambda: dist.broadcast(gg.ones(2), 0.0), TypeError, "broadcast: src must be an int"),
        (
            lambda: dist.all_gather([], gg.ones(2)),
            ValueError,
            "all_gather: tensor_list has 0 tensors, but the world size is 1",
        ),
        (
            lambda: dist.all_gather([gg.ones(3)], gg.ones(2)),
            ValueError,
            r"all_gather: tensor_list\[0\] has shape \(3,\)",
        ),
        (lambda: dist.all_gather((gg.ones(2),), gg.ones(2)), TypeError, "all_gather: tensor_list must be a list"),
        (lambda: dist.reduce_scatter(gg.ones(2), [gg.ones(2)] * 2), ValueError, "reduce_scatter: input_list has 2"),
        (lambda: dist.reduce_scatter(gg.ones(2), [gg.ones(2, dtype=gg.float64)]), ValueError, "dtype float64"),
        (lambda: dist.all_reduce(np.ones(2)), TypeError, "all_reduce: tensor must be a glassgrad Tensor, got ndarray"),
        (
            lambda: dist.all_reduce(gg.ones(2), op="sum"),
            TypeError,
            "all_reduce: op must be a glassgrad.distributed.ReduceOp",
        ),
        (lambda: dist.all_reduce(gg.ones(2, dtype=gg.int64), op=dist.ReduceOp.AVG), TypeError, "AVG needs a floating"),
        (lambda: dist.all_reduce(gg.ones(1).expand(3)), RuntimeError, "all_reduce: tensor is read-only"),
        (lambda: dist.all_reduce(gg.ones(2), async_op=1), TypeError, "all_reduce: async_op must be a bool"),
        (lambda: dist.all_reduce(gg.ones(2), group="world"), ValueError, "all_reduce: .*only the default group"),
        (lambda: dist.init_process_group("mpi"), ValueError, "twice"),
    ],
)
def test_bad_arguments(group, call, error, words) -> None:
    x = gg.ones(2)
    with pytest.raises(error, match=words):
        call()
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])
    dist.barrier()  # the group still works: nothing was started


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"backend": "gloo"},
            ValueError,
            "init_process_group: unknown backend 'gloo'; glassgrad.distributed has mpi, nccl",
        ),
        ({"timeout": datetime.timedelta(seconds=-1)}, ValueError, "timeout must be positive"),
        ({"timeout": "10s"}, TypeError, "timeout must be a datetime.timedelta"),
        ({"init_method": "tcp://10.0.0.1:23456"}, ValueError, "init_method 'tcp://10.0.0.1:23456' is not used"),
        ({"world_size": 2}, ValueError, "world_size=2, but mpiexec started this process as world_size 1"),
        ({"rank": 1}, ValueError, "rank=1, but mpiexec started this process as rank 0"),
    ],
)
def test_bad_init(kwargs, error, words) -> None:
    with pytest.raises(error, match=words):
        dist.init_process_group(**{"backend": "mpi", **kwargs})
    assert not dist.is_initialized()


def test_nccl_needs_cupy_and_a_gpu() -> None:
    if not gg.cuda.is_available():
        with pytest.raises(RuntimeError, match="init_process_group: backend 'nccl' needs (CuPy|a GPU)"):
            dist.init_process_group("nccl")
        assert not dist.is_initialized()
        return
    dist.init_process_group("nccl")  # one rank, one GPU
    try:
        x = gg.tensor([1.0, 2.0], device="cuda")
        dist.all_reduce(x, op=dist.ReduceOp.AVG)
        np.testing.assert_array_equal(x.cpu().numpy(), [1.0, 2.0])
        with pytest.raises(RuntimeError, match="all_reduce: tensor is on cpu, but the 'nccl' backend works on cuda"):
            dist.all_reduce(gg.ones(2))
    finally:
        dist.destroy_process_group()


def test_default_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLASSGRAD_DIST_TIMEOUT", raising=False)
    assert default_timeout() == 1800.0  # 30 minutes, as PyTorch
    monkeypatch.setenv("GLASSGRAD_DIST_TIMEOUT", "2.5")
    assert default_timeout() == 2.5
    monkeypatch.setenv("GLASSGRAD_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GLASSGRAD_DIST_TIMEOUT must be a number of seconds, got 'soon'"):
        dist.init_process_group("mpi")


def test_work_times_out_naming_the_collective() -> None:
    reasons: list[str] = []
    work = Work("all_gather", lambda: False, 0.05, on_timeout=reasons.append)
    assert not work.is_completed()
    with pytest.raises(RuntimeError, match=r"glassgrad.distributed.all_gather: timed out after 0.05 s"):
        work.wait()
    assert reasons and "all_gather" in reasons[0]
    with pytest.raises(RuntimeError, match="timed out after 0.01 s"):
        work.wait(timeout=datetime.timedelta(milliseconds=10))


def test_a_timed_out_group_refuses_further_collectives(group) -> None:
    from glassgrad.distributed import process_group

    process_group._mark_broken("glassgrad.distributed.all_reduce: timed out after 1 s")
    with pytest.raises(
        RuntimeError, match="barrier: the process group is unusable after an earlier failure: .*timed out"
    ):
        dist.barrier()


def test_excepthook_names_the_rank(group, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise KeyError("lost")
    except KeyError as error:
        sys.excepthook(KeyError, error, error.__traceback__)  # one rank: the message, no abort
    err = capsys.readouterr().err
    assert "Traceback" in err and "glassgrad.distributed: rank 0 raised KeyError: 'lost'" in err
