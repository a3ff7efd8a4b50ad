"""``train --watch grads,activations``: per-layer gradient norms and activation statistics in the metrics
files, the gradient-flow plot, and vanishing gradients made visible."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

import glassgrad as gg
from glassgrad import nn, optim
from glassgrad.cli import main
from glassgrad.data import DataLoader, TensorDataset
from glassgrad.training import SupervisedTask, TrainConfig, Trainer
from glassgrad.training.plots import plot_gradient_flow

LAYER_COLUMNS = ("layer_grad_norm_mean", "layer_grad_norm_max", "activation_mean", "activation_std")
PARAM_COLUMNS = ("grad_norm_mean", "grad_norm_max")


def test_watch_writes_every_layer_into_both_metrics_files_and_draws_the_gradient_flow(tmp_path, capsys) -> None:
    args = ["train", "mlp-tiny", "--epochs", "2", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--watch", "grads,activations"]) == 0
    out = capsys.readouterr().out
    assert "gradient_flow.png" in out and "grad_norm" not in out  # the epoch lines stay short
    rows = json.loads((tmp_path / "metrics.json").read_text())
    csv_rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == [1, 2]
    expected = {f"{c}/{layer}" for c in LAYER_COLUMNS for layer in ("0", "2")}  # the two Linear layers of 3→2→1
    expected |= {f"{c}/{p}" for c in PARAM_COLUMNS for p in ("0.weight", "0.bias", "2.weight", "2.bias")}
    for row, csv_row in zip(rows, csv_rows, strict=True):
        watched = {k for k in row if "/" in k}
        assert watched == expected
        for key in watched:
            assert math.isfinite(row[key]) and float(csv_row[key]) == pytest.approx(row[key], rel=1e-12)
            if "grad_norm" in key or "std" in key:
                assert row[key] > 0
        for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
            assert row[f"grad_norm_max/{name}"] >= row[f"grad_norm_mean/{name}"]
        for layer, params in (("0", ("0.weight", "0.bias")), ("2", ("2.weight", "2.bias"))):
            # ‖dL/dθ‖ = √(Σ‖dL/dp‖²) per step, so its mean lies between the largest part's mean and the sum
            means = [row[f"grad_norm_mean/{p}"] for p in params]
            assert max(means) <= row[f"layer_grad_norm_mean/{layer}"] <= sum(means) * (1 + 1e-12)
    assert (tmp_path / "gradient_flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "metrics.png").exists()


def test_without_watch_there_are_no_watch_columns_and_no_gradient_flow(tmp_path) -> None:
    assert main(["train", "mlp-tiny", "--epochs", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    assert not any("/" in k for k in json.loads((tmp_path / "metrics.json").read_text())[0])
    assert not (tmp_path / "gradient_flow.png").exists()


@pytest.mark.parametrize("value", ["foo", "grads,foo", "grads,"])
def test_bad_watch_values_are_an_argparse_error_naming_the_choices(tmp_path, capsys, value: str) -> None:
    bad = value.split(",")[-1]
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "mlp-tiny", "--out", str(tmp_path / "run"), "--watch", value])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"python -m glassgrad train: --watch: invalid choice: {bad!r} (choose from grads, activations) (see --help)\n"
    )
    assert not (tmp_path / "run").exists()


def full_batch_task(model: nn.Module, n: int = 32, seed: int = 0) -> SupervisedTask:
    """One step per epoch (the whole training set is one batch), and a test set of other inputs."""
    rng = np.random.default_rng(seed)
    width = model[0].in_features
    x, y = (gg.tensor(rng.standard_normal((n, d)), dtype=gg.float32) for d in (width, 1))
    x_test, y_test = (gg.tensor(rng.standard_normal((8, d)) * 5, dtype=gg.float32) for d in (width, 1))
    train = DataLoader(TensorDataset(x, y), batch_size=n)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=8)
    return SupervisedTask(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), train, test)


def test_the_numbers_are_the_step_s_gradient_norms_and_the_training_activations(tmp_path) -> None:
    """With one full-batch step per epoch, epoch 1 holds the norms of the gradients at the initial weights
    and the statistics of the layers' outputs on the training inputs (the test forwards are not counted)."""
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1))
    twin = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1))
    twin.load_state_dict(model.state_dict())
    task = full_batch_task(model)
    ((x, y),) = list(task.train_loader)
    hidden = twin[0](x)
    loss = nn.MSELoss()(twin[2](twin[1](hidden)), y)
    loss.backward()
    config = TrainConfig(epochs=2, batch_size=32, lr=0.1, optimizer="sgd")
    Trainer(task, config, tmp_path, progress=False, watch=("grads", "activations")).fit()
    row = json.loads((tmp_path / "metrics.json").read_text())[0]
    for name, p in twin.named_parameters():
        norm = np.linalg.norm(p.grad.numpy().astype(np.float64))
        assert row[f"grad_norm_mean/{name}"] == pytest.approx(norm, rel=1e-5)
        assert row[f"grad_norm_max/{name}"] == pytest.approx(norm, rel=1e-5)
    layer0 = math.sqrt(sum(np.sum(p.grad.numpy().astype(np.float64) ** 2) for p in twin[0].parameters()))
    assert row["layer_grad_norm_mean/0"] == pytest.approx(layer0, rel=1e-5)
    h = hidden.detach().numpy().astype(np.float64)
    assert row["activation_mean/0"] == pytest.approx(h.mean(), rel=1e-5)
    assert row["activation_std/0"] == pytest.approx(h.std(), rel=1e-5)
    # the hooks and the optimizer's wrapped step are gone after fit
    assert not any(m._forward_hooks for m in model.modules()) and "step" not in vars(task.optimizer)


def test_a_deep_sigmoid_network_shows_vanishing_gradients(tmp_path) -> None:
    """sigmoid' ≤ 1/4: through 8 sigmoid layers the gradient reaching the first layer is orders of
    magnitude smaller than the last layer's, in the metrics and in the plot."""
    layers: list[nn.Module] = []
    for _ in range(8):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    config = TrainConfig(epochs=2, batch_size=32, lr=0.1, optimizer="sgd")
    Trainer(full_batch_task(model), config, tmp_path, progress=False, watch=("grads",)).fit()
    rows = json.loads((tmp_path / "metrics.json").read_text())
    assert not any(k.startswith("activation_") for k in rows[0])  # only what was asked for
    for row in rows:
        first, last = row["layer_grad_norm_mean/0"], row["layer_grad_norm_mean/16"]
        assert 0 < first < 1e-3 * last
    drawn = plot_gradient_flow(rows, tmp_path / "again.png")
    assert drawn["layers"] == [str(i) for i in range(0, 17, 2)] and drawn["epochs"] == [1, 2]
    norms = [drawn["norms"][layer][0] for layer in drawn["layers"]]
    assert norms[0] < norms[4] < norms[-1]  # the gradient shrinks on its way back to the input
    assert (tmp_path / "gradient_flow.png").exists()


def test_the_trainer_rejects_an_unknown_watch(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(2, 1))
    config = TrainConfig(epochs=1, batch_size=4, lr=0.1, optimizer="sgd")
    with pytest.raises(ValueError, match=r"Trainer: unknown watch 'grad' \(choose from grads, activations\)"):
        Trainer(full_batch_task(model), config, tmp_path, watch=("grad",))
    with pytest.raises(ValueError, match="plot_gradient_flow: no layer_grad_norm_mean/"):
        plot_gradient_flow([{"epoch": 1, "train_loss": 1.0}], tmp_path / "x.png")
