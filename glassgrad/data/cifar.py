"""CIFAR-10 from its binary version: ``data_batch_1..5.bin`` and ``test_batch.bin``.

Each record is 3,073 bytes: one label byte, then 1,024 red, 1,024 green and
1,024 blue pixel bytes (32×32, row-major).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from .dataset import Dataset

RECORD = 1 + 3 * 32 * 32
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3) HWC, labels int64 (N,)) from one .bin file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise ValueError(f"CIFAR10: {path} has {raw.size} bytes, not a multiple of the {RECORD}-byte record")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"CIFAR10: {path} has label {labels.max()} (> 9); not a CIFAR-10 binary file")
    return records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


class CIFAR10(Dataset):
    """``data``: uint8 array (N, 32, 32, 3); ``targets``: list of ints. Samples are
    (float32 tensor (3, 32, 32) in [0, 1], label), or ``transform(HWC uint8 array)``."""

    classes = CLASSES

    def __init__(self, root: str | Path, train: bool = True, transform: Any = None) -> None:
        root = Path(root)
        folder = root / "cifar-10-batches-bin" if (root / "cifar-10-batches-bin").is_dir() else root
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        paths = [folder / n for n in names if (folder / n).is_file()]
        if not paths:
            raise FileNotFoundError(f"CIFAR10: none of {names} found in {folder}")
        parts = [read_cifar_batch(p) for p in paths]
        self.data = np.concatenate([p[0] for p in parts])
        self.targets = np.concatenate([p[1] for p in parts]).tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.data[index]
        if self.transform is not None:
            return self.transform(image), self.targets[index]
        return Tensor(image.transpose(2, 0, 1).astype(np.float32) / 255), self.targets[index]
