"""Module machinery: registration, walks, state_dict round trips and load errors,
train/eval, dtype conversion, hooks, zero_grad, apply, containers and repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(gg.ones(1))
        self.register_buffer("steps", gg.zeros(1))
        self.register_buffer("cache", gg.zeros(2), persistent=False)
        self.plain = [1, 2]  # not a parameter: stays a plain attribute

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        return self.bn(self.fc(x)) * self.scale


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.bn = torch.nn.BatchNorm1d(4)
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def test_registration_and_names_match_torch() -> None:
    model, twin = (
        nn.Sequential(Block(), nn.ReLU(), nn.Linear(4, 2)),
        torch.nn.Sequential(TorchBlock(), torch.nn.ReLU(), torch.nn.Linear(4, 2)),
    )
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in twin.named_buffers()]
    assert list(model.state_dict()) == list(twin.state_dict())
    assert [n for n, _ in model.named_modules()] == [n for n, _ in twin.named_modules()]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert len(list(model[0].parameters(recurse=False))) == 1
    assert model[0].plain == [1, 2] and "plain" not in dict(model[0].named_parameters())


def test_shared_parameters_are_listed_once() -> None:
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3


def test_reassigning_an_attribute_changes_its_kind() -> None:
    block = Block()
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        block.scale = gg.ones(1)
    block.fc = nn.Identity()
    assert "fc.weight" not in block.state_dict()
    del block.bn
    assert not hasattr(block, "bn")


def test_assignment_before_init_is_a_clear_error() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_state_dict_round_trip_into_fresh_model() -> None:
    a, b = Block(), Block()
    with gg.no_grad():
        a.fc.weight.mul_(3)
    a.bn.running_mean.fill_(0.5)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    assert b.state_dict()["bn.num_batches_tracked"].dtype == np.int64
    # loaded in place: the Parameter objects (held by optimizers) are the same ones
    assert isinstance(b.fc.weight, nn.Parameter)


def test_state_dict_is_detached_and_shares_memory() -> None:
    layer = nn.Linear(2, 2)
    state = layer.state_dict()
    assert not state["weight"].requires_grad
    with gg.no_grad():
        layer.weight.fill_(1.0)
    assert state["weight"].numpy().max() == 1.0


def test_state_dict_loads_into_torch_and_back() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    model2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model2.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    np.testing.assert_array_equal(model2[0].weight.detach().numpy(), model[0].weight.detach().numpy())


def test_load_state_dict_errors_and_non_strict() -> None:
    model = nn.Linear(3, 2)
    before = model.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape \(2, 4\)"):
        model.load_state_dict({"weight": gg.zeros(2, 4), "bias": gg.zeros(2)})
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "bias"'):
        model.load_state_dict({"weight": gg.zeros(2, 3)})
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        model.load_state_dict({"weight": gg.zeros(2, 3), "bias": gg.zeros(2), "extra": gg.zeros(1)})
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)  # nothing was written
    result = model.load_state_dict({"weight": gg.zeros(2, 3), "extra": gg.zeros(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert model.weight.detach().numpy().max() == 0
    model.load_state_dict({"weight": [[1.0, 2.0, 3.0]] * 2, "bias": np.ones(2)})  # lists and arrays load too
    assert model.weight.detach().numpy()[1, 2] == 3.0
    with pytest.raises(TypeError, match="expected a mapping"):
        model.load_state_dict([1, 2])


def test_train_eval_and_to_dtype() -> None:
    model = nn.Sequential(Block(), nn.Dropout())
    assert model.training and model[1].training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    weight = model[0].fc.weight
    model.double()
    assert model[0].fc.weight is weight and weight.dtype == np.float64
    assert model[0].bn.running_var.dtype == np.float64
    assert model[0].bn.num_batches_tracked.dtype == np.int64  # integers keep their dtype
    assert model(gg.randn(5, 3, dtype=gg.float64)).dtype == np.float64
    model.to(gg.float32)
    assert weight.dtype == np.float32
    with pytest.raises(TypeError, match="only floating point dtypes"):
        model.to(gg.int64)
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")


@pytest.mark.skipif(gg.cuda.is_available(), reason="checks the error raised without a GPU")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        nn.Linear(2, 2).cuda()


@pytest.mark.gpu
def test_cuda_round_trip_keeps_values() -> None:
    model = nn.Linear(3, 2)
    before = model.weight.detach().numpy().copy()
    model.cuda()
    assert model.weight.device == "cuda"
    assert model(gg.randn(4, 3, device="cuda")).device == "cuda"
    model.cpu()
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)


def test_zero_grad_and_requires_grad() -> None:
    model = nn.Linear(2, 1)
    model(gg.ones(3, 2)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.numpy().max() == 0
    model.zero_grad()
    assert model.weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_apply_visits_children_first() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_zero(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    model.apply(init_zero)
    assert model[0].weight.detach().numpy().max() == 0


def test_forward_hook_sees_and_can_replace_output() -> None:
    layer = nn.Linear(2, 3)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs[0].shape, out.shape)))
    layer(gg.ones(4, 2))
    assert seen == [(layer, (4, 2), (4, 3))]
    handle.remove()
    layer(gg.ones(4, 2))
    assert len(seen) == 1
    layer.register_forward_hook(lambda m, i, out: out * 0)
    assert layer(gg.ones(1, 2)).detach().numpy().max() == 0


def test_containers() -> None:
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1:], nn.Sequential)
    assert len(seq[1:]) == 2
    assert seq(gg.ones(5, 2)).shape == (5, 1)
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 modules"):
        seq[3]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]

    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(layers.parameters())) == 6 and "2.bias" in layers.state_dict()
    with pytest.raises(TypeError, match="expected a Module, got int"):
        layers.append(3)

    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 1)
    assert list(heads.keys()) == ["a", "b"] and "b" in heads
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    with pytest.raises(KeyError, match="no module named 'c'"):
        heads["c"]


def test_repr_matches_torch() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(8, 2, bias=False),
        nn.LayerNorm(2),
        nn.Embedding(4, 2, padding_idx=0),
    )
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(8, 2, bias=False),
        torch.nn.LayerNorm(2),
        torch.nn.Embedding(4, 2, padding_idx=0),
    )
    ours, theirs = repr(model).splitlines(), repr(twin).splitlines()
    assert ours == theirs
    assert repr(nn.Parameter(gg.ones(1))).startswith("Parameter containing:")


def test_parameter_basics() -> None:
    p = nn.Parameter(gg.ones(2, 2))
    assert p.requires_grad and p.is_leaf and isinstance(p, gg.Tensor)
    assert not nn.Parameter(gg.ones(1), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="only floating point"):
        nn.Parameter(gg.tensor([1, 2]))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'w'"):
        nn.Module().register_parameter("w", gg.ones(1))
