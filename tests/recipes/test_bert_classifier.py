"""bert-classifier: the padded batches (a text's logits do not depend on the padding around it), and a tiny
run through the CLI on a --data-dir TSV that writes metrics, checkpoint, tokenizer and labels, learns the
keyword task, and resumes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.cli import main
from glassgrad.recipes.bert_classifier import BertClassifier, EncodedTexts, LengthBatches, PadCollate, encoder_config
from glassgrad.text import build_tokenizer
from glassgrad.training.checkpoint import read_meta

WORDS = {"sport": ["goal", "match", "team", "score"], "food": ["bread", "soup", "cheese", "apple"]}
FILLER = ["the", "a", "of", "and", "with", "today", "was", "very", "our", "big"]


def _examples(n: int, seed: int) -> list[tuple[str, str]]:
    """Texts of 3-14 filler words with one or two words of their label's topic."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = ("sport", "food")[i % 2]
        words = list(rng.choice(FILLER, rng.integers(3, 15))) + list(rng.choice(WORDS[label], rng.integers(1, 3)))
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def _write(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["sentence", "label"])
        writer.writerows(rows)


def test_padding_is_masked_and_batches_group_lengths() -> None:
    texts = [(text, i % 2) for i, (text, _) in enumerate(_examples(12, seed=3))]
    tokenizer = build_tokenizer("char", "\n".join(t for t, _ in texts), special_tokens=("[PAD]", "[CLS]", "[SEP]"))
    dataset = EncodedTexts(texts, tokenizer, max_length=40)
    assert all(
        ids[0] == tokenizer.token_to_id("[CLS]") and ids[-1] == tokenizer.token_to_id("[SEP]") for ids, _ in dataset
    )
    assert max(len(ids) for ids, _ in dataset) == 40  # cut to max_length
    model = BertClassifier(encoder_config(tokenizer.vocab_size, 2, tokenizer.token_to_id("[PAD]"))).double().eval()
    (input_ids, mask), labels = PadCollate(0)([dataset[i] for i in range(4)])
    assert input_ids.shape == mask.shape == (4, max(len(dataset[i][0]) for i in range(4)))
    assert labels.tolist() == [0, 1, 0, 1]
    batched = model((input_ids, mask)).detach().numpy()
    for row in range(4):
        ids = gg.tensor([dataset[row][0]])
        alone = model((ids, gg.ones(*ids.shape, dtype=gg.int64))).detach().numpy()
        np.testing.assert_allclose(batched[row], alone[0], rtol=1e-10, atol=1e-12)
    loader = LengthBatches(dataset, 4, PadCollate(0), shuffle=True, pool=3)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert sorted(len(b[1]) for b in batches) == [4, 4, 4]
    lengths = sorted(len(ids) for ids, _ in dataset)
    assert sorted(b[0][0].shape[1] for b in batches) == [lengths[3], lengths[7], lengths[11]]  # one pool: sorted


def test_tiny_run_through_the_cli_learns_writes_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "train.tsv", _examples(96, seed=0))
    _write(data / "dev.tsv", _examples(24, seed=1))
    out = tmp_path / "run"
    args = ["train", "bert-classifier", "--data-dir", str(data), "--out", str(out), "--no-progress"]
    assert main([*args, "--epochs", "3", "--batch-size", "8", "--lr", "0.005"]) == 0
    printed = capsys.readouterr().out
    assert "validation accuracy" in printed and "vs chance 0.5000" in printed and "per label: food" in printed
    rows = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    assert rows[-1]["test_accuracy"] >= 0.9, rows  # the topic word decides; chance is 0.5
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert json.loads((out / "labels.json").read_text()) == ["food", "sport"]
    assert json.loads((out / "tokenizer.json").read_text())["kind"] == "bpe"
    meta = read_meta(out / "checkpoint.ggt")
    assert meta["recipe"] == "bert-classifier" and meta["epoch"] == 3 and meta["config"]["batch_size"] == 8

    assert main([*args, "--epochs", "4", "--resume"]) == 0
    assert "resuming after epoch 3" in capsys.readouterr().out
    rows = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4]
    assert read_meta(out / "checkpoint.ggt")["epoch"] == 4

    assert main([*args[:2], "--data-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "other")]) == 2
    assert "does not exist" in capsys.readouterr().err
