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
from .common import existing_dir, supervised_task
from .mnist_cnn import small_cnn
from .registry import Recipe, register


def build_model() -> nn.Sequential:
    return small_cnn(3, 32)


def check_data(config: TrainConfig) -> None:
    """--data-dir holds the five data batches and the test batch (in cifar-10-batches-bin/ or itself)."""
    what = "CIFAR-10's binary batches, cifar-10-batches-bin/ (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)"
    root = existing_dir(config, "cifar-cnn", what)
    folder = root / "cifar-10-batches-bin" if (root / "cifar-10-batches-bin").is_dir() else root
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ValueError(
            f"--data-dir {root} lacks the CIFAR-10 files {', '.join(missing)}; give the directory holding {what}"
        )


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
        check_data=check_data,
    )
)
