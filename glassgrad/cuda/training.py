"""A supervised task whose training step runs as one CUDA graph (``python -m glassgrad train --cuda-graph``).

``graphed_task(task)`` wraps a SupervisedTask (a model, a loss, SGD/Adam/AdamW,
fixed-shape batches) so that the trainer's ``train_step(batch)``

1. copies the batch into the static input buffers (GraphedStep),
2. replays the captured forward, loss, backward and optimizer step (MultiTensorStep, whose
   scalars ``refresh()`` rewrites before each replay: Adam's step t, the group's lr),
3. steps the lr scheduler on the host, outside the graph (it only changes ``group["lr"]``,
   which the next refresh reads),

and returns clones of the captured loss and accuracy count, still on the device. The first
``warmup`` steps run eagerly; a batch of another shape (the last, smaller batch of an epoch)
also runs eagerly, with the same optimizer step. Everything else (checkpoints, evaluation,
the loaders) is the wrapped task's.

Refused, with the reason (``check_graphable``): the cpu; tasks other than SupervisedTask's own
step (language models clip gradients by their norm, which reads it; GANs alternate two steps);
fp16 (its GradScaler reads the gradients' finiteness on the host); optimizers other than SGD,
Adam and AdamW; models with active dropout (a graph would replay one mask forever).

Not yet run on a GPU: tests/cuda/test_graphs.py checks the structure on stand-in streams and,
on a GPU (marker ``gpu``), that the captured MLP and mnist-cnn steps give the eager losses.
"""

from __future__ import annotations

from typing import Any

from ..engine.tensor import Tensor
from ..nn.dropout import Dropout
from ..training.task import StepResult, SupervisedTask, to_device
from .graphs import GraphedStep
from .optimizer import MultiTensorStep

WARMUP = 3  # eager steps before the capture


def check_graphable(task: Any) -> None:
    """ValueError saying why ``task``'s training step cannot be captured (nothing when it can)."""
    device = getattr(task, "device", "cpu")
    if device != "cuda":
        raise ValueError(
            f"--cuda-graph needs --device cuda: a CUDA graph replays recorded GPU work, and this run is on {device}"
        )
    if not isinstance(task, SupervisedTask) or type(task).train_step is not SupervisedTask.train_step:
        raise ValueError(
            f"--cuda-graph: captures the step of supervised recipes (model, loss, optimizer on fixed-shape "
            f"batches); {type(task).__name__} has a step of its own (gradient clipping, several models or "
            "variable shapes) that is not captured"
        )
    if task.precision == "fp16":
        raise ValueError(
            "--cuda-graph: --precision fp16 is refused: its GradScaler reads on the host whether the "
            "gradients overflowed, which a captured step cannot do (use fp32 or bf16)"
        )
    try:
        MultiTensorStep(task.optimizer)
    except TypeError as err:
        raise ValueError(f"--cuda-graph: {err}") from None
    for name, module in task.model.named_modules():
        if isinstance(module, Dropout) and module.p > 0:
            raise ValueError(
                f"--cuda-graph: the model's {name or 'root'} is Dropout(p={module.p}), which draws a new mask "
                "every step; a captured step would replay one mask"
            )


class GraphedSupervisedTask:
    """``task`` (a SupervisedTask) with its ``train_step`` run as a CUDA graph; every other attribute is
    the task's own."""

    def __init__(self, task: SupervisedTask, warmup: int = WARMUP) -> None:
        check_graphable(task)
        self.task = task
        self.stepper = MultiTensorStep(task.optimizer)
        self.step = GraphedStep(self._body, warmup=warmup, before_replay=[self.stepper.refresh])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def _body(self, inputs: Tensor, target: Tensor) -> tuple[Tensor, Tensor | None]:
        """Forward, loss, backward and the optimizer step: what the graph records."""
        task = self.task
        task.model.train()
        with task._autocast():
            output = task.model(inputs)
            loss = task.loss_fn(output, target)
        task.optimizer.zero_grad()
        loss.backward()
        self.stepper.step()
        count = output.shape[0] if output.ndim else 1
        correct = task.count_correct(output.detach(), target) if task.count_correct else None
        return loss.detach() * count, correct

    def train_step(self, batch: Any) -> StepResult:
        inputs, target = to_device(batch, self.task.device)
        loss_sum, correct = self.step(inputs, target)
        if self.task.scheduler is not None:
            self.task.scheduler.step()
        return StepResult(loss_sum, inputs.shape[0] if inputs.ndim else 1, correct)


def graphed_task(task: Any, warmup: int = WARMUP) -> GraphedSupervisedTask:
    """``task`` with its training step captured as a CUDA graph (ValueError when it cannot be)."""
    return GraphedSupervisedTask(task, warmup)
