"""LanguageModelTask: bits-per-char arithmetic, the unigram baseline, state carried between batches
(detached, reset per pass), clipping, and what end_epoch writes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassgrad as gg
from glassgrad import nn
from glassgrad.text import BPTTBatches, TokenBlocks, build_tokenizer, load_tokenizer
from glassgrad.training import TrainConfig, Trainer
from glassgrad.training.language_model import LanguageModelTask

TEXT = "the cat sat on the mat; the dog ate the hat. " * 12


class Bigram(nn.Module):
    """Stateless: logits = table[x] (B, T, V); or, with ``uniform``, zeros (every token 1/V)."""

    def __init__(self, vocab: int, uniform: bool = False) -> None:
        super().__init__()
        self.table = nn.Embedding(vocab, vocab)
        self.uniform = uniform

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        logits = self.table(x)
        return logits * 0 if self.uniform else logits

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx = gg.cat([idx, self.table(idx[:, -1:]).argmax(dim=-1)], dim=1)
        return idx


class Running(nn.Module):
    """Stateful: h_t = tanh(e(x_t) + h_{t-1}), logits = W h_t. Records the states it was given."""

    def __init__(self, vocab: int, hidden: int = 4) -> None:
        super().__init__()
        self.embed, self.head = nn.Embedding(vocab, hidden), nn.Linear(hidden, vocab)
        self.seen: list = []

    def forward(self, x, state):
        self.seen.append(state)
        h = gg.zeros(x.shape[0], self.embed.embedding_dim, dtype=self.head.weight.dtype) if state is None else state
        outs = []
        for t in range(x.shape[1]):
            h = (self.embed(x[:, t]) + h).tanh()
            outs.append(h)
        return self.head(gg.stack(outs, dim=1)), h


@pytest.fixture(scope="module")
def data():
    tok = build_tokenizer("bpe", TEXT, vocab_size=270)
    ids = np.asarray(tok.encode(TEXT))
    return tok, ids[: len(ids) // 2], ids[len(ids) // 2 :]


def test_uniform_model_costs_log2_v_bits_per_token(data) -> None:
    tok, train_ids, val_ids = data
    val = TokenBlocks(val_ids, block_size=5, batch_size=3, shuffle=False)
    model = Bigram(tok.vocab_size, uniform=True)
    task = LanguageModelTask(model, gg.optim.SGD(model.parameters(), lr=0.1), [], val, tok, train_ids=train_ids)
    summed = [task.eval_step(batch) for batch in task.test_loader]
    tokens = sum(r.count for r in summed)
    (segment,) = val.target_segments()
    chars = len(tok.decode(segment.tolist()))
    assert tokens == len(segment) and chars > tokens  # BPE: several characters per token
    metrics = task.validation_metrics()
    assert metrics["test_bits_per_char"] == pytest.approx(math.log2(tok.vocab_size) * tokens / chars, rel=1e-6)
    assert metrics["test_bits_per_byte"] == pytest.approx(metrics["test_bits_per_char"])  # ASCII text
    counts = np.bincount(train_ids, minlength=tok.vocab_size)
    expected = -np.mean(np.log((counts[segment] + 1) / (len(train_ids) + tok.vocab_size)))
    assert metrics["test_unigram_loss"] == pytest.approx(expected, rel=1e-12)
    assert metrics["test_unigram_bits_per_char"] == pytest.approx(expected * tokens / (math.log(2) * chars))


def test_stateful_task_carries_detached_state_and_resets_each_pass() -> None:
    tok = build_tokenizer("char", TEXT)
    ids = np.asarray(tok.encode(TEXT))
    model = Running(tok.vocab_size)
    loader = BPTTBatches(ids, batch_size=2, bptt=6)
    task = LanguageModelTask(model, gg.optim.Adam(model.parameters(), lr=0.01), loader, loader, tok, stateful=True)
    for _ in range(2):
        for batch in task.train_loader:
            task.train_step(batch)
    first, *rest = model.seen[: len(loader)]
    assert first is None and all(s is not None and not s.requires_grad for s in rest)
    assert model.seen[len(loader)] is None  # the second epoch starts from zeros
    for batch in task.test_loader:
        task.eval_step(batch)
    assert model.seen[2 * len(loader)] is None
    chars = loader.tokens  # characters: one token each
    assert task.validation_metrics()["test_bits_per_char"] == pytest.approx(
        float(task._val_nats.item()) / (math.log(2) * chars)
    )


def test_gradients_are_clipped_before_the_step(data) -> None:
    tok, train_ids, _ = data
    model = Bigram(tok.vocab_size)
    batch = next(iter(TokenBlocks(train_ids, 4, 2)))
    task = LanguageModelTask(model, gg.optim.SGD(model.parameters(), lr=1.0), [], None, tok, clip_norm=1e-3)
    before = model.table.weight.detach().numpy().copy()
    task.train_step(batch)
    step = model.table.weight.detach().numpy() - before
    assert np.linalg.norm(step) == pytest.approx(1e-3, rel=1e-4)
    with pytest.raises(ValueError, match="target_segments"):
        LanguageModelTask(model, task.optimizer, [], TokenBlocks(train_ids, 4, 2), tok)


def test_a_fit_writes_tokenizer_samples_and_validation_metrics(data, tmp_path) -> None:
    tok, train_ids, val_ids = data
    model = Bigram(tok.vocab_size)
    train = TokenBlocks(train_ids, 8, 4, batches=5)
    val = TokenBlocks(val_ids, 8, 4, shuffle=False)
    task = LanguageModelTask(
        model, gg.optim.Adam(model.parameters(), lr=0.05), train, val, tok, train_ids=train_ids, sample_tokens=7
    )
    config = TrainConfig(epochs=2, batch_size=4, lr=0.05, optimizer="adam")
    summary = Trainer(task, config, tmp_path, progress=False).fit()
    row = summary.final
    assert {"train_loss", "test_loss", "test_bits_per_char", "test_unigram_loss"} <= set(row)
    assert row["test_loss"] == pytest.approx(
        row["test_bits_per_char"]
        * math.log(2)
        * len(tok.decode(val.target_segments()[0].tolist()))
        / len(val.target_segments()[0])
    )
    assert load_tokenizer(tmp_path / "tokenizer.json") == tok
    sample = (tmp_path / "samples_epoch_002.txt").read_text()
    assert sample.startswith("The ") and len(tok.encode(sample.rstrip("\n"))) >= 7
