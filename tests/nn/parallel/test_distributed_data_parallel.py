"""DistributedDataParallel in one process (world size 1), its bucket assignment against PyTorch's,
and the engine hook it starts buckets from (Tensor.register_post_accumulate_grad_hook). The
two-rank checks are in tests/distributed/test_two_ranks.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributed

import glassgrad as gg
import glassgrad.distributed as dist
from glassgrad import nn
from glassgrad.nn.parallel import DistributedDataParallel
from glassgrad.nn.parallel.reducer import assign_buckets

pytest.importorskip("mpi4py")


@pytest.fixture
def group():
    dist.init_process_group("mpi")
    yield
    dist.destroy_process_group()


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def test_bucket_assignment_is_pytorchs() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(1, 10))
        sizes, kinds = rng.integers(1, 300_000, size=k), rng.integers(0, 2, size=k)
        cap = float(rng.choice([0.25, 1, 2, 25]))
        ours = [gg.zeros(int(n), dtype=(gg.float32, gg.float64)[d]) for n, d in zip(sizes, kinds, strict=True)]
        theirs = [
            torch.empty(int(n), dtype=(torch.float32, torch.float64)[d]) for n, d in zip(sizes, kinds, strict=True)
        ]
        cap_bytes = int(cap * 1024 * 1024)
        limits = [1024 * 1024, cap_bytes] if cap_bytes > 1024 * 1024 else [cap_bytes]
        buckets, _ = torch.distributed._compute_bucket_assignment_by_size(theirs, limits, [False] * k)
        assert assign_buckets(ours, cap) == [list(b) for b in reversed(buckets)]  # DDP reverses them


def test_wrapper_as_pytorch(group) -> None:
    model = mlp()
    ddp = DistributedDataParallel(model)
    assert ddp.module is model and list(ddp.parameters()) == list(model.parameters())
    assert list(ddp.state_dict()) == [f"module.{k}" for k in model.state_dict()]
    ddp.load_state_dict(ddp.state_dict())
    x = gg.tensor(np.random.default_rng(1).normal(size=(5, 3)))
    np.testing.assert_array_equal(ddp(x).detach().numpy(), model(x).detach().numpy())


def test_one_rank_trains_as_the_plain_model(group) -> None:
    gg.manual_seed(3)
    plain = mlp()
    gg.manual_seed(3)
    model = mlp()
    ddp = DistributedDataParallel(model, bucket_cap_mb=1e-5)
    rng = np.random.default_rng(2)
    opt, plain_opt = gg.optim.SGD(ddp.parameters(), lr=0.1), gg.optim.SGD(plain.parameters(), lr=0.1)
    for _ in range(2):
        x, y = gg.tensor(rng.normal(size=(4, 3))), gg.tensor(rng.normal(size=(4, 2)))
        for net, o in ((ddp, opt), (plain, plain_opt)):
            o.zero_grad()
            ((net(x) - y) ** 2).mean().backward()
            o.step()
    for a, b in zip(model.parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_buckets_start_during_backward(group, monkeypatch: pytest.MonkeyPatch) -> None:
    model = mlp()
    ddp = DistributedDataParallel(model, bucket_cap_mb=1e-5)  # one bucket per parameter, last layer first
    events: list[str] = []
    real = dist.all_reduce

    def recording(tensor, *args, **kwargs):
        events.append(f"all_reduce {tensor.numel()}")
        return real(tensor, *args, **kwargs)

    monkeypatch.setattr(dist, "all_reduce", recording)
    for name, p in model.named_parameters():
        p.register_post_accumulate_grad_hook(lambda p, name=name: events.append(f"grad {name}"))
    ddp(gg.ones(2, 3, dtype=gg.float64)).sum().backward()
    # each bucket starts as soon as its gradient is in, before backward reaches the first layer
    assert events == [
        "all_reduce 2", "grad 2.bias", "all_reduce 8", "grad 2.weight",
        "all_reduce 4", "grad 0.bias", "all_reduce 12", "grad 0.weight",
    ]  # fmt: skip


def test_no_sync_accumulates(group) -> None:
    model = mlp()
    ddp = DistributedDataParallel(model)
    x = gg.tensor(np.ones((2, 3)))
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
        ddp(x).sum().backward()
    once = model[0].weight.grad.numpy().copy()
    ddp(x).sum().backward()
    assert ddp.require_backward_grad_sync
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * once, rtol=1e-15)


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body, self.head, self.spare = nn.Linear(3, 3), nn.Linear(3, 1), nn.Linear(3, 1)

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        return self.head(self.body(x))


def test_unused_parameters(group) -> None:
    x = gg.ones(2, 3)
    ddp = DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
    for _ in range(2):  # the second forward finds the first reduction finished
        ddp(x).sum().backward()
    assert ddp.module.spare.weight.grad is None and ddp.module.head.weight.grad is not None
    strict = DistributedDataParallel(TwoHeads())
    strict(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"Expected to have finished reduction .* spare.weight, spare.bias"):
        strict(x)
    with gg.no_grad():
        strict(x)  # no gradient, no reduction to wait for


def test_bad_arguments(group) -> None:
    with pytest.raises(TypeError, match="DistributedDataParallel: module must be a glassgrad.nn.Module"):
        DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="bucket_cap_mb must be a positive number, got 0"):
        DistributedDataParallel(mlp(), bucket_cap_mb=0)
    with pytest.raises(RuntimeError, match="no parameter that requires grad"):
        DistributedDataParallel(mlp().requires_grad_(False))
    with pytest.raises(ValueError, match="only the default process group"):
        DistributedDataParallel(mlp(), process_group="world")
    with pytest.raises(ValueError, match="device_ids must name at most one device"):
        DistributedDataParallel(mlp(), device_ids=[0, 1])


def test_needs_a_process_group() -> None:
    with pytest.raises(ValueError, match="DistributedDataParallel: Default process group has not been initialized"):
        DistributedDataParallel(mlp())


def test_post_accumulate_grad_hook_as_pytorch() -> None:
    seen, torch_seen = [], []
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    remove = w.register_post_accumulate_grad_hook(lambda p: seen.append((p is w, p.grad.numpy().tolist())))
    handle = tw.register_post_accumulate_grad_hook(lambda p: torch_seen.append((p is tw, p.grad.tolist())))
    for _ in range(2):  # w used twice: one call, after the sum; the second backward accumulates
        (w * w + 3 * w).sum().backward()
        (tw * tw + 3 * tw).sum().backward()
    (w * 2).sum().backward(inputs=[w])
    (tw * 2).sum().backward(inputs=[tw])
    gg.autograd.grad((w * 2).sum(), w)  # no .grad accumulated: no call
    torch.autograd.grad((tw * 2).sum(), tw)
    assert seen == torch_seen and len(seen) == 3
    remove()
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 3
    with pytest.raises(RuntimeError, match="register_post_accumulate_grad_hook: only leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (tw * 2).register_post_accumulate_grad_hook(print)
