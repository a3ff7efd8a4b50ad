"""The training loop: epochs of steps, a progress bar, metrics, checkpoints, a plot.

Per step the loss and the number of correct answers are *added on the device*;
the host reads them only every ``log_every`` steps (for the progress bar) and at
the end of the epoch, so a GPU is never made to wait once per step.

Metrics and the checkpoint are written together after every epoch — or every
``ceil(epochs / 100)`` epochs for runs of hundreds of tiny epochs, such as
linreg's 1000 full-batch steps — and always after the last.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..engine.tensor import Tensor
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .metrics import MetricsLog
from .plots import plot_history
from .task import StepResult, Task


class _Totals:
    """Running sums of one epoch's StepResults, on the device."""

    def __init__(self) -> None:
        self.loss_sum: Tensor | None = None
        self.correct: Tensor | None = None
        self.extra: dict[str, Tensor] = {}
        self.count = 0

    def add(self, result: StepResult) -> None:
        self.loss_sum = result.loss_sum if self.loss_sum is None else self.loss_sum + result.loss_sum
        if result.correct is not None:
            self.correct = result.correct if self.correct is None else self.correct + result.correct
        for name, value in result.extra.items():
            self.extra[name] = value + self.extra[name] if name in self.extra else value
        self.count += result.count

    def read(self, prefix: str) -> dict[str, float]:
        """Mean loss and accuracy as Python floats (the one host sync)."""
        if self.count == 0:
            return {}
        out = {f"{prefix}_loss": float(self.loss_sum.item()) / self.count}
        if self.correct is not None:
            out[f"{prefix}_accuracy"] = float(self.correct.item()) / self.count
        for name, value in self.extra.items():
            out[f"{prefix}_{name}"] = float(value.item()) / self.count
        return out


@dataclass
class Summary:
    """How a run ended: the last epoch's metrics and the wall time of this invocation."""

    epochs_run: int
    final: dict[str, float]
    seconds: float

    def lines(self) -> list[str]:
        def fmt(key: str) -> str:
            value = self.final.get(key)
            return "—" if value is None else (f"{value:.2%}" if "accuracy" in key else f"{value:.6g}")

        text = [
            f"epochs run: {self.epochs_run} (through epoch {int(self.final.get('epoch', 0))}), {self.seconds:.1f} s"
        ]
        for split in ("train", "test"):
            if f"{split}_loss" in self.final:
                accuracy = f"  accuracy {fmt(f'{split}_accuracy')}" if f"{split}_accuracy" in self.final else ""
                text.append(f"{split:5s}  loss {fmt(f'{split}_loss')}{accuracy}")
        text += [f"{k}: {v:.6g}" for k, v in self.final.items() if k.startswith("quality")]
        return text


class Trainer:
    """Run ``task`` for ``config.epochs`` epochs, writing everything into ``out_dir``."""

    def __init__(
        self,
        task: Task,
        config: TrainConfig,
        out_dir: str | Path,
        title: str = "",
        log_every: int = 20,
        progress: bool = True,
    ) -> None:
        if log_every < 1:
            raise ValueError(f"Trainer: log_every must be a positive integer, got {log_every!r}")
        self.task, self.config, self.out_dir = task, config, Path(out_dir)
        self.title, self.log_every, self.progress = title, log_every, progress
        self.metrics = MetricsLog(self.out_dir)
        self.checkpoint_path = self.out_dir / CHECKPOINT_NAME
        self.save_every = -(-config.epochs // 100)

    def fit(self, resume: bool = False) -> Summary:
        start = time.perf_counter()
        first_epoch = 1
        if resume:
            first_epoch = load_checkpoint(self.checkpoint_path, self.task) + 1
            self.metrics.load(first_epoch - 1)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        epochs = range(first_epoch, self.config.epochs + 1)
        steps = len(self.task.train_loader) * len(epochs)
        with tqdm(total=steps, disable=not self.progress, unit="batch", dynamic_ncols=True, leave=False) as bar:
            for epoch in epochs:
                row = self._epoch(epoch, bar)
                self.metrics.rows.append(row)
                if epoch % self.save_every == 0 or epoch == self.config.epochs:
                    self.metrics.write()
                    save_checkpoint(self.checkpoint_path, self.task, epoch)
                if self.progress and (len(epochs) <= 20 or epoch % max(1, len(epochs) // 10) == 0):
                    bar.write(_epoch_line(row))
        if self.metrics.rows:
            plot_history(self.metrics.rows, self.out_dir / "metrics.png", title=self.title)
        final = self.metrics.rows[-1] if self.metrics.rows else {}
        return Summary(len(epochs), final, time.perf_counter() - start)

    def _epoch(self, epoch: int, bar: Any) -> dict[str, float]:
        totals = _Totals()
        started = time.perf_counter()
        for step, batch in enumerate(self.task.train_loader, 1):
            totals.add(self.task.train_step(batch))
            bar.update(1)
            if step % self.log_every == 0 and self.progress:
                seen = totals.read("train")
                seen["samples/s"] = totals.count / (time.perf_counter() - started)
                shown = {
                    k.removeprefix("train_"): f"{v:.1%}" if "accuracy" in k else f"{v:.4g}" for k, v in seen.items()
                }
                bar.set_postfix({"epoch": epoch} | shown)
        row: dict[str, float] = {"epoch": epoch} | totals.read("train")
        seconds = time.perf_counter() - started
        row |= {"train_seconds": seconds, "samples_per_s": totals.count / seconds}
        if self.task.test_loader is not None:
            row |= self.evaluate()
        row |= self.task.end_epoch(epoch, self.out_dir)
        return row

    def evaluate(self) -> dict[str, float]:
        """Mean loss (and accuracy) over the test loader."""
        totals = _Totals()
        for batch in self.task.test_loader:
            totals.add(self.task.eval_step(batch))
        return totals.read("test")


def _epoch_line(row: dict[str, float]) -> str:
    parts = [f"epoch {int(row['epoch'])}"]
    for key, value in row.items():
        if key != "epoch" and not key.endswith("seconds"):
            parts.append(f"{key} {value:.2%}" if "accuracy" in key else f"{key} {value:.4g}")
    return "  ".join(parts)
