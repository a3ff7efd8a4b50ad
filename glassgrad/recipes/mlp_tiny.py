"""mlp-tiny: a 3→2→1 ReLU network fitted to a noisy linear target by plain SGD.

    y = x·(0.5, −0.3, 0.2) + 0.1 + 0.05 ε,   x, ε ~ N(0, 1),   1,280 samples (1,024 train / 256 test)

The smallest network with a hidden layer: small enough to print every weight.
"""

from __future__ import annotations

from .. import nn
from ..engine import creation
from ..training.config import TrainConfig
from ..training.task import SupervisedTask
from .common import split, supervised_task
from .registry import Recipe, register

SAMPLES = 1280


def build_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))


def build(config: TrainConfig) -> SupervisedTask:
    x = creation.randn(SAMPLES, 3)
    y = x @ creation.tensor([[0.5], [-0.3], [0.2]]) + 0.1 + 0.05 * creation.randn(SAMPLES, 1)
    train, test = split(x, y, val_fraction=0.2)
    return supervised_task(build_model(), nn.MSELoss(), train, test, config)


RECIPE = register(
    Recipe(
        "mlp-tiny",
        "3→2→1 ReLU MLP on a synthetic regression set, MSE, plain SGD",
        TrainConfig(epochs=20, batch_size=128, lr=0.1, optimizer="sgd"),
        build,
    )
)
