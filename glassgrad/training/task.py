"""What the trainer trains: a Task owns the modules, optimizers and data of a run
and knows how to take one step on a batch.

The trainer (``trainer.py``) only loops, logs and checkpoints; everything that is
specific to a model — which loss, how accuracy is counted, how a GAN alternates
its two players — lives in a task. ``SupervisedTask`` covers every recipe that
maps inputs to targets; the GAN recipe defines its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..amp import GradScaler, autocast
from ..engine import dtypes
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from ..nn.module import Module
from ..nn.utils.clip_grad import clip_grad_norm_
from .distributed import unwrap

LOW_DTYPES = {"bf16": dtypes.bfloat16, "fp16": dtypes.float16}  # a task's precision -> autocast dtype


@dataclass
class StepResult:
    """One batch's contribution to the epoch's metrics, kept on the device.

    ``loss_sum`` is the batch loss times its size (so an epoch's mean loss is
    Σ loss_sum / Σ count); ``correct`` is None for tasks without an accuracy.
    """

    loss_sum: Tensor
    count: int
    correct: Tensor | None = None
    extra: dict[str, Tensor] = field(default_factory=dict)


class Task(Protocol):
    """The interface the trainer needs. A task with a ``test_loader`` also has
    ``eval_step(batch) -> StepResult`` (no update, eval mode)."""

    train_loader: Iterable[Any]
    test_loader: Iterable[Any] | None

    def modules(self) -> dict[str, Module]: ...

    def optimizers(self) -> dict[str, Any]: ...

    def train_step(self, batch: Any) -> StepResult: ...

    def end_epoch(self, epoch: int, out_dir: Path) -> dict[str, float]: ...


def to_device(batch: Any, device: str) -> Any:
    """Move every tensor of a batch (a tensor, tuple or list) to ``device``."""
    if isinstance(batch, Tensor):
        return batch if batch.device == device else batch.to(device)
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


class OneModelTask:
    """What the trainer asks of a task with one ``model``, one ``optimizer`` and at most one ``scheduler``.

    ``modules()`` holds the plain model also when ``model`` is a DistributedDataParallel wrapping it, so
    checkpoints carry no ``module.`` prefix and load on any number of ranks.

    ``precision`` "bf16" or "fp16" runs the forward and the loss under ``autocast`` in that dtype (the
    parameters stay float32); "fp16" scales the loss with a ``GradScaler`` (``scaler``), which skips the
    steps whose gradients overflow."""

    model: Module
    optimizer: Any
    scheduler: Any
    device: str
    precision: str
    scaler: GradScaler

    def _init_precision(self) -> None:
        """Check ``precision`` and make the loss scaler (disabled, a pass-through, unless fp16)."""
        if self.precision not in LOW_DTYPES and self.precision != "fp32":
            raise ValueError(f"{type(self).__name__}: precision must be fp32, bf16 or fp16, got {self.precision!r}")
        self.scaler = GradScaler(self.device, enabled=self.precision == "fp16")

    def scalers(self) -> dict[str, GradScaler]:
        return {"scaler": self.scaler}

    def _autocast(self) -> autocast:
        """The region the forward and the loss run in: autocast to bfloat16/float16, a disabled one for fp32."""
        low = LOW_DTYPES.get(self.precision)
        return autocast(self.device, dtype=low, enabled=low is not None)

    def _optimize(self, loss: Tensor, clip_norm: float | None = None) -> None:
        """Backward and one optimizer step (and the scheduler's): the loss scaled for fp16, the gradients
        unscaled before clipping them to ``clip_norm``; a step whose gradients overflowed is skipped."""
        self.optimizer.zero_grad()
        self.scaler.scale(loss).backward()  # a disabled scaler: loss.backward(), and step() is optimizer.step()
        if clip_norm is not None:
            self.scaler.unscale_(self.optimizer)
            clip_grad_norm_(self.model.parameters(), clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()

    def modules(self) -> dict[str, Module]:
        return {"model": unwrap(self.model)}

    def optimizers(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer}

    def schedulers(self) -> dict[str, Any]:
        return {} if self.scheduler is None else {"scheduler": self.scheduler}


@dataclass
class SupervisedTask(OneModelTask):
    """loss = loss_fn(model(x), y); backward; optimizer step (then ``scheduler.step()``, if any).

    ``count_correct(output, target)`` returns the number of right answers as a
    tensor (see ``accuracy.py``), or is None for regression. A ``scheduler`` is
    stepped once per batch, so its "epoch" counts steps (a warm-up, a cosine).
    ``precision``: see OneModelTask.
    """

    model: Module
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    optimizer: Any
    train_loader: Iterable[Any]
    test_loader: Iterable[Any] | None = None
    count_correct: Callable[[Tensor, Tensor], Tensor] | None = None
    device: str = "cpu"
    scheduler: Any = None
    precision: str = "fp32"
    scaler: GradScaler = field(init=False)

    def __post_init__(self) -> None:
        self._init_precision()

    def _result(self, output: Tensor, target: Tensor, loss: Tensor) -> StepResult:
        count = output.shape[0] if output.ndim else 1
        correct = self.count_correct(output.detach(), target) if self.count_correct else None
        return StepResult(loss.detach() * count, count, correct)

    def train_step(self, batch: Any) -> StepResult:
        inputs, target = to_device(batch, self.device)
        self.model.train()
        with self._autocast():
            output = self.model(inputs)
            loss = self.loss_fn(output, target)
        self._optimize(loss)
        return self._result(output, target, loss)

    def eval_step(self, batch: Any) -> StepResult:
        inputs, target = to_device(batch, self.device)
        self.model.eval()
        with no_grad(), self._autocast():
            output = self.model(inputs)
            return self._result(output, target, self.loss_fn(output, target))

    def end_epoch(self, epoch: int, out_dir: Path) -> dict[str, float]:
        return {}
