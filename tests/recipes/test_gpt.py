"""The gpt recipe through the CLI: a tiny run (the recipe's model shrunk to 2 layers of d 32 over
32-token windows, for time) on a small real corpus writes its metrics, tokenizer and samples, and
``generate`` samples from the run directory."""

import json
import math
from pydoc_data.topics import topics

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.cli import main
from glassgrad.recipes import get_recipe, gpt
from glassgrad.text import load_tokenizer

TINY = {"N_LAYER": 2, "N_EMBD": 32, "N_HEAD": 2, "BLOCK_SIZE": 32, "SAMPLE_TOKENS": 20}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two epochs of the tiny gpt on three of Python's help topics (~4,000 characters)."""
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "topics.txt").write_text("\n\n".join(topics[k] for k in ("if", "while", "for")), encoding="utf-8")
    out = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TINY.items():
            patch.setattr(gpt, name, value)
        args = ["train", "gpt", "--data-dir", str(corpus), "--epochs", "2", "--batch-size", "8", "--out", str(out)]
        assert main([*args, "--no-progress", "--overwrite"]) == 0
        yield out


def test_tiny_run_writes_metrics_tokenizer_and_samples(run, capsys):
    rows = json.loads((run / "metrics.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2]
    tokenizer = load_tokenizer(run / "tokenizer.json")
    last = rows[-1]
    # char tokens: bits per char is nats per token / ln 2; the model beats a uniform guess and learns
    assert last["test_bits_per_char"] == pytest.approx(last["test_loss"] / math.log(2), rel=1e-9)
    assert last["test_loss"] < math.log(tokenizer.vocab_size)
    assert last["train_loss"] < rows[0]["train_loss"]
    assert "test_unigram_bits_per_char" in last
    sample = (run / "samples_epoch_002.txt").read_text(encoding="utf-8")
    assert sample.startswith("The ") and len(sample) == len("The ") + TINY["SAMPLE_TOKENS"] + 1


def test_generate_samples_from_the_run(run, capsys):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TINY.items():
            patch.setattr(gpt, name, value)
        greedy = ["generate", str(run), "--prompt", "The if", "--max-new-tokens", "30", "--temperature", "0"]
        assert main(greedy) == 0
        first = capsys.readouterr().out
        assert main(greedy) == 0
        assert capsys.readouterr().out == first
        assert first.startswith("The if") and len(first) == len("The if") + 30 + 1  # 30 characters and print's \n

        # the printed text is the model's own greedy continuation, from the checkpoint's weights
        config = get_recipe("gpt").config()
        model, tokenizer = get_recipe("gpt").generator(config, run)
        model.load_state_dict(gg.load(run / "checkpoint.ggt")["modules"]["model"])
        ids = model.generate(gg.tensor(np.asarray([tokenizer.encode("The if")])), 30, temperature=0)
        assert first == tokenizer.decode(ids[0].numpy().tolist()) + "\n"

        sampled = ["generate", str(run), "--prompt", "", "--max-new-tokens", "20", "--top-k", "5", "--seed", "3"]
        assert main(sampled) == 0
        text = capsys.readouterr().out
        assert text.startswith("\n") and len(text) == 1 + 20 + 1
        assert main(sampled) == 0
        assert capsys.readouterr().out == text

        assert main(["generate", str(run), "--prompt", "Ω≠", "--max-new-tokens", "3"]) == 2
        assert "--prompt: CharTokenizer.encode: character 'Ω'" in capsys.readouterr().err
