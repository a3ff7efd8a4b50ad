"""char-lstm: a short CLI run on a small corpus writes metrics, the tokenizer and samples; the model's
shapes and state for both cells; sampling; the generator rebuilds the run."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.cli import main
from glassgrad.recipes import get_recipe
from glassgrad.recipes.char_lstm import CharRNN
from glassgrad.text import load_tokenizer, pydoc_text


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch of the real recipe on 2,400 characters of the pydoc text, 4 streams (8 steps)."""
    root = tmp_path_factory.mktemp("char_lstm")
    (root / "corpus").mkdir()
    (root / "corpus" / "pydoc.txt").write_text(pydoc_text()[:2400], encoding="utf-8")
    gg.manual_seed(0)
    argv = ["train", "char-lstm", "--epochs", "1", "--batch-size", "4", "--no-progress"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main([*argv, "--data-dir", str(root / "corpus"), "--out", str(root / "run")])
    return code, root / "run", printed.getvalue()


def test_a_short_run_writes_metrics_tokenizer_and_a_sample(run) -> None:
    code, out, printed = run
    assert code == 0 and "bits/char, unigram baseline" in printed and "sample (last epoch): 'The " in printed
    (row,) = json.loads((out / "metrics.json").read_text())
    tokenizer = load_tokenizer(out / "tokenizer.json")
    assert tokenizer.kind == "char" and set(tokenizer.alphabet) == set(pydoc_text()[:2400])
    for key in ("train_loss", "test_loss", "test_bits_per_char", "test_unigram_bits_per_char"):
        assert math.isfinite(row[key])
    assert row["test_bits_per_char"] == pytest.approx(row["test_loss"] / math.log(2), rel=1e-5)  # 1 token = 1 char
    assert row["test_loss"] < math.log(tokenizer.vocab_size)  # it learnt something in 8 steps
    sample = (out / "samples_epoch_001.txt").read_text(encoding="utf-8")
    assert sample.startswith("The ") and len(sample) == len("The ") + 300 + 1


def test_the_generator_rebuilds_the_trained_model(run) -> None:
    _, out, _ = run
    recipe = get_recipe("char-lstm")
    model, tokenizer = recipe.generator(recipe.config(), out)
    state = gg.load(out / "checkpoint.ggt")["modules"]["model"]
    np.testing.assert_array_equal(model.head.weight.detach().numpy(), state["head.weight"].numpy())
    ids = gg.tensor([tokenizer.encode("The ")])
    text = tokenizer.decode(model.generate(ids, 20, temperature=0)[0].tolist())
    assert text.startswith("The ") and len(text) == 24
    assert tokenizer.decode(model.generate(ids, 20, temperature=0)[0].tolist()) == text  # greedy: repeatable


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_model_shapes_and_state_for_each_cell(cell: str) -> None:
    model = CharRNN(11, cell, embed=3, hidden=5, layers=2)
    logits, state = model(gg.tensor(np.arange(12).reshape(2, 6) % 11))
    assert logits.shape == (2, 6, 11)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 2, 5) and isinstance(model.rnn, gg.nn.LSTM if cell == "lstm" else gg.nn.GRU)
    # the state carries: two halves with the state passed along equal the whole sequence
    x = gg.tensor(np.arange(12).reshape(2, 6) % 11)
    first, carried = model(x[:, :3])
    second, _ = model(x[:, 3:], carried)
    np.testing.assert_allclose(gg.cat([first, second], dim=1).detach().numpy(), logits.detach().numpy(), atol=1e-6)


def test_generate_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="CharRNN.generate: temperature must be a number >= 0"):
        CharRNN(4, embed=2, hidden=2, layers=1).generate(gg.tensor([[1]]), 3, temperature=-1.0)
