"""Mixed-precision training: an MLP on scikit-learn's digits trained by the supervised task in fp32, bf16
(autocast) and fp16 (autocast + GradScaler) from the same weights and batches reaches the same test
accuracy within 3 points; TrainConfig and the train command take --precision."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import glassgrad as gg
import glassgrad.nn as nn
from glassgrad.commands import train as train_command
from glassgrad.data import DataLoader, TensorDataset
from glassgrad.training.accuracy import multiclass_correct
from glassgrad.training.config import TrainConfig
from glassgrad.training.task import SupervisedTask

MARGIN = 0.03  # test accuracy of bf16/fp16 within 3 points of fp32 (397 test digits: 12 digits)


def _train(precision: str, data: tuple[np.ndarray, ...]) -> tuple[float, SupervisedTask]:
    x_train, y_train, x_test, y_test = data
    gg.manual_seed(0)  # same initial weights and batch order for every precision
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    task = SupervisedTask(
        model,
        nn.CrossEntropyLoss(),
        gg.optim.Adam(model.parameters(), lr=1e-2),
        DataLoader(TensorDataset(gg.tensor(x_train), gg.tensor(y_train)), batch_size=64, shuffle=True),
        count_correct=multiclass_correct,
        precision=precision,
    )
    for _ in range(3):
        for batch in task.train_loader:
            task.train_step(batch)
    result = task.eval_step((gg.tensor(x_test), gg.tensor(y_test)))
    return float(result.correct.item()) / result.count, task


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))  # the file is sorted by writer: mix them
    x, y = x[order], y[order]
    return x[:1400], y[:1400].astype(np.int64), x[1400:], y[1400:].astype(np.int64)


def test_bf16_and_fp16_train_to_the_fp32_accuracy(digits) -> None:
    fp32, task32 = _train("fp32", digits)
    bf16, task16 = _train("bf16", digits)
    fp16, task_half = _train("fp16", digits)
    assert fp32 > 0.93
    assert abs(bf16 - fp32) <= MARGIN and abs(fp16 - fp32) <= MARGIN, (fp32, bf16, fp16)
    assert not task32.scaler.is_enabled() and not task16.scaler.is_enabled() and task_half.scaler.is_enabled()
    assert all(p.dtype == gg.float32 for p in task16.model.parameters())  # the master weights stay float32
    with task16._autocast():
        assert task16.model(gg.tensor(digits[2][:2])).dtype == gg.bfloat16


def test_precision_is_a_validated_setting_and_a_train_flag() -> None:
    config = TrainConfig(epochs=1, batch_size=8, lr=0.1, optimizer="sgd")
    assert config.precision == "fp32" and config.replace(precision="bf16").precision == "bf16"
    with pytest.raises(ValueError, match="precision must be one of"):
        config.replace(precision="fp8")
    import argparse

    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    assert parser.parse_args(["linreg", "--precision", "fp16"]).precision == "fp16"
    with pytest.raises(SystemExit):
        parser.parse_args(["linreg", "--precision", "int8"])


def test_language_model_task_unscales_before_clipping_in_fp16() -> None:
    from glassgrad.training.language_model import LanguageModelTask

    gg.manual_seed(0)
    model = nn.Sequential(nn.Embedding(11, 8), nn.Linear(8, 11))
    ids = gg.randint(0, 11, (4, 6))
    batch = (ids[:, :-1], ids[:, 1:])
    task = LanguageModelTask(model, gg.optim.SGD(model.parameters(), lr=0.5), [batch], None, None, precision="fp16")
    assert task.scaler.is_enabled()
    before = model[1].weight.detach().numpy().copy()
    for _ in range(3):  # the first steps may overflow at 2^16 and be skipped (the scale backs off)
        task.train_step(batch)
    moved = np.abs(model[1].weight.detach().numpy() - before).max()
    # clipped to norm 1 after unscaling: at most lr per step; clipping the scaled gradients would move ~lr/2^15
    assert 1e-2 < moved <= 3 * 0.5 + 1e-6, moved
    with pytest.raises(ValueError, match="precision must be fp32, bf16 or fp16"):
        LanguageModelTask(model, task.optimizer, [batch], None, None, precision="fp8")
