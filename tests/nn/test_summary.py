"""nn.summary: layer rows with output shapes and parameter counts, totals, and no
side effects on the model (mode, hooks, batch-norm statistics)."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
from glassgrad import nn


def test_summary_of_mlp_bce_recipe() -> None:
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid())
    printed: list[str] = []
    text = nn.summary(model, (10,), print_fn=printed.append)
    assert printed == [text]
    rows = [line.split() for line in text.splitlines()]
    assert ["Linear-1", "[-1,", "64]", "704"] in rows
    assert ["Linear-2", "[-1,", "64]", "4,160"] in rows
    assert ["Linear-3", "[-1,", "1]", "65"] in rows
    assert ["Sigmoid-1", "[-1,", "1]", "0"] in rows
    assert "Total params: 4,929" in text and "Trainable params: 4,929" in text
    assert "Non-trainable params: 0" in text


def test_summary_counts_frozen_parameters_and_leaves_model_untouched() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.Linear(4, 2)))
    model[0].requires_grad_(False)
    hooks_before = [len(m._forward_hooks) for m in model.modules()]
    text = nn.summary(model, (3,), batch_size=5, print_fn=None)
    assert "[5, 4]" in text and "Total params: 34" in text
    assert "Trainable params: 18" in text and "Non-trainable params: 16" in text
    assert model.training and [len(m._forward_hooks) for m in model.modules()] == hooks_before
    np.testing.assert_array_equal(model[1].running_mean.numpy(), 0)
    assert model[1].num_batches_tracked.item() == 0


def test_summary_with_two_inputs_and_tuple_output() -> None:
    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(2, 3), nn.Linear(4, 1)

        def forward(self, x: gg.Tensor, y: gg.Tensor) -> tuple[gg.Tensor, gg.Tensor]:
            return self.a(x), self.b(y)

    text = nn.summary(TwoHeads(), [(2,), (4,)], print_fn=None)
    assert "Total params: 14" in text and "[-1, 3]" in text and "[-1, 1]" in text


def test_summary_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="model must be a Module"):
        nn.summary(lambda x: x, (3,))
    with pytest.raises(ValueError, match="input_size must be a shape of positive ints"):
        nn.summary(nn.Linear(2, 2), (0, 2))
    with pytest.raises(ValueError, match="batch_size must be positive or -1"):
        nn.summary(nn.Linear(2, 2), (2,), batch_size=0)
