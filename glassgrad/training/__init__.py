"""Training: the loop, its metrics and plots, and exact checkpoints.

task = SupervisedTask(model, loss_fn, optimizer, train_loader, test_loader, multiclass_correct)
Trainer(task, config, "runs/mnist-cnn").fit()
"""

from .accuracy import binary_correct, multiclass_correct
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .config import OPTIMIZERS, TrainConfig
from .language_model import LanguageModelTask
from .metrics import MetricsLog
from .plots import plot_history, save_image_grid
from .task import StepResult, SupervisedTask, Task, to_device
from .trainer import Summary, Trainer

__all__ = [
    "CHECKPOINT_NAME",
    "LanguageModelTask",
    "OPTIMIZERS",
    "MetricsLog",
    "StepResult",
    "Summary",
    "SupervisedTask",
    "Task",
    "TrainConfig",
    "Trainer",
    "binary_correct",
    "load_checkpoint",
    "multiclass_correct",
    "plot_history",
    "save_checkpoint",
    "save_image_grid",
    "to_device",
]
