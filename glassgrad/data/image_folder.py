"""ImageFolder: ``root/<class>/<image>``, classes sorted by name, images read with Pillow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageFolder(Dataset):
    """Samples are ``(transform(image), target_transform(class_index))``; the image is a
    Pillow RGB image (a HWC uint8 array if no transform is given)."""

    def __init__(self, root: str | Path, transform: Any = None, target_transform: Any = None) -> None:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {root} is not a directory")
        self.root = root
        self.classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: {root} has no class sub-directories")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [
            (str(path), self.class_to_idx[c])
            for c in self.classes
            for path in sorted((root / c).rglob("*"))
            if path.suffix.lower() in EXTENSIONS
        ]
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no images ({', '.join(EXTENSIONS)}) under {root}")
        self.targets = [t for _, t in self.samples]
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image

        path, target = self.samples[index]
        with Image.open(path) as img:
            image = img.convert("RGB")
        sample = self.transform(image) if self.transform is not None else np.asarray(image)
        return sample, (self.target_transform(target) if self.target_transform is not None else target)
