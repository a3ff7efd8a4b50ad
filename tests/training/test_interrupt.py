"""Ctrl-C in the training loop, in-process and at a chosen step: the partial epoch is
discarded, the last completed epoch is on disk even when it fell between two
checkpoint writes (kept in memory), the resumed run is bitwise the uninterrupted
one, and a second Ctrl-C aborts at once."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.recipes import get_recipe
from glassgrad.training import CHECKPOINT_NAME, Trainer

EPOCHS = 101  # > 100: the checkpoint is written every 2nd epoch
STEPS_PER_EPOCH = 8  # mlp-tiny: 1,024 samples, batch 128


def _task_and_config():
    recipe = get_recipe("mlp-tiny")
    config = recipe.config(epochs=EPOCHS)
    gg.manual_seed(config.seed)
    return recipe.build(config), config


def _interrupt_at(task, step: int, times: int = 1) -> None:
    """Make the task send itself SIGINT ``times`` times during its ``step``-th train step (1-based)."""
    original, count = task.train_step, [0]

    def train_step(batch):
        count[0] += 1
        if count[0] == step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
        return original(batch)

    task.train_step = train_step


def _arrays(path: Path) -> dict[str, np.ndarray]:
    state = gg.load(path)
    out = {f"{name}.{key}": value.numpy() for name, sd in state["modules"].items() for key, value in sd.items()}
    out["rng"] = np.frombuffer(state["rng"].encode(), dtype=np.uint8)
    out["epoch"] = np.asarray(state["epoch"])
    return out


def test_interrupt_between_two_writes_saves_the_epoch_kept_in_memory_and_resumes_exactly(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a shell's background job
    task, config = _task_and_config()
    _interrupt_at(task, 3 * STEPS_PER_EPOCH + 3)  # during epoch 4; epoch 3 was not written (odd)
    summary = Trainer(task, config, tmp_path / "run", progress=False).fit()
    assert summary.stopped and summary.discarded == 4 and summary.saved_epoch == 3
    assert summary.final["epoch"] == 3 and summary.epochs_run == 3
    assert gg.load(tmp_path / "run" / CHECKPOINT_NAME)["epoch"] == 3
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back

    resumed_task, _ = _task_and_config()
    resumed = Trainer(resumed_task, config, tmp_path / "run", progress=False).fit(resume=True)
    assert not resumed.stopped and resumed.epochs_run == EPOCHS - 3

    straight_task, _ = _task_and_config()
    Trainer(straight_task, config, tmp_path / "straight", progress=False).fit()
    a, b = _arrays(tmp_path / "straight" / CHECKPOINT_NAME), _arrays(tmp_path / "run" / CHECKPOINT_NAME)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    rows_a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    rows_b = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [r["train_loss"] for r in rows_a] == [r["train_loss"] for r in rows_b]
    assert [r["test_loss"] for r in rows_a] == [r["test_loss"] for r in rows_b]


def test_interrupt_in_the_first_epoch_saves_nothing(tmp_path: Path) -> None:
    task, config = _task_and_config()
    _interrupt_at(task, 2)
    summary = Trainer(task, config, tmp_path, progress=False).fit()
    assert summary.stopped and summary.discarded == 1 and summary.saved_epoch == 0
    assert not (tmp_path / CHECKPOINT_NAME).exists() and not (tmp_path / "metrics.json").exists()


def test_a_second_ctrl_c_aborts_at_once(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    task, config = _task_and_config()
    _interrupt_at(task, 5, times=2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(task, config, tmp_path, progress=False).fit()
    assert signal.getsignal(signal.SIGINT) is before
    assert not (tmp_path / CHECKPOINT_NAME).exists()
