"""Checkpoints of a task with a per-step lr scheduler: k steps, save, restore into a
fresh task, m more steps gives bitwise the weights and lr of k + m steps in one go."""

from __future__ import annotations

import numpy as np

import glassgrad as gg
from glassgrad import nn, optim
from glassgrad.data import DataLoader, TensorDataset
from glassgrad.recipes.common import warmup_then_cosine
from glassgrad.training.checkpoint import load_checkpoint, save_checkpoint
from glassgrad.training.task import SupervisedTask

TOTAL = 12


def _task(precision: str = "fp32") -> SupervisedTask:
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    rng = np.random.default_rng(0)
    data = TensorDataset(gg.tensor(rng.standard_normal((40, 4)).astype(np.float32)), gg.tensor(rng.integers(0, 3, 40)))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, warmup_then_cosine(TOTAL))
    loader = DataLoader(data, batch_size=8)
    return SupervisedTask(model, nn.CrossEntropyLoss(), optimizer, loader, scheduler=scheduler, precision=precision)


def _steps(task: SupervisedTask, start: int, stop: int) -> None:
    """Steps start..stop-1, step i on batch i mod 5 (the loader is not shuffled)."""
    batches = list(task.train_loader)
    for i in range(start, stop):
        task.train_step(batches[i % len(batches)])


def test_scheduler_state_survives_a_checkpoint(tmp_path) -> None:
    straight = _task()
    _steps(straight, 0, 4)
    save_checkpoint(tmp_path / "ck.ggt", straight, epoch=1)
    _steps(straight, 4, 9)

    resumed = _task()
    assert load_checkpoint(tmp_path / "ck.ggt", resumed) == 1
    assert resumed.scheduler.last_epoch == 4
    _steps(resumed, 4, 9)
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_warmup_then_cosine_shape() -> None:
    factor = warmup_then_cosine(100, warmup_share=0.2)
    assert factor(0) == 0.0 and factor(10) == 0.5 and factor(20) == 1.0
    assert abs(factor(60) - 0.5) < 1e-12 and factor(100) == 0.0 and factor(150) == 0.0
    assert all(factor(t) >= factor(t + 1) for t in range(20, 100))


def test_fp16_loss_scale_survives_a_checkpoint(tmp_path) -> None:
    """The GradScaler's scale and growth tracker go into the checkpoint (a resumed fp16 run does not restart
    from the initial scale); an fp32 run's disabled scaler writes nothing."""
    straight = _task("fp16")
    _steps(straight, 0, 1)
    straight.scaler.update(1024.0)  # as if overflows had backed the scale off
    _steps(straight, 1, 4)
    save_checkpoint(tmp_path / "ck.ggt", straight, epoch=1)
    _steps(straight, 4, 7)

    resumed = _task("fp16")
    assert load_checkpoint(tmp_path / "ck.ggt", resumed) == 1
    assert resumed.scaler.state_dict() == gg.load(tmp_path / "ck.ggt")["scalers"]["scaler"]
    assert resumed.scaler.get_scale() == 1024.0 and resumed.scaler._get_growth_tracker() == 4  # 4 overflow-free steps
    _steps(resumed, 4, 7)
    assert resumed.scaler.state_dict() == straight.scaler.state_dict()
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())

    save_checkpoint(tmp_path / "fp32.ggt", _task(), epoch=1)
    assert gg.load(tmp_path / "fp32.ggt")["scalers"] == {}
