"""Image transforms on Pillow images (and NumPy HWC arrays), seeded by glassgrad.manual_seed.

Geometric augmentations (rotation, shift, shear, zoom, flip) map output pixels
back to input pixels with one affine matrix, as Keras' ImageDataGenerator and
torchvision do; ToTensor turns HWC uint8 into CHW float32 in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine.random import cpu_generator
from ..engine.tensor import Tensor


def _pil(image: Any) -> Any:
    from PIL import Image

    return image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any) -> Any:
        for t in self.transforms:
            image = t(image)
        return image


class ToTensor:
    """HWC uint8 (or a Pillow image) → CHW float32 tensor in [0, 1]."""

    def __call__(self, image: Any) -> Tensor:
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        scale = 255.0 if array.dtype == np.uint8 else 1.0
        return Tensor(np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32) / scale)


class Normalize:
    """(x - mean) / std per channel of a CHW tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        if any(s == 0 for s in std):
            raise ValueError(f"Normalize: std must be non-zero, got {list(std)}")
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)

    def __call__(self, tensor: Tensor) -> Tensor:
        if tensor.shape[0] != self.mean.shape[0]:
            raise ValueError(f"Normalize: {self.mean.shape[0]} means for a tensor with {tensor.shape[0]} channels")
        return Tensor(((tensor.array - self.mean) / self.std).astype(tensor.dtype))


class Resize:
    """Resize to ``size`` (h, w), or the shorter side to ``size`` (bilinear)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = size

    def __call__(self, image: Any) -> Any:
        from PIL import Image

        img = _pil(image)
        if isinstance(self.size, int):
            w, h = img.size
            scale = self.size / min(w, h)
            target = (max(1, round(w * scale)), max(1, round(h * scale)))
        else:
            target = (self.size[1], self.size[0])
        return img.resize(target, Image.BILINEAR)


class RandomHorizontalFlip:
    """Mirror left-right with probability p."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image: Any) -> Any:
        from PIL import Image

        img = _pil(image)
        return img.transpose(Image.FLIP_LEFT_RIGHT) if cpu_generator().random() < self.p else img


class RandomAffine:
    """Random rotation (±degrees), shift (fraction of size), shear (±degrees) and zoom (scale range),
    composed into one affine map about the image centre; uncovered pixels are ``fill``."""

    def __init__(
        self,
        degrees: float,
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: float | None = None,
        fill: int = 0,
    ) -> None:
        self.degrees, self.translate, self.scale, self.shear, self.fill = degrees, translate, scale, shear, fill

    def __call__(self, image: Any) -> Any:
        from PIL import Image

        img = _pil(image)
        rng = cpu_generator()
        w, h = img.size
        angle = math.radians(rng.uniform(-self.degrees, self.degrees))
        tx = rng.uniform(-self.translate[0], self.translate[0]) * w if self.translate else 0.0
        ty = rng.uniform(-self.translate[1], self.translate[1]) * h if self.translate else 0.0
        zoom = rng.uniform(*self.scale) if self.scale else 1.0
        shear = math.radians(rng.uniform(-self.shear, self.shear)) if self.shear else 0.0
        # forward map: x' = T · C · R(angle) · Sh(shear) · zoom · C⁻¹ · x; Pillow wants the inverse.
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        sh = np.array([[1.0, -math.tan(shear)], [0.0, 1.0]])
        linear = rot @ sh * zoom
        inv = np.linalg.inv(linear)
        cx, cy = w / 2, h / 2
        offset = np.array([cx, cy]) - inv @ np.array([cx + tx, cy + ty])
        coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
        return img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=self.fill)


class RandomRotation(RandomAffine):
    """Rotate by a random angle in [-degrees, degrees]."""

    def __init__(self, degrees: float, fill: int = 0) -> None:
        super().__init__(degrees, fill=fill)
