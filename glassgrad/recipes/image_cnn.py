"""image-cnn: a binary image classifier (cats vs dogs style) from an image folder.

    4 × [Conv(3×3) → ReLU → MaxPool 2] with 32, 64, 128, 128 channels →
    Flatten (128·7·7 = 6,272 at 150×150) → Linear(512) → ReLU → Linear(1) → sigmoid

3,453,121 parameters at 150×150 (``--image-size`` shrinks the images and the first
Linear). Data: ``--data-dir`` holds one sub-directory per class (two classes), or
``train/`` and ``validation/`` each laid out that way; training images are augmented
with random rotation, shift, shear, zoom and horizontal flip.
"""

from __future__ import annotations

from pathlib import Path

from .. import nn
from ..data import ImageFolder, transforms
from ..training.accuracy import binary_correct
from ..training.config import TrainConfig
from ..training.task import SupervisedTask
from .common import existing_dir, supervised_task
from .registry import Recipe, register

DEFAULT_SIZE = 150


def feature_side(size: int) -> int:
    """Side after four (conv 3×3, pool 2) blocks: 150 → 74 → 36 → 17 → 7."""
    for _ in range(4):
        size = (size - 2) // 2
    return size


def build_model(image_size: int = DEFAULT_SIZE) -> nn.Sequential:
    side = feature_side(image_size)
    if side < 1:
        raise ValueError(f"image-cnn: image_size {image_size} is too small for four conv+pool blocks (need ≥ 46)")
    layers: list[nn.Module] = []
    for c_in, c_out in ((3, 32), (32, 64), (64, 128), (128, 128)):
        layers += [nn.Conv2d(c_in, c_out, 3), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(
        *layers,
        nn.Flatten(),
        nn.Linear(128 * side * side, 512),
        nn.ReLU(),
        nn.Linear(512, 1),
        nn.Sigmoid(),
        nn.Flatten(0),
    )


def _float_label(label: int) -> float:
    return float(label)


def check_data(config: TrainConfig) -> None:
    """--data-dir holds two class sub-directories, or train/ (and validation/) laid out that way."""
    what = "an image folder: one sub-directory per class (two), or train/ and validation/ laid out that way"
    root = existing_dir(config, "image-cnn", what)
    train_root = root / "train" if (root / "train").is_dir() else root
    classes = sorted(p.name for p in train_root.iterdir() if p.is_dir())
    if len(classes) != 2:
        raise ValueError(f"--data-dir {train_root} has {len(classes)} class sub-directories {classes}; give {what}")


def build(config: TrainConfig) -> SupervisedTask:
    if config.data_dir is None:
        raise ValueError("image-cnn: --data-dir must name an image folder (one sub-directory per class)")
    size = config.image_size or DEFAULT_SIZE
    augment = transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.RandomAffine(degrees=40, translate=(0.2, 0.2), shear=20, scale=(0.8, 1.2)),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
        ]
    )
    plain = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()])
    root = Path(config.data_dir)
    train_root, val_root = (root / "train", root / "validation") if (root / "train").is_dir() else (root, None)
    train = ImageFolder(train_root, transform=augment, target_transform=_float_label)
    if len(train.classes) != 2:
        raise ValueError(f"image-cnn: expected two classes in {train_root}, found {train.classes}")
    val = ImageFolder(val_root, transform=plain, target_transform=_float_label) if val_root else None
    return supervised_task(build_model(size), nn.BCELoss(), train, val, config, binary_correct)


RECIPE = register(
    Recipe(
        "image-cnn",
        "4-block CNN binary classifier on a 150×150 image folder (3,453,121 params), augmented; needs --data-dir",
        TrainConfig(epochs=30, batch_size=32, lr=1e-4, optimizer="adam"),
        build,
        check_data=check_data,
    )
)
