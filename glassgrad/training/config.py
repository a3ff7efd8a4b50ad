"""TrainConfig: the hyperparameters of one training run, validated in one place.

A recipe states its defaults; the ``train`` command overrides some of them from
the command line. Every value is checked here, before any model, data or file is
touched, so a bad argument fails fast with the offending value named.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
CELLS = ("lstm", "gru")
TOKENIZERS = ("char", "byte", "bpe")
PRECISIONS = ("fp32", "bf16", "fp16")  # bf16/fp16: the forward under autocast; fp16 with a GradScaler


@dataclass(frozen=True)
class TrainConfig:
    """What a run needs besides the recipe: how long, how big, how fast, where."""

    epochs: int
    batch_size: int
    lr: float
    optimizer: str
    device: str = "cpu"
    seed: int = 0
    data_dir: str | None = None
    image_size: int | None = None
    classifier: str | None = None  # gan: a trained mnist-cnn checkpoint that scores the samples
    cell: str | None = None  # char-lstm: the recurrent cell, "lstm" or "gru"
    tokenizer: str | None = None  # text recipes: "char", "byte" or "bpe"
    precision: str = "fp32"  # "fp32", "bf16" or "fp16" (see PRECISIONS)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.epochs, int) or self.epochs < 1:
            problems.append(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            problems.append(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not isinstance(self.lr, int | float) or not self.lr > 0 or self.lr != self.lr:
            problems.append(f"lr must be a positive number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.device not in ("cpu", "cuda"):
            problems.append(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.image_size is not None and (not isinstance(self.image_size, int) or self.image_size < 1):
            problems.append(f"image_size must be a positive integer, got {self.image_size!r}")
        if self.cell is not None and self.cell not in CELLS:
            problems.append(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.tokenizer is not None and self.tokenizer not in TOKENIZERS:
            problems.append(f"tokenizer must be one of {TOKENIZERS}, got {self.tokenizer!r}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if problems:
            raise ValueError("TrainConfig: " + "; ".join(problems))

    def replace(self, **changes: object) -> TrainConfig:
        """A copy with ``changes`` applied (``None`` values are ignored) and re-validated."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
