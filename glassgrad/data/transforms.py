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
        if array.ndim != 3:
            raise ValueError(f"ToTensor: expected an HW or HWC image, got an array of shape {array.shape}")
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
        sides = [size] if isinstance(size, int) else list(size)
        if len(sides) not in (1, 2) or not all(isinstance(n, int) and n > 0 for n in sides):
            raise ValueError(f"Resize: size must be a positive int or a pair (h, w) of them, got {size!r}")
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
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, image: Any) -> Any:
        from PIL import Image

        img = _pil(image)
        return img.transpose(Image.FLIP_LEFT_RIGHT) if cpu_generator().random() < self.p else img


def _symmetric_range(op: str, name: str, value: float | Sequence[float]) -> tuple[float, float]:
    """``d`` → (-d, d) for d >= 0; a pair (lo, hi) with lo <= hi stays as it is."""
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{op}: {name} must be >= 0 when a single number, got {value}")
        return -float(value), float(value)
    if len(value) != 2 or value[0] > value[1]:
        raise ValueError(f"{op}: {name} must be a number or a pair (min, max) with min <= max, got {value}")
    return float(value[0]), float(value[1])


class RandomAffine:
    """A random affine map about the image centre; uncovered pixels are ``fill``.

    Draws, uniformly: an angle θ in ``degrees`` (± d or (min, max); positive is
    counter-clockwise, as ``PIL.Image.rotate``), a shift (tx, ty) up to
    ``translate`` = (a, b) times the width and height, a zoom s in ``scale`` =
    (min, max) and a shear φ in ``shear`` (degrees, along x). With c the centre,
    an input point x lands at::

        x' = R(θ) · Sh(φ) · s · (x - c) + c + (tx, ty),   Sh(φ) = [[1, -tan φ], [0, 1]]

    Pillow samples the output by the inverse map, with bilinear interpolation.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: float | Sequence[float] | None = None,
        fill: int = 0,
    ) -> None:
        name = type(self).__name__
        self.degrees = _symmetric_range(name, "degrees", degrees)
        if translate is not None and (len(translate) != 2 or not all(0 <= t <= 1 for t in translate)):
            raise ValueError(f"{name}: translate must be two fractions in [0, 1], got {translate}")
        if scale is not None and (len(scale) != 2 or not 0 < scale[0] <= scale[1]):
            raise ValueError(f"{name}: scale must be a pair 0 < min <= max, got {scale}")
        self.translate, self.scale, self.fill = translate, scale, fill
        self.shear = _symmetric_range(name, "shear", shear) if shear is not None else None

    def __call__(self, image: Any) -> Any:
        from PIL import Image

        img = _pil(image)
        rng = cpu_generator()
        w, h = img.size
        angle = math.radians(rng.uniform(*self.degrees))
        tx = rng.uniform(-self.translate[0], self.translate[0]) * w if self.translate else 0.0
        ty = rng.uniform(-self.translate[1], self.translate[1]) * h if self.translate else 0.0
        zoom = rng.uniform(*self.scale) if self.scale else 1.0
        shear = math.radians(rng.uniform(*self.shear)) if self.shear else 0.0
        # image rows grow downwards, so a counter-clockwise turn is R(-θ) in (x, y) pixel coordinates
        rot = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
        sh = np.array([[1.0, -math.tan(shear)], [0.0, 1.0]])
        inv = np.linalg.inv(rot @ sh * zoom)
        cx, cy = w / 2, h / 2
        offset = np.array([cx, cy]) - inv @ np.array([cx + tx, cy + ty])
        coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
        return img.transform((w, h), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=self.fill)


class RandomRotation(RandomAffine):
    """Rotate by a random angle in [-degrees, degrees] (or (min, max)), counter-clockwise positive."""

    def __init__(self, degrees: float | Sequence[float], fill: int = 0) -> None:
        super().__init__(degrees, fill=fill)
