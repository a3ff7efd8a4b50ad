"""mlp-bce: 10→64→64→1 (ReLU, ReLU, sigmoid) binary classifier, Adam, BCE — on random labels.

Inputs are uniform in [0, 1)¹⁰ and labels are coin flips (Keras' classic example),
so there is nothing to learn: the network starts memorising the 800 training
samples — train accuracy climbs (about 75–80% after 100 epochs, in PyTorch as here;
it keeps climbing with more epochs) — while validation accuracy stays near 50%.
A lesson in overfitting: 4,929 parameters are enough to memorise 800 coin flips.
"""

from __future__ import annotations

from .. import nn
from ..engine import creation
from ..training.accuracy import binary_correct
from ..training.config import TrainConfig
from ..training.task import SupervisedTask
from .common import split, supervised_task
from .registry import Recipe, register

SAMPLES = 1000


def build_model() -> nn.Sequential:
    """4,929 parameters: 10·64+64 + 64·64+64 + 64+1."""
    return nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid())


def build(config: TrainConfig) -> SupervisedTask:
    x = creation.rand(SAMPLES, 10)
    y = creation.randint(0, 2, (SAMPLES, 1)).float()
    train, val = split(x, y, val_fraction=0.2)
    return supervised_task(build_model(), nn.BCELoss(), train, val, config, binary_correct)


RECIPE = register(
    Recipe(
        "mlp-bce",
        "10→64→64→1 sigmoid MLP, Adam, BCE on random labels: overfits train, stays ~50% on validation",
        TrainConfig(epochs=100, batch_size=32, lr=0.001, optimizer="adam"),
        build,
    )
)
