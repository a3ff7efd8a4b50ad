"""Pictures of a run: the loss/accuracy curves, the gradient flow of a watched run, a grid of generated images."""

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


def plot_gradient_flow(rows: Sequence[dict[str, float]], path: str | Path, title: str = "") -> dict[str, list]:
    """The gradient flow of a run watched with ``grads`` (training/watch.py): each layer's gradient norm
    ``layer_grad_norm_mean/<layer>`` on a log scale, by depth (left: x = layer from input to output,
    one line per epoch, up to 8 epochs evenly spread, first and last included; a falling line is a
    vanishing gradient) and by epoch (right: one line per layer). Returns what was drawn: the layers
    in order under "layers", the epochs of the left panel under "epochs", and the values drawn per
    layer under "norms" (lists by epoch, for the epochs of rows that have the column)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prefix = "layer_grad_norm_mean/"
    layers: list[str] = []
    for row in rows:
        layers += [k.removeprefix(prefix) for k in row if k.startswith(prefix) and k.removeprefix(prefix) not in layers]
    if not layers:
        raise ValueError(f"plot_gradient_flow: no {prefix}* column in the rows (train with --watch grads)")
    watched = [row for row in rows if any(prefix + layer in row for layer in layers)]
    epochs = [int(row["epoch"]) for row in watched]
    picks = sorted({round(i * (len(watched) - 1) / 7) for i in range(8)}) if len(watched) > 8 else range(len(watched))
    shown_rows = [watched[i] for i in picks]
    fig, (by_depth, by_epoch) = plt.subplots(1, 2, figsize=(11, 3.8))
    colors = plt.get_cmap("viridis")
    depth = list(range(len(layers)))
    for i, row in enumerate(shown_rows):
        norms = [row.get(prefix + layer, float("nan")) for layer in layers]
        color = colors(i / max(len(shown_rows) - 1, 1))
        by_depth.plot(depth, norms, marker="o", color=color, label=f"epoch {int(row['epoch'])}")
    by_depth.set_xticks(depth)
    crowded = sum(len(layer) + 2 for layer in layers) > 48  # names that would overlap side by side
    by_depth.set_xticklabels(layers, rotation=30 if crowded else 0, ha="right" if crowded else "center")
    by_depth.set_xlabel("layer (input → output)")
    by_depth.set_ylabel("gradient norm ‖dL/dθ‖ (mean over steps)")
    norms_by_layer: dict[str, list[float]] = {}
    for layer in layers:
        points = [(int(row["epoch"]), row[prefix + layer]) for row in watched if prefix + layer in row]
        norms_by_layer[layer] = [v for _, v in points]
        xs, ys = zip(*points, strict=True)
        by_epoch.plot(xs, ys, marker="o" if len(points) < 30 else None, label=layer)
    by_epoch.set_xlabel("epoch")
    by_epoch.set_ylabel("gradient norm ‖dL/dθ‖")
    if epochs and max(epochs) - min(epochs) <= 10:  # one tick per epoch, as in plot_history
        by_epoch.set_xticks(range(min(epochs), max(epochs) + 1))
        by_epoch.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    for ax in (by_depth, by_epoch):
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
    fig.suptitle(f"{title}: gradient flow" if title else "gradient flow")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return {"layers": layers, "epochs": [int(row["epoch"]) for row in shown_rows], "norms": norms_by_layer}


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
