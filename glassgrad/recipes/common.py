"""What several recipes share: picking an optimizer by name, and data loaders."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import optim
from ..data import DataLoader, Dataset, TensorDataset, random_split
from ..engine.tensor import Tensor
from ..training.config import TrainConfig
from ..training.task import SupervisedTask

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # of the 60,000 training digits' pixels in [0, 1]
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def make_optimizer(config: TrainConfig, params: Iterable[Any], **options: Any) -> Any:
    """``optim.<config.optimizer>(params, lr=config.lr, **options)``."""
    return getattr(optim, OPTIMIZER_CLASSES[config.optimizer])(params, lr=config.lr, **options)


def warmup_then_cosine(total_steps: int, warmup_share: float = 0.2) -> Callable[[int], float]:
    """The lr factor at step t (for LambdaLR): t/w during a warm-up of w = warmup_share·T steps,
    then ½(1 + cos(π·(t − w)/(T − w))) down to 0 at the last step T."""
    warmup = max(1, round(warmup_share * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return 0.5 * (1 + math.cos(math.pi * min(step - warmup, total_steps - warmup) / max(total_steps - warmup, 1)))

    return factor


def loaders(train: Dataset, test: Dataset | None, config: TrainConfig) -> tuple[DataLoader, DataLoader | None]:
    """A shuffled training loader and an in-order test loader of ``config.batch_size``."""
    train_loader = DataLoader(train, batch_size=config.batch_size, shuffle=True)
    test_loader = None if test is None else DataLoader(test, batch_size=max(config.batch_size, 256))
    return train_loader, test_loader


def supervised_task(
    model: Any, loss: Any, train: Dataset, test: Dataset | None, config: TrainConfig, correct: Any = None
) -> SupervisedTask:
    """The usual recipe: the model on ``config.device``, shuffled/in-order loaders, the configured optimizer."""
    model = model.to(config.device)
    train_loader, test_loader = loaders(train, test, config)
    optimizer = make_optimizer(config, model.parameters())
    return SupervisedTask(
        model, loss, optimizer, train_loader, test_loader, correct, config.device, precision=config.precision
    )


def split(inputs: Tensor, targets: Tensor, val_fraction: float) -> tuple[Dataset, Dataset]:
    """A TensorDataset cut at random into train and validation parts (Keras' validation_split)."""
    dataset = TensorDataset(inputs, targets)
    n_val = round(len(dataset) * val_fraction)
    return tuple(random_split(dataset, [len(dataset) - n_val, n_val]))  # type: ignore[return-value]


def mnist_datasets(data_dir: str | None, normalize: bool = False) -> tuple[TensorDataset, TensorDataset]:
    """MNIST as (N, 1, 28, 28) float32 pixels in [0, 1] (or standardised by MNIST's mean and
    std when ``normalize``) and int64 labels, train and test.

    From IDX files in ``data_dir`` when there are any, else the offline 5,000-image
    subset (4,000 train / 1,000 test). Held as whole tensors, so a batch is one slice.
    """
    from ..data import MNIST

    def as_tensors(train: bool) -> TensorDataset:
        dataset = MNIST(data_dir, train=train)
        images = dataset.data.reshape(-1, 1, 28, 28).float() / 255
        if normalize:
            images = (images - MNIST_MEAN) / MNIST_STD
        return TensorDataset(images, dataset.targets.long())

    return as_tensors(True), as_tensors(False)


def existing_dir(config: TrainConfig, recipe: str, what: str) -> Path:
    """``config.data_dir`` as a Path, after checking it was given and is a directory."""
    if config.data_dir is None:
        raise ValueError(f"{recipe} needs --data-dir: the directory holding {what}")
    root = Path(config.data_dir)
    if not root.is_dir():
        raise ValueError(f"--data-dir {root} is not a directory; give the directory holding {what}")
    return root


def check_mnist_dir(config: TrainConfig) -> None:
    """No --data-dir: the offline subset. A --data-dir must exist and hold the four IDX files."""
    if config.data_dir is None:
        return
    from ..data.mnist import FILES, _find

    hint = "(python -m glassgrad download mnist --dir DIR fetches them; leave --data-dir out for the offline subset)"
    root = Path(config.data_dir)
    if not root.is_dir():
        raise ValueError(f"--data-dir {root} is not a directory; give the directory holding the MNIST IDX files {hint}")
    missing = [name for pair in FILES.values() for name in pair if _find(root, name) is None]
    if missing:
        raise ValueError(f"--data-dir {root} lacks the MNIST files {', '.join(missing)} (each may be .gz) {hint}")
