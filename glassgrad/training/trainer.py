"""The training loop: epochs of steps, a progress bar, metrics, checkpoints, a plot.

Per step the loss and the number of correct answers are *added on the device*;
the host reads them only every ``log_every`` steps (for the progress bar) and at
the end of the epoch, so a GPU is never made to wait once per step.

Metrics and the checkpoint are written together after every epoch — or every
``ceil(epochs / 100)`` epochs for runs of hundreds of tiny epochs, such as
linreg's 1000 full-batch steps — and always after the last. Between two writes
the state of the last completed epoch is kept in memory.

Output: one progress bar per epoch (live loss, accuracy and samples/s of that
epoch; one bar over all epochs when there are more than 100 of them) and a line
per epoch — every epoch for runs of up to 20, else the first, every
``ceil(epochs / 10)``-th and the last — also with ``progress=False`` (for logs).
Accuracy is a fraction (0.9712) on the console, in the CSV and in the JSON.

``watch=("grads", "activations")`` adds per-layer gradient norms and activation statistics to every
epoch's row (training/watch.py) and draws them as ``gradient_flow.png``.

Ctrl-C (SIGINT) sets a flag checked after every step: the run stops there, the
partial epoch is discarded, and the checkpoint and metrics of the last completed
epoch are on disk, so ``--resume`` gives exactly the uninterrupted run. A second
Ctrl-C aborts at once (KeyboardInterrupt).

On N ranks (``world``, training/distributed.py) every rank trains on its shard; the epoch's sums
and the Ctrl-C flag are all-reduced once at its end (so a Ctrl-C stops every rank after that same
epoch), and rank 0 alone evaluates, prints and writes.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..engine.tensor import Tensor
from .checkpoint import CHECKPOINT_NAME, checkpoint_state, load_checkpoint, write_state
from .config import TrainConfig
from .distributed import SINGLE, World, set_epoch, unwrapped
from .metrics import MetricsLog
from .plots import plot_gradient_flow, plot_history
from .task import StepResult, Task
from .watch import Watcher, check_watch


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

    def sums(self) -> dict[str, float]:
        """The count and the sums of loss, correct answers and extras as Python floats (the one host sync)."""
        if self.count == 0:
            return {}
        out = {"count": float(self.count), "loss": float(self.loss_sum.item())}
        if self.correct is not None:
            out["accuracy"] = float(self.correct.item())
        return out | {name: float(value.item()) for name, value in self.extra.items()}

    def read(self, prefix: str) -> dict[str, float]:
        """Mean loss and accuracy as Python floats."""
        return means(self.sums(), prefix)


def means(sums: dict[str, float], prefix: str) -> dict[str, float]:
    """``{prefix_loss: Σ loss / count, ...}`` of a ``_Totals.sums()`` (or of their sums over ranks)."""
    return {f"{prefix}_{name}": value / sums["count"] for name, value in sums.items() if name != "count"}


@dataclass
class Summary:
    """How a run ended: the last completed epoch's metrics and the wall time of this invocation.

    ``stopped`` says a Ctrl-C ended the run before its last epoch; ``discarded`` is
    the epoch it cut short (its partial progress thrown away), or None when it came
    between epochs; ``saved_epoch`` is the epoch the checkpoint on disk holds.
    """

    epochs_run: int
    final: dict[str, float]
    seconds: float
    stopped: bool = False
    discarded: int | None = None
    saved_epoch: int = 0

    def lines(self) -> list[str]:
        def fmt(key: str) -> str:
            value = self.final.get(key)
            return "—" if value is None else format_metric(key, value)

        text = [
            f"epochs run: {self.epochs_run} (through epoch {int(self.final.get('epoch', 0))}), {self.seconds:.1f} s"
        ]
        for split in ("train", "test"):
            if f"{split}_loss" in self.final:
                accuracy = f"  accuracy {fmt(f'{split}_accuracy')}" if f"{split}_accuracy" in self.final else ""
                text.append(f"{split:5s}  loss {fmt(f'{split}_loss')}{accuracy}")
        text += [f"{k}: {v:.6g}" for k, v in self.final.items() if k.startswith("quality")]
        return text


def format_metric(key: str, value: float) -> str:
    """Accuracy as the fraction it is everywhere (0.9712), other numbers with 4-6 digits."""
    return f"{value:.4f}" if "accuracy" in key else f"{value:.6g}"


class _StopFlag:
    """SIGINT handler for the duration of a fit: the first Ctrl-C asks the loop to stop
    after the current step (``at_epoch_end``: after the epoch whose all-reduce first carries it, which
    sets ``agreed`` on every rank alike), the second raises KeyboardInterrupt at once."""

    def __init__(self, at_epoch_end: bool = False, announce: bool = True) -> None:
        self.requested, self.at_epoch_end, self.agreed, self.announce = False, at_epoch_end, False, announce
        self._installed = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if not self.announce:  # another rank says it
            return
        when = "at the end of this epoch (every rank)" if self.at_epoch_end else "after this step"
        discard = "" if self.at_epoch_end else " (the partial epoch is discarded)"
        print(
            f"\nCtrl-C: stopping {when}{discard}; Ctrl-C again aborts at once",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():  # signals reach only the main thread
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            # a handler not set from Python reads as None: the default one is what it was
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.SIG_DFL)


class Trainer:
    """Run ``task`` for ``config.epochs`` epochs, writing everything into ``out_dir``.

    ``meta`` (the recipe's name and the run's config) is stored in every checkpoint. ``watch`` names
    what to watch per layer ("grads", "activations"; see training/watch.py). ``world``: the ranks of a
    data-parallel run (training/distributed.py); rank 0 alone shows progress and writes files.
    """

    def __init__(
        self,
        task: Task,
        config: TrainConfig,
        out_dir: str | Path,
        title: str = "",
        log_every: int = 20,
        progress: bool = True,
        meta: dict[str, Any] | None = None,
        watch: Sequence[str] = (),
        world: World = SINGLE,
    ) -> None:
        if log_every < 1:
            raise ValueError(f"Trainer: log_every must be a positive integer, got {log_every!r}")
        self.watcher = Watcher(check_watch(watch, "Trainer")) if watch else None
        self.task, self.config, self.out_dir = task, config, Path(out_dir)
        self.title, self.log_every, self.progress, self.meta = title, log_every, progress and world.main, meta
        self.world = world
        self.metrics = MetricsLog(self.out_dir)
        self.checkpoint_path = self.out_dir / CHECKPOINT_NAME
        self.save_every = -(-config.epochs // 100)
        self.line_every = 1 if config.epochs <= 20 else -(-config.epochs // 10)
        self.restored_epoch: int | None = None

    def restore(self) -> int:
        """Load the checkpoint and the metrics of its epochs; return the number of epochs done."""
        done = load_checkpoint(self.checkpoint_path, self.task)
        self.metrics.load(done)
        self.restored_epoch = done
        return done

    def fit(self, resume: bool = False) -> Summary:
        start = time.perf_counter()
        if resume and self.restored_epoch is None:
            self.restore()
        done = self.restored_epoch if resume else 0
        saved, stopped, discarded, boundary = done, False, None, None
        writes = self.world.main
        if writes:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        epochs = range(done + 1, self.config.epochs + 1)
        per_epoch_bars = self.config.epochs <= 100
        with (
            self.watcher.attached(self.task) if self.watcher is not None else nullcontext(),
            _StopFlag(at_epoch_end=self.world.collective, announce=self.world.main) as stop,
            tqdm(
                total=len(epochs), disable=not self.progress or per_epoch_bars, unit="epoch", leave=False
            ) as epoch_bar,
        ):
            for epoch in epochs:
                row = self._epoch(epoch, stop, per_epoch_bars)
                if row is None:
                    stopped, discarded = True, epoch
                    break
                self.metrics.rows.append(row)
                epoch_bar.update(1)
                if epoch % self.save_every == 0 or epoch == self.config.epochs:
                    if writes:
                        self.metrics.write()
                        write_state(self.checkpoint_path, checkpoint_state(self.task, epoch, self.meta))
                    saved, boundary = epoch, None
                else:
                    boundary = checkpoint_state(self.task, epoch, self.meta) if writes else {"epoch": epoch}
                if epoch == epochs[0] or epoch % self.line_every == 0 or epoch == self.config.epochs:
                    self._print(_epoch_line(row, self.config.epochs))
                if (stop.agreed if stop.at_epoch_end else stop.requested) and epoch < self.config.epochs:
                    stopped = True
                    break
        if boundary is not None:  # stopped between two writes: the last completed epoch goes to disk
            if writes:
                self.metrics.write()
                write_state(self.checkpoint_path, boundary)
            saved = boundary["epoch"]
        if self.metrics.rows and writes:
            plot_history(self.metrics.rows, self.out_dir / "metrics.png", title=self.title, labels=self._labels())
            if self.watcher is not None and "grads" in self.watcher.watch:
                plot_gradient_flow(self.metrics.rows, self.out_dir / "gradient_flow.png", title=self.title)
        final = self.metrics.rows[-1] if self.metrics.rows else {}
        run = int(final.get("epoch", done)) - done
        return Summary(run, final, time.perf_counter() - start, stopped, discarded, saved)

    def _labels(self) -> dict[str, str]:
        labels = getattr(self.task, "metric_labels", None)
        return labels() if labels is not None else {}

    def _print(self, line: str) -> None:
        if not self.world.main:
            return
        if self.progress:
            tqdm.write(line, file=sys.stdout)
            sys.stdout.flush()
        else:
            print(line, flush=True)

    def _epoch(self, epoch: int, stop: _StopFlag, bar_on: bool) -> dict[str, float] | None:
        """One epoch's metrics row, or None when a Ctrl-C stopped it part-way."""
        totals = _Totals()
        started = time.perf_counter()
        set_epoch(self.task.train_loader, epoch)
        steps = len(self.task.train_loader)
        read: dict[str, float] | None = None  # the bar's read at the last step is the row's (one sync, not two)
        recording = self.watcher.recording() if self.watcher is not None else nullcontext()
        with (
            recording,
            tqdm(
                total=steps,
                desc=f"epoch {epoch}/{self.config.epochs}",
                disable=not (self.progress and bar_on),
                unit="batch",
                dynamic_ncols=True,
                leave=False,
            ) as bar,
        ):
            for step, batch in enumerate(self.task.train_loader, 1):
                totals.add(self.task.train_step(batch))
                bar.update(1)
                if stop.requested and not stop.at_epoch_end:
                    if self.watcher is not None:
                        self.watcher.discard()
                    return None
                read = None
                if bar_on and self.progress and (step % self.log_every == 0 or step == steps):
                    read = totals.read("train")
                    shown = {k.removeprefix("train_"): format_metric(k, v) for k, v in read.items()}
                    samples = totals.count * self.world.size  # rank 0's shard is 1/N of the global batches
                    shown["samples/s"] = f"{samples / (time.perf_counter() - started):,.0f}"
                    bar.set_postfix(shown)
        count = totals.count
        if self.world.collective:  # the epoch's one all-reduce: sums, count and the Ctrl-C flag of every rank
            sums = totals.sums()
            *values, stops = self.world.all_reduce_sum([*sums.values(), float(stop.requested)])
            sums, stop.agreed = dict(zip(sums, values, strict=True)), stops > 0
            read, count = means(sums, "train"), sums["count"]
        row: dict[str, float] = {"epoch": epoch} | (read if read is not None else totals.read("train"))
        seconds = time.perf_counter() - started
        row |= {"train_seconds": seconds, "samples_per_s": count / seconds}
        if self.world.main:
            with unwrapped(self.task):
                if self.task.test_loader is not None:
                    row |= self.evaluate()
                row |= self.task.end_epoch(epoch, self.out_dir)
        self.world.sync_rng()  # rank 0's evaluation and samples may have drawn random numbers
        if self.watcher is not None:
            row |= self.watcher.read()
        return row

    def evaluate(self) -> dict[str, float]:
        """Mean loss (and accuracy) over the test loader."""
        totals = _Totals()
        for batch in self.task.test_loader:
            totals.add(self.task.eval_step(batch))
        return totals.read("test")


def _epoch_line(row: dict[str, float], epochs: int) -> str:
    parts = [f"epoch {int(row['epoch'])}/{epochs}"]
    for key, value in row.items():
        if key not in ("epoch", "samples_per_s") and not key.endswith("seconds") and "/" not in key:  # not watch's
            parts.append(f"{key} {format_metric(key, value)}")
    if "samples_per_s" in row:
        parts.append(f"{row['samples_per_s']:,.0f} samples/s")
    return "  ".join(parts)
