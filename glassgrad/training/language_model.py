"""LanguageModelTask: next-token prediction for the trainer, with bits per character and a sample per epoch.

Per batch of inputs x (B, T) and targets y (B, T) (y = x shifted by one token, ``text/lm_data.py``):

    logits = model(x)                      (B, T, V)   stateless (a transformer)
    logits, state = model(x, state)        (B, T, V)   stateful (an RNN; truncated BPTT)
    L = −(1/BT) Σ_{b,t} log softmax(logits[b, t])[y[b, t]]        nats per token
    backward; clip ‖∇θ‖₂ to ``clip_norm``; optimizer step; scheduler step (per batch, if any)

``stateful=True``: the state a batch ends with starts the next batch, detached, so gradients flow
through ``bptt`` steps only while the state carries the whole stream's history; it is reset to None
(the model's zeros) at the start of every pass over a loader (an epoch, an evaluation).

The trainer's held-out split is its ``test_loader``: here the validation text, so ``test_loss`` is the
validation loss in nats per token. ``end_epoch`` adds, over the same targets,

    test_bits_per_char = Σ nats / (ln 2 · characters)     test_bits_per_byte = Σ nats / (ln 2 · UTF-8 bytes)

(the characters and bytes the validation target tokens decode to; per token these equal
loss · tokens / (ln 2 · characters)), the unigram baseline when ``train_ids`` are given — the same
quantities for p(v) = (n_v + 1) / (N + V), the add-one smoothed token frequencies of the training ids,
which knows nothing of context — and writes ``samples_epoch_NNN.txt``: ``sample_tokens`` tokens from
``model.generate`` after ``sample_prompt`` (also kept as ``last_sample``). The tokenizer is saved once, as ``out_dir/tokenizer.json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..amp import GradScaler
from ..engine import creation
from ..engine.grad_mode import no_grad
from ..engine.ops.losses import cross_entropy
from ..engine.tensor import Tensor
from ..nn.module import Module
from .task import OneModelTask, StepResult, to_device

TOKENIZER_NAME = "tokenizer.json"


def detach_state(state: Any) -> Any:
    """A recurrent state (a tensor, or nested tuples/lists of them, e.g. LSTM's (h, c)) cut from its graph."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    return state


class _Pass:
    """Iterates ``loader`` after calling ``on_start`` (each new pass resets the recurrent state)."""

    def __init__(self, loader: Iterable[Any], on_start: Callable[[], None]) -> None:
        self.loader, self.on_start = loader, on_start

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        self.on_start()
        return iter(self.loader)


def bits(nats: float, units: int) -> float:
    """nats spent on ``units`` characters (or bytes) → bits per unit: nats / (ln 2 · units)."""
    return nats / (math.log(2) * units)


def unigram_nats(train_ids: Iterable[int], targets: np.ndarray, vocab_size: int) -> float:
    """Σ −ln p(y) over ``targets`` for p(v) = (n_v + 1) / (N + V), the add-one smoothed training frequencies."""
    counts = np.bincount(np.asarray(train_ids, dtype=np.int64), minlength=vocab_size).astype(np.float64)
    log_p = np.log(counts + 1) - np.log(counts.sum() + vocab_size)
    return float(-log_p[targets].sum())


@dataclass
class LanguageModelTask(OneModelTask):
    """Next-token cross-entropy over a tokenized stream (see the module docstring).

    ``val_loader`` must expose ``target_segments()`` (``TokenBlocks(shuffle=False)``, ``BPTTBatches``) for
    the bits per character, and ``tokenizer`` decodes them. ``clip_norm=None`` turns clipping off.
    """

    model: Module
    optimizer: Any
    train_loader: Iterable[Any]
    val_loader: Iterable[Any] | None
    tokenizer: Any
    stateful: bool = False
    clip_norm: float | None = 1.0
    scheduler: Any = None
    device: str = "cpu"
    train_ids: Any = None
    sample_prompt: str = "The "
    sample_tokens: int = 300
    temperature: float = 0.8
    top_k: int | None = None
    precision: str = "fp32"
    scaler: GradScaler = field(init=False, repr=False)
    state: Any = field(default=None, init=False, repr=False)
    _val_nats: Tensor | None = field(default=None, init=False, repr=False)
    _val_tokens: int = field(default=0, init=False, repr=False)
    _val_units: dict[str, float] | None = field(default=None, init=False, repr=False)
    _tokenizer_saved: bool = field(default=False, init=False, repr=False)
    last_sample: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._init_precision()
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"LanguageModelTask: clip_norm must be positive or None, got {self.clip_norm!r}")
        if self.sample_tokens < 0:
            raise ValueError(f"LanguageModelTask: sample_tokens must be >= 0, got {self.sample_tokens!r}")
        if self.val_loader is not None:
            if not hasattr(self.val_loader, "target_segments"):
                raise ValueError(
                    "LanguageModelTask: val_loader needs target_segments() (TokenBlocks(shuffle=False) or "
                    "BPTTBatches) to count the characters behind the validation loss"
                )
            self.val_units()
        self.train_loader = _Pass(self.train_loader, self._reset)
        self.test_loader = None if self.val_loader is None else _Pass(self.val_loader, self._start_eval)

    def metric_labels(self) -> dict[str, str]:
        return {"test_loss": "validation", "test_unigram_loss": "unigram baseline (validation)"}

    def _reset(self) -> None:
        self.state = None

    def _start_eval(self) -> None:
        self.state, self._val_nats, self._val_tokens = None, None, 0

    def _loss(self, inputs: Tensor, target: Tensor) -> Tensor:
        """Mean nats per target token; carries the state of a stateful model."""
        if self.stateful:
            logits, state = self.model(inputs, self.state)
            self.state = detach_state(state)
        else:
            logits = self.model(inputs)
        return cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))

    def train_step(self, batch: Any) -> StepResult:
        inputs, target = to_device(batch, self.device)
        self.model.train()
        with self._autocast():
            loss = self._loss(inputs, target)
        self._optimize(loss, self.clip_norm)
        count = target.numel()
        return StepResult(loss.detach() * count, count)

    def eval_step(self, batch: Any) -> StepResult:
        inputs, target = to_device(batch, self.device)
        self.model.eval()
        with no_grad(), self._autocast():
            loss = self._loss(inputs, target)
        count = target.numel()
        nats = loss.detach() * count
        self._val_nats = nats if self._val_nats is None else self._val_nats + nats
        self._val_tokens += count
        return StepResult(nats, count)

    def val_units(self) -> dict[str, float]:
        """Characters, UTF-8 bytes and tokens of the validation targets, and the unigram baseline's nats."""
        if self._val_units is None:
            segments = self.val_loader.target_segments()  # type: ignore[union-attr]
            texts = [self.tokenizer.decode(np.asarray(s).tolist()) for s in segments]
            units = {
                "characters": sum(len(t) for t in texts),
                "bytes": sum(len(t.encode("utf-8")) for t in texts),
                "tokens": sum(len(s) for s in segments),
            }
            if self.train_ids is not None:
                targets = np.concatenate([np.asarray(s, dtype=np.int64) for s in segments])
                units["unigram_nats"] = unigram_nats(self.train_ids, targets, self.tokenizer.vocab_size)
            self._val_units = units
        return self._val_units

    def validation_metrics(self) -> dict[str, float]:
        """Bits per character/byte of the last evaluation and the unigram baseline's (module docstring)."""
        if self._val_nats is None:
            return {}
        units = self.val_units()
        nats = float(self._val_nats.item())
        if self._val_tokens != units["tokens"]:
            raise RuntimeError(
                f"LanguageModelTask: the evaluation saw {self._val_tokens} target tokens, target_segments() "
                f"holds {units['tokens']}"
            )
        out = {
            "test_bits_per_char": bits(nats, units["characters"]),
            "test_bits_per_byte": bits(nats, units["bytes"]),
        }
        if "unigram_nats" in units:
            baseline = units["unigram_nats"]
            out |= {
                "test_unigram_loss": baseline / units["tokens"],
                "test_unigram_bits_per_char": bits(baseline, units["characters"]),
            }
        return out

    def sample(self, prompt: str | None = None, tokens: int | None = None) -> str:
        """``prompt`` followed by ``tokens`` tokens drawn from ``model.generate`` (eval mode, no grad)."""
        prompt = self.sample_prompt if prompt is None else prompt
        ids = self.tokenizer.encode(prompt) or [0]
        idx = creation.tensor(np.asarray([ids], dtype=np.int64))
        if self.device != "cpu":
            idx = idx.to(self.device)
        self.model.eval()
        with no_grad():
            out = self.model.generate(
                idx, self.sample_tokens if tokens is None else tokens, temperature=self.temperature, top_k=self.top_k
            )
        return self.tokenizer.decode(out[0].cpu().numpy().tolist())

    def end_epoch(self, epoch: int, out_dir: Path) -> dict[str, float]:
        out_dir = Path(out_dir)
        if not self._tokenizer_saved:
            self.tokenizer.save(out_dir / TOKENIZER_NAME)
            self._tokenizer_saved = True
        if self.sample_tokens:
            self.last_sample = self.sample()
            (out_dir / f"samples_epoch_{epoch:03d}.txt").write_text(self.last_sample + "\n", encoding="utf-8")
        return self.validation_metrics()
