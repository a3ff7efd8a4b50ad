"""Pictures of a run: the loss/accuracy curves and a grid of generated images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_history(
    rows: Sequence[dict[str, float]], path: str | Path, title: str = "", labels: dict[str, str] | None = None
) -> dict[str, list]:
    """Loss (left) and, when recorded, accuracy (right) per epoch. Returns what was drawn:
    each panel's curve labels by metric, and the visible epoch ticks under "epoch_ticks".

    Every ``*_loss`` column is a curve of the loss panel (train and test, or a GAN's
    ``train_loss`` and ``train_g_loss``), every ``*_accuracy`` column one of the
    accuracy panel (fractions). ``labels`` renames columns in the legend. Epoch ticks
    are integers and short runs show their points, so a 1-epoch plot is readable.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    labels = labels or {}
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    panels = {
        metric: [c for c in columns if c.endswith(f"_{metric}") and c.split("_")[0] in ("train", "test")]
        for metric in ("loss", "accuracy")
    }
    panels = {metric: cols for metric, cols in panels.items() if cols}
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    shown: dict[str, list] = {}
    epochs_seen = [row["epoch"] for row in rows if "epoch" in row]
    for (metric, cols), ax in zip(panels.items(), axes[0], strict=True):
        shown[metric] = []
        for column in cols:
            points = [(row["epoch"], row[column]) for row in rows if column in row]
            epochs, values = zip(*points, strict=True)
            label = labels.get(column, column.removesuffix(f"_{metric}"))
            ax.plot(epochs, values, marker="o" if len(points) < 30 else None, label=label)
            shown[metric].append(label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric + (" (fraction)" if metric == "accuracy" else ""))
        if epochs_seen and max(epochs_seen) - min(epochs_seen) <= 10:  # one tick per epoch
            first, last = int(min(epochs_seen)), int(max(epochs_seen))
            ax.set_xticks(range(first, last + 1))
            ax.set_xlim(first - 0.5, last + 0.5)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    low, high = axes[0][0].get_xlim()
    shown["epoch_ticks"] = [float(t) for t in axes[0][0].get_xticks() if low <= t <= high]
    plt.close(fig)
    return shown


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
