"""softmax-regression: one linear layer 784→10 on MNIST pixels, cross-entropy, SGD.

    p = softmax(W x + b),   L = −log p_y,   ∂L/∂logits = p − onehot(y)

The linear baseline every MNIST model should beat (about 90% on the offline subset).
"""

from __future__ import annotations

from .. import nn
from ..training.accuracy import multiclass_correct
from ..training.config import TrainConfig
from ..training.task import SupervisedTask
from .common import check_mnist_dir, mnist_datasets, supervised_task
from .registry import Recipe, register


def build_model() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def build(config: TrainConfig) -> SupervisedTask:
    train, test = mnist_datasets(config.data_dir)
    return supervised_task(build_model(), nn.CrossEntropyLoss(), train, test, config, multiclass_correct)


RECIPE = register(
    Recipe(
        "softmax-regression",
        "784→10 linear classifier on MNIST, cross-entropy, SGD",
        TrainConfig(epochs=10, batch_size=64, lr=0.1, optimizer="sgd"),
        build,
        check_data=check_mnist_dir,
    )
)
