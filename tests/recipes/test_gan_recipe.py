"""The gan recipe: alternating updates run, sample grids are written, and the
quality measure counts confident classifications."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

import glassgrad as gg
from glassgrad import data
from glassgrad.recipes import get_recipe
from glassgrad.recipes.common import loaders
from glassgrad.recipes.gan import confident_share
from glassgrad.training import Trainer


def test_one_short_epoch_updates_both_players_and_writes_a_grid(tmp_path) -> None:
    recipe = get_recipe("gan")
    config = recipe.config(epochs=1)
    task = recipe.build(config)
    task.train_loader, _ = loaders(data.Subset(task.train_loader.dataset, range(256)), None, config)
    before = {name: [p.detach().numpy().copy() for p in m.parameters()] for name, m in task.modules().items()}
    summary = Trainer(task, config, tmp_path, progress=False).fit()
    for name, module in task.modules().items():
        changed = [
            not np.array_equal(a, p.detach().numpy()) for a, p in zip(before[name], module.parameters(), strict=True)
        ]
        assert all(changed), f"gan: some {name} parameters did not move"
    assert math.isfinite(summary.final["train_loss"]) and math.isfinite(summary.final["train_g_loss"])
    grid = Image.open(tmp_path / "samples_epoch_001.png")
    assert grid.mode == "L" and grid.size == (8 * 30 + 2, 8 * 30 + 2)


def test_confident_share_counts_samples_above_0_9_and_their_classes() -> None:
    class Fixed(gg.nn.Module):
        """Logits chosen per sample: two confident (classes 3 and 7), one unsure."""

        def forward(self, x: gg.Tensor) -> gg.Tensor:
            logits = np.zeros((3, 10))
            logits[0, 3], logits[1, 7], logits[2, 1] = 10.0, 10.0, 1.0
            return gg.tensor(logits)

    share, classes = confident_share(gg.zeros(3, 1, 28, 28), Fixed())
    assert share == 2 / 3 and classes == 2
