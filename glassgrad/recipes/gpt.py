"""gpt: a small decoder-only transformer language model (GPT-2's architecture, ``models/gpt2.py``).

    token ids (B, 64) → wte + wpe (d 128) → 4 pre-norm blocks (4 heads of 32, MLP 512, tanh GELU)
    → ln_f → logits through the tied embedding (wteᵀ)                      814,592 parameters (102 chars)

Data: the cleaned English of Python's help topics (``text.pydoc_text()``, ~240,000 characters), or the
``*.txt`` files of ``--data-dir``; every 10th paragraph is held out for validation (``split_text``).
``--tokenizer char`` (default: the characters of the corpus), ``byte`` (the 256 UTF-8 bytes) or ``bpe``
(512 byte-level BPE tokens learnt on the training part by the ``tokenizers`` package). Training batches
are ``batch_size`` windows of 64 tokens at random positions (``TokenBlocks``; an epoch is as many
batches as cover the training text once); validation reads every held-out token once.

AdamW (β = 0.9, 0.95; weight decay 0.1 on the matrices and embeddings, none on biases and LayerNorm),
lr warmed up linearly over the first 10% of the steps and then a cosine down to 0 (stepped per batch),
gradients clipped to norm 1. No dropout: the model is small against its data and under-fits in a few
minutes (and dropout in attention runs the unfused path). Windows of 64 rather than 128 tokens: half the
tokens per step buy twice the steps, and the steps are what a few minutes lack. Seed 0, on the pydoc
text: validation 2.57 → 2.35 nats per character (3.38 bits/char) in 4 epochs of 128-token windows against
2.48 → 1.89 (2.73 bits/char) in 3 epochs of 64-token ones, the unigram baseline 4.61 bits/char; both
runs took about 14 minutes on 2 cores shared with seven other busy processes.

Metrics per epoch: train and validation loss (nats per token), validation bits per character and per
byte, the unigram baseline's, and ``samples_epoch_NNN.txt`` (300 tokens after "The ", temperature 0.8,
top-k 40). ``python -m glassgrad generate RUN_DIR --prompt ...`` samples from a trained run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import optim
from ..models.gpt2 import GPT2Config, GPT2LMHeadModel
from ..text import TokenBlocks, load_tokenizer, read_text_corpus, tokenized_corpus
from ..training.config import TrainConfig
from ..training.language_model import TOKENIZER_NAME, LanguageModelTask
from .common import make_optimizer, warmup_then_cosine
from .registry import Recipe, register

N_LAYER, N_EMBD, N_HEAD, BLOCK_SIZE = 4, 128, 4, 64
VAL_FRACTION = 0.1
CLIP_NORM = 1.0
WEIGHT_DECAY = 0.1
WARMUP_SHARE = 0.1
BETAS = (0.9, 0.95)
SAMPLE_TOKENS = 300  # per epoch, into samples_epoch_NNN.txt


def model_config(vocab_size: int) -> GPT2Config:
    """The recipe's GPT-2 for a tokenizer of ``vocab_size`` tokens (no dropout; see the module docstring)."""
    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=BLOCK_SIZE,
        n_embd=N_EMBD,
        n_layer=N_LAYER,
        n_head=N_HEAD,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        resid_pdrop=0.0,
    )


def check_data(config: TrainConfig) -> None:
    """A --data-dir must hold .txt files with enough text for one training and one validation window."""
    if config.data_dir is not None:
        text = read_text_corpus(config.data_dir)
        if len(text) < 20 * (BLOCK_SIZE + 1):
            raise ValueError(
                f"--data-dir {config.data_dir}: {len(text)} characters is too little text for gpt "
                f"(it needs at least {20 * (BLOCK_SIZE + 1)}: a tenth of it, held out, must fill a "
                f"{BLOCK_SIZE}-token window)"
            )


def parameter_groups(model: GPT2LMHeadModel) -> list[dict[str, Any]]:
    """Weight decay on the 2-D parameters (matrices, embeddings), none on biases and LayerNorm gains."""
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": WEIGHT_DECAY},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]


def build(config: TrainConfig) -> LanguageModelTask:
    tokenizer, train_ids, val_ids = tokenized_corpus(config.data_dir, config.tokenizer or "char", VAL_FRACTION)
    for name, ids in (("training", train_ids), ("validation", val_ids)):
        if len(ids) < BLOCK_SIZE + 1:
            raise ValueError(
                f"gpt: the {name} text has {len(ids)} tokens, fewer than one {BLOCK_SIZE}-token window and its "
                "target; give more text"
            )
    model = GPT2LMHeadModel(model_config(tokenizer.vocab_size)).to(config.device)
    options = {"betas": BETAS} if config.optimizer in ("adam", "adamw") else {}
    optimizer = make_optimizer(config, parameter_groups(model), **options)
    train_loader = TokenBlocks(train_ids, BLOCK_SIZE, config.batch_size, shuffle=True, device=config.device)
    val_loader = TokenBlocks(val_ids, BLOCK_SIZE, config.batch_size, shuffle=False, device=config.device)
    total_steps = config.epochs * len(train_loader)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, warmup_then_cosine(total_steps, WARMUP_SHARE))
    return LanguageModelTask(
        model,
        optimizer,
        train_loader,
        val_loader,
        tokenizer,
        clip_norm=CLIP_NORM,
        scheduler=scheduler,
        device=config.device,
        train_ids=train_ids,
        sample_tokens=SAMPLE_TOKENS,
        top_k=40,
        precision=config.precision,
    )


def report(task: LanguageModelTask) -> list[str]:
    metrics = task.validation_metrics()
    if not metrics:
        return []
    return [
        f"validation: {metrics['test_bits_per_char']:.3f} bits/char ({metrics['test_bits_per_byte']:.3f} bits/byte), "
        f"unigram baseline {metrics['test_unigram_bits_per_char']:.3f} bits/char "
        f"({task.tokenizer.vocab_size} tokens, {task.model.num_parameters():,} parameters)",
        f"sample: {task.sample(tokens=min(120, task.sample_tokens))!r}",
    ]


def generator(config: TrainConfig, run_dir: Path) -> tuple[GPT2LMHeadModel, Any]:
    """The run's model, untrained (``generate`` loads ``checkpoint.ggt`` into it), and its tokenizer
    (``RUN_DIR/tokenizer.json``, which fixes the vocabulary size)."""
    tokenizer = load_tokenizer(Path(run_dir) / TOKENIZER_NAME)
    return GPT2LMHeadModel(model_config(tokenizer.vocab_size)).to(config.device), tokenizer


RECIPE = register(
    Recipe(
        "gpt",
        f"GPT-2-style decoder ({N_LAYER} layers, d {N_EMBD}, {N_HEAD} heads, block {BLOCK_SIZE}) on the pydoc English "
        "or a --data-dir of .txt files, --tokenizer char|byte|bpe; AdamW (warm-up + cosine), clipping; bits/char",
        TrainConfig(epochs=3, batch_size=32, lr=3e-3, optimizer="adamw", tokenizer="char"),
        build,
        check_data=check_data,
        report=report,
        generator=generator,
    )
)
