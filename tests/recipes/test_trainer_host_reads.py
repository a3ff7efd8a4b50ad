"""The trainer keeps per-step sums on the device: the host reads a value (``item()``)
only at the end of an epoch, or every ``log_every`` steps (and at an epoch's last
step, a read its metrics row reuses) for the progress bar."""

from __future__ import annotations

import pytest

import glassgrad as gg
from glassgrad.recipes import get_recipe
from glassgrad.training import Trainer


def count_item_calls(monkeypatch, progress: bool, log_every: int, tmp_path) -> tuple[int, int]:
    """(item() calls during fit, training steps taken) for two epochs of mlp-bce."""
    calls = []
    item = gg.Tensor.item
    monkeypatch.setattr(gg.Tensor, "item", lambda self: calls.append(1) or item(self))
    recipe = get_recipe("mlp-bce")
    config = recipe.config(epochs=2)
    task = recipe.build(config)
    Trainer(task, config, tmp_path, progress=progress, log_every=log_every).fit()
    return len(calls), 2 * len(task.train_loader)


def test_without_a_progress_bar_the_host_reads_once_per_metric_per_epoch(monkeypatch, tmp_path) -> None:
    reads, steps = count_item_calls(monkeypatch, progress=False, log_every=1, tmp_path=tmp_path)
    assert steps == 50
    assert reads == 2 * 4  # per epoch: train loss, train accuracy, test loss, test accuracy


@pytest.mark.parametrize("log_every", [5, 10])
def test_the_progress_bar_reads_every_log_every_steps(monkeypatch, tmp_path, log_every: int) -> None:
    reads, steps = count_item_calls(monkeypatch, progress=True, log_every=log_every, tmp_path=tmp_path)
    # per epoch: the two train sums every log_every steps and at the last step (that read is also the
    # epoch's row), and the two test sums once
    per_epoch = 2 * -(-(steps // 2) // log_every) + 2
    assert reads == 2 * per_epoch
