"""cifar-cnn and image-cnn end to end on small data written in their real formats
(CIFAR-10's binary batches, an image folder of PNGs): the recipe builds from
--data-dir, trains, and learns a task a CNN must see to solve (the class is the
colour of the picture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import glassgrad as gg
from glassgrad.recipes import get_recipe
from glassgrad.training import Trainer

COLOURS = np.array(
    [[230, 20, 20], [20, 230, 20], [20, 20, 230], [230, 230, 20], [230, 20, 230],
     [20, 230, 230], [240, 240, 240], [15, 15, 15], [128, 64, 0], [0, 128, 64]]
)  # fmt: skip


def _pictures(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """(N, size, size, 3) uint8: each picture its class's colour plus noise."""
    noise = np.random.default_rng(seed).integers(-40, 41, (len(labels), size, size, 3))
    return np.clip(COLOURS[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)


def _write_cifar_batch(path: Path, labels: np.ndarray, seed: int) -> None:
    chw = _pictures(labels, 32, seed).transpose(0, 3, 1, 2).reshape(len(labels), -1)
    np.concatenate([labels[:, None].astype(np.uint8), chw], axis=1).tofile(path)


def test_cifar_cnn_learns_from_binary_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        _write_cifar_batch(folder / f"data_batch_{i}.bin", rng.integers(0, 10, 60), seed=i)
    _write_cifar_batch(folder / "test_batch.bin", rng.integers(0, 10, 100), seed=9)
    recipe = get_recipe("cifar-cnn")
    config = recipe.config(data_dir=str(tmp_path), epochs=3, batch_size=32, lr=0.003)
    gg.manual_seed(0)
    summary = Trainer(recipe.build(config), config, tmp_path / "run", progress=False).fit()
    assert summary.final["test_accuracy"] >= 0.9, summary.final  # chance is 0.1


def test_image_cnn_learns_from_an_image_folder_with_augmentation(tmp_path: Path) -> None:
    for seed, (split, count) in enumerate((("train", 24), ("validation", 12))):
        for label, name in enumerate(("cats", "dogs")):
            (tmp_path / split / name).mkdir(parents=True)
            for i, picture in enumerate(_pictures(np.full(count, 6 + label), 60, seed=10 * seed + label)):
                Image.fromarray(picture).save(tmp_path / split / name / f"{i}.png")
    recipe = get_recipe("image-cnn")
    config = recipe.config(data_dir=str(tmp_path), image_size=48, epochs=4, batch_size=8, lr=0.001)
    gg.manual_seed(0)
    task = recipe.build(config)
    assert task.train_loader.dataset.classes == ["cats", "dogs"]
    summary = Trainer(task, config, tmp_path / "run", progress=False).fit()
    assert summary.final["test_accuracy"] >= 0.9, summary.final  # light against dark; chance is 0.5
