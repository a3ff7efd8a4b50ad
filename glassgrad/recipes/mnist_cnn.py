"""mnist-cnn: the classic three-convolution MNIST classifier (93,322 parameters).

Inputs are standardised with MNIST's pixel mean and std (0.1307, 0.3081).

    Conv(1→32, 3×3) → ReLU → MaxPool 2 → Conv(32→64, 3×3) → ReLU → MaxPool 2 →
    Conv(64→64, 3×3) → ReLU → Flatten (64·3·3 = 576) → Linear(64) → ReLU → Linear(10)

Adam, cross-entropy, batch 64. Shapes: 28 → 26 → 13 → 11 → 5 → 3.

The learning rate warms up linearly to ``--lr`` (0.008) over the first 20% of
the steps, then follows a cosine down to 0 (a one-cycle schedule, stepped per
batch). On the offline subset, 5 epochs reached 96.7–97.4% test accuracy for
seeds 0–9, against 94.7–96.8% for seeds 0–4 with a constant lr of 0.002.
"""

from __future__ import annotations

from .. import nn, optim
from ..training.accuracy import multiclass_correct
from ..training.config import TrainConfig
from ..training.task import SupervisedTask
from .common import check_mnist_dir, mnist_datasets, supervised_task, warmup_then_cosine
from .registry import Recipe, register


def conv_side(size: int) -> int:
    """Side of the last feature map: two (conv 3×3, pool 2) blocks then one conv 3×3."""
    return ((size - 2) // 2 - 2) // 2 - 2


def small_cnn(in_channels: int, image_size: int, classes: int = 10) -> nn.Sequential:
    """The three-convolution classifier on (in_channels, image_size, image_size) inputs."""
    side = conv_side(image_size)
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * side * side, 64),
        nn.ReLU(),
        nn.Linear(64, classes),
    )


def build_model() -> nn.Sequential:
    return small_cnn(1, 28)


def build(config: TrainConfig) -> SupervisedTask:
    train, test = mnist_datasets(config.data_dir, normalize=True)
    task = supervised_task(build_model(), nn.CrossEntropyLoss(), train, test, config, multiclass_correct)
    total_steps = config.epochs * len(task.train_loader)
    task.scheduler = optim.lr_scheduler.LambdaLR(task.optimizer, warmup_then_cosine(total_steps))
    return task


RECIPE = register(
    Recipe(
        "mnist-cnn",
        "3-conv CNN on MNIST (93,322 params), Adam (warm-up + cosine lr), cross-entropy; offline 4,000/1,000 subset",
        TrainConfig(epochs=5, batch_size=64, lr=0.008, optimizer="adam"),
        build,
        check_data=check_mnist_dir,
    )
)
