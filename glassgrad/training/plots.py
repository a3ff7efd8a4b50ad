"""Pictures of a run: the loss/accuracy curves and a grid of generated images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_history(rows: Sequence[dict[str, float]], path: str | Path, title: str = "") -> None:
    """Loss (left) and, when recorded, accuracy (right) per epoch for train and test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_accuracy = any("train_accuracy" in row for row in rows)
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(10 if has_accuracy else 5, 3.6), squeeze=False)
    panels = [("loss", axes[0][0])] + ([("accuracy", axes[0][1])] if has_accuracy else [])
    for metric, ax in panels:
        for split in ("train", "test"):
            points = [(row["epoch"], row[f"{split}_{metric}"]) for row in rows if f"{split}_{metric}" in row]
            if points:
                epochs, values = zip(*points, strict=True)
                ax.plot(epochs, values, marker="o" if len(points) < 30 else None, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_image_grid(images: np.ndarray, path: str | Path, nrow: int = 8) -> None:
    """Tile images of shape (N, 1, H, W) with values in [-1, 1] into one PNG."""
    from PIL import Image

    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"save_image_grid: expected images of shape (N, 1, H, W), got {images.shape}")
    n, _, h, w = images.shape
    rows = -(-n // nrow)
    grid = np.zeros((rows * (h + 2) + 2, nrow * (w + 2) + 2), dtype=np.uint8)
    pixels = np.clip((np.asarray(images[:, 0], dtype=np.float64) + 1) * 127.5, 0, 255).astype(np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[2 + r * (h + 2) : 2 + r * (h + 2) + h, 2 + c * (w + 2) : 2 + c * (w + 2) + w] = pixels[i]
    Image.fromarray(grid, mode="L").save(path)
