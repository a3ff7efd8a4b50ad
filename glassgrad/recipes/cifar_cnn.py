"""cifar-cnn: the mnist-cnn shape on 32×32×3 CIFAR-10 images (122,570 parameters).

Shapes: 32 → 30 → 15 → 13 → 6 → 4, so Flatten gives 64·4·4 = 1,024 features.
Needs the CIFAR-10 binary files in --data-dir (``cifar-10-batches-bin``).
"""

from __future__ import annotations

from .. import nn
from ..data import CIFAR10
from ..training.accuracy import multiclass_correct
from ..training.config import TrainConfig
from ..training.task import SupervisedTask
from .common import supervised_task
from .mnist_cnn import small_cnn
from .registry import Recipe, register


def build_model() -> nn.Sequential:
    return small_cnn(3, 32)


def build(config: TrainConfig) -> SupervisedTask:
    if config.data_dir is None:
        raise ValueError("cifar-cnn: --data-dir must name the directory holding the CIFAR-10 binary files")
    train, test = CIFAR10(config.data_dir, train=True), CIFAR10(config.data_dir, train=False)
    return supervised_task(build_model(), nn.CrossEntropyLoss(), train, test, config, multiclass_correct)


RECIPE = register(
    Recipe(
        "cifar-cnn",
        "the mnist-cnn shape on CIFAR-10 32×32×3 (122,570 params), Adam; needs --data-dir",
        TrainConfig(epochs=10, batch_size=64, lr=0.001, optimizer="adam"),
        build,
    )
)
