"""Every schedule's learning rates against torch.optim.lr_scheduler over 30 epochs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import optim
from glassgrad.optim import lr_scheduler as ours

SCHEDULES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 10, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=30, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=8)),
]


def _lrs(module, opt_module, name: str, options: dict, epochs: int = 30) -> list[float]:
    p = torch.zeros(1, requires_grad=True) if opt_module is torch.optim else gg.zeros(1, requires_grad=True)
    opt = opt_module.SGD([p], lr=0.1)
    sched = getattr(module, name)(opt, **options)
    out = []
    for _ in range(epochs):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


@pytest.mark.parametrize(("name", "options"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_matches_torch(name: str, options: dict) -> None:
    got = _lrs(ours, optim, name, options)
    want = _lrs(torch.optim.lr_scheduler, torch.optim, name, options)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_lambda_lr() -> None:
    def fn(epoch: int) -> float:
        return 0.95**epoch

    got = _lrs(ours, optim, "LambdaLR", {"lr_lambda": fn})
    want = _lrs(torch.optim.lr_scheduler, torch.optim, "LambdaLR", {"lr_lambda": fn})
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_reduce_on_plateau_matches_torch() -> None:
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7] * 2
    lrs = []
    for module, opt_module, p in (
        (ours, optim, gg.zeros(1, requires_grad=True)),
        (torch.optim.lr_scheduler, torch.optim, torch.zeros(1, requires_grad=True)),
    ):
        opt = opt_module.SGD([p], lr=0.1)
        sched = module.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.01)
        seq = []
        for m in metrics:
            sched.step(m)
            seq.append(opt.param_groups[0]["lr"])
        lrs.append(seq)
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=1e-12)


def test_bad_scheduler_arguments() -> None:
    opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        ours.StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="Optimizer"):
        ours.StepLR(object(), step_size=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "options"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_state_dict_round_trip_continues_the_schedule(name: str, options: dict, tmp_path) -> None:
    def make() -> tuple:
        opt = optim.SGD([gg.zeros(1, requires_grad=True)], lr=0.1)
        return opt, getattr(ours, name)(opt, **options)

    opt_a, sched_a = make()
    for _ in range(6):
        sched_a.step()
    gg.save({"optimizer": opt_a.state_dict(), "scheduler": sched_a.state_dict()}, tmp_path / "s.ckpt")
    state = gg.load(tmp_path / "s.ckpt")
    opt_b, sched_b = make()
    opt_b.load_state_dict(state["optimizer"])
    sched_b.load_state_dict(state["scheduler"])
    assert sched_b.get_last_lr() == sched_a.get_last_lr()
    for _ in range(10):
        sched_a.step()
        sched_b.step()
        assert sched_b.get_last_lr() == sched_a.get_last_lr()
        assert opt_b.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]


def test_reduce_on_plateau_state_dict_round_trip() -> None:
    opt_a = optim.SGD([gg.zeros(1, requires_grad=True)], lr=0.1)
    sched_a = ours.ReduceLROnPlateau(opt_a, patience=1, factor=0.5)
    for m in (1.0, 1.0, 1.0):
        sched_a.step(m)
    opt_b = optim.SGD([gg.zeros(1, requires_grad=True)], lr=0.1)
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b = ours.ReduceLROnPlateau(opt_b, patience=1, factor=0.5)
    sched_b.load_state_dict(sched_a.state_dict())
    for m in (1.0, 1.0, 0.5, 0.5, 0.5):
        sched_a.step(m)
        sched_b.step(m)
        assert sched_b.get_last_lr() == sched_a.get_last_lr()
    assert sched_a.get_last_lr()[0] < 0.05
