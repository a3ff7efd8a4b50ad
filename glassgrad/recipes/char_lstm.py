"""char-lstm: a character-level recurrent language model, trained by truncated backprop through time.

    x_t (a character id) → Embedding(V, 64) → 2-layer LSTM (or GRU, ``--cell gru``), hidden 256
    → Linear(256, V) → logits for x_{t+1}

Data: the cleaned English of Python's help topics (``text.pydoc_text()``, ~240,000 characters), or the
``*.txt`` files of ``--data-dir``; every 10th paragraph is held out for validation (``split_text``). The
vocabulary is the characters of the whole corpus (``--tokenizer byte``/``bpe`` also work: bytes, or BPE
merges learnt on the training part). The training text is cut into ``batch_size`` parallel streams
(``BPTTBatches``) walked in chunks of ``BPTT`` = 64 steps: each chunk starts from the state the previous
chunk of the same stream ended with, detached, so gradients cover 64 steps while the state carries the
whole stream. Adam (lr 2e-3), gradients clipped to norm 1, cross-entropy per character.

Metrics per epoch: train and validation loss (nats per character), validation bits per character and
the unigram baseline's (each character predicted by its training frequency alone, add-one smoothed),
and ``samples_epoch_NNN.txt``: 300 characters sampled after "The " (temperature 0.8).
``python -m glassgrad generate RUN_DIR --prompt ...`` samples from a trained run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..engine import creation
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from ..models.sampling import check_sampling, next_token
from ..text import BPTTBatches, load_tokenizer, read_text_corpus, tokenized_corpus
from ..training.config import TrainConfig
from ..training.language_model import TOKENIZER_NAME, LanguageModelTask
from .common import make_optimizer
from .registry import Recipe, register

EMBED, HIDDEN, LAYERS, BPTT = 64, 256, 2, 64
VAL_FRACTION = 0.1
CLIP_NORM = 1.0
CELLS = {"lstm": "LSTM", "gru": "GRU"}


class CharRNN(nn.Module):
    """Embedding → nn.LSTM/nn.GRU (batch_first) → Linear; ``forward(idx, state) -> (logits, state)``."""

    def __init__(
        self, vocab_size: int, cell: str = "lstm", embed: int = EMBED, hidden: int = HIDDEN, layers: int = LAYERS
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"CharRNN: cell must be one of {tuple(CELLS)}, got {cell!r}")
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed)
        self.rnn = getattr(nn, CELLS[cell])(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """idx (B, T) int64 → logits (B, T, V), and the final state (h_n, or (h_n, c_n) for LSTM)."""
        output, state = self.rnn(self.embedding(idx), state)
        return self.head(output), state

    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
        """``idx`` (B, T) followed by ``max_new_tokens`` sampled ids: the prompt is read once, then each new
        token is fed back with the carried state (``models.sampling.next_token`` draws it)."""
        check_sampling("CharRNN.generate", max_new_tokens, temperature, top_k)
        if idx.ndim != 2 or idx.shape[1] < 1:
            raise ValueError(f"CharRNN.generate: idx must be (B, T) with T >= 1, got shape {tuple(idx.shape)}")
        out = [idx.cpu().numpy().astype(np.int64)]
        with no_grad():
            logits, state = self(idx)
            for _ in range(max_new_tokens):
                token = next_token(logits[:, -1], temperature, top_k).numpy()[:, None]
                out.append(token)
                step = creation.tensor(token)
                logits, state = self(step if idx.device == "cpu" else step.to(idx.device), state)
        result = creation.tensor(np.concatenate(out, axis=1))
        return result if idx.device == "cpu" else result.to(idx.device)


def check_data(config: TrainConfig) -> None:
    if config.data_dir is not None:
        text = read_text_corpus(config.data_dir)
        if len(text) < 2 * BPTT:
            raise ValueError(f"--data-dir {config.data_dir}: {len(text)} characters is too little text to train on")


def build(config: TrainConfig) -> LanguageModelTask:
    tokenizer, train_ids, val_ids = tokenized_corpus(config.data_dir, config.tokenizer or "char", VAL_FRACTION)
    batch = config.batch_size
    for name, ids in (("training", train_ids), ("validation", val_ids)):
        if len(ids) < 2 * batch:
            raise ValueError(
                f"char-lstm: the {name} text has {len(ids)} tokens, fewer than 2 per stream of --batch-size {batch}; "
                "give more text or a smaller --batch-size"
            )
    model = CharRNN(tokenizer.vocab_size, config.cell or "lstm").to(config.device)
    return LanguageModelTask(
        model,
        make_optimizer(config, model.parameters()),
        BPTTBatches(train_ids, batch, BPTT, config.device),
        BPTTBatches(val_ids, batch, BPTT, config.device),
        tokenizer,
        stateful=True,
        clip_norm=CLIP_NORM,
        device=config.device,
        train_ids=train_ids,
        precision=config.precision,
    )


def report(task: LanguageModelTask) -> list[str]:
    metrics = task.validation_metrics()
    if not metrics:
        return []
    lines = [
        f"validation: {metrics['test_bits_per_char']:.3f} bits/char, unigram baseline "
        f"{metrics['test_unigram_bits_per_char']:.3f} bits/char ({task.tokenizer.vocab_size} tokens)"
    ]
    if task.last_sample is not None:
        lines.append(f"sample (last epoch): {task.last_sample[:200]!r}")
    return lines


def generator(config: TrainConfig, run_dir: Path) -> tuple[CharRNN, Any]:
    """The trained model (from ``RUN_DIR/checkpoint.ggt``) and its tokenizer (``RUN_DIR/tokenizer.json``)."""
    import glassgrad

    from ..training.checkpoint import CHECKPOINT_NAME

    run_dir = Path(run_dir)
    tokenizer = load_tokenizer(run_dir / TOKENIZER_NAME)
    state = glassgrad.load(run_dir / CHECKPOINT_NAME)
    model = CharRNN(tokenizer.vocab_size, config.cell or "lstm")
    model.load_state_dict(state["modules"]["model"])
    return model.to(config.device).eval(), tokenizer


RECIPE = register(
    Recipe(
        "char-lstm",
        f"character LSTM/GRU language model ({LAYERS}×{HIDDEN}, --cell lstm|gru) on the pydoc English or a "
        f"--data-dir of .txt files; truncated BPTT ({BPTT} steps), Adam, clipping; bits/char and samples",
        TrainConfig(epochs=3, batch_size=32, lr=2e-3, optimizer="adam", cell="lstm", tokenizer="char"),
        build,
        check_data=check_data,
        report=report,
        generator=generator,
    )
)
