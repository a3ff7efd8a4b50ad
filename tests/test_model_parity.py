"""Whole-model parity with PyTorch: the mlp-bce and mnist-cnn recipes' models start
from a PyTorch twin's initial weights, see the same batches, and take 50 steps of
SGD with momentum or Adam; the per-step losses must agree (float64 to 1e-9
relative, float32 to 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn, optim
from glassgrad.recipes import mlp_bce, mnist_cnn
from glassgrad.recipes.common import mnist_datasets

STEPS = 50
RTOL = {"float64": 1e-9, "float32": 1e-4}
OPTIMIZERS = {
    "sgd-momentum": (
        lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    ),
    "adam": (lambda p: optim.Adam(p, lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3)),
}


def torch_mlp_bce() -> torch.nn.Sequential:
    L = torch.nn
    return L.Sequential(L.Linear(10, 64), L.ReLU(), L.Linear(64, 64), L.ReLU(), L.Linear(64, 1), L.Sigmoid())


def torch_mnist_cnn() -> torch.nn.Sequential:
    L = torch.nn
    return L.Sequential(
        L.Conv2d(1, 32, 3), L.ReLU(), L.MaxPool2d(2),
        L.Conv2d(32, 64, 3), L.ReLU(), L.MaxPool2d(2),
        L.Conv2d(64, 64, 3), L.ReLU(), L.Flatten(),
        L.Linear(576, 64), L.ReLU(), L.Linear(64, 10),
    )  # fmt: skip


def mlp_bce_batches(batch_size: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    return [
        (rng.random((batch_size, 10)), rng.integers(0, 2, (batch_size, 1)).astype(np.float64)) for _ in range(STEPS)
    ]


def mnist_batches(batch_size: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    train, _ = mnist_datasets(None)
    images, labels = (t.numpy() for t in train.tensors)
    cut = lambda a, i: a[i * batch_size : (i + 1) * batch_size]  # noqa: E731
    return [(cut(images, i), cut(labels, i)) for i in range(STEPS)]


MODELS = {
    "mlp-bce": (mlp_bce.build_model, torch_mlp_bce, nn.BCELoss, torch.nn.BCELoss, mlp_bce_batches),
    "mnist-cnn": (
        mnist_cnn.build_model,
        torch_mnist_cnn,
        nn.CrossEntropyLoss,
        torch.nn.CrossEntropyLoss,
        mnist_batches,
    ),
}


def loss_curves(model_name: str, optimizer_name: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    build, build_twin, loss_gg, loss_torch, batches = MODELS[model_name]
    make_gg, make_torch = OPTIMIZERS[optimizer_name]
    torch.manual_seed(0)
    twin = build_twin().to(getattr(torch, dtype))
    model = build().to(getattr(gg, dtype))
    model.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    opt_gg, opt_torch = make_gg(model.parameters()), make_torch(twin.parameters())
    criterion_gg, criterion_torch = loss_gg(), loss_torch()
    ours, theirs = [], []
    for x, y in batches():
        x = x.astype(dtype)
        y = y.astype(dtype) if y.dtype.kind == "f" else y
        loss = criterion_gg(model(gg.tensor(x)), gg.tensor(y))
        opt_gg.zero_grad()
        loss.backward()
        opt_gg.step()
        ours.append(loss.item())
        ref = criterion_torch(twin(torch.tensor(x)), torch.tensor(y))
        opt_torch.zero_grad()
        ref.backward()
        opt_torch.step()
        theirs.append(ref.item())
    return np.array(ours), np.array(theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer_name", list(OPTIMIZERS))
@pytest.mark.parametrize(
    "model_name",
    ["mlp-bce", "mnist-cnn"],
)
def test_losses_agree_step_for_step(model_name: str, optimizer_name: str, dtype: str) -> None:
    ours, theirs = loss_curves(model_name, optimizer_name, dtype)
    assert len(ours) == len(theirs) == STEPS
    np.testing.assert_allclose(ours, theirs, rtol=RTOL[dtype], atol=0, err_msg=f"{model_name} {optimizer_name} {dtype}")
