"""Corpora: the cleaned pydoc English, a user's text files, the train/validation split."""

from __future__ import annotations

import pytest

from glassgrad.text import pydoc_text, read_text_corpus, split_text, topic_paragraphs
from glassgrad.text.corpus import clean_topic


def test_pydoc_text_is_english_prose_without_code_or_headings() -> None:
    text = pydoc_text()
    assert len(text) > 150_000
    words = text.split()
    assert words.count("the") > 2000 and min(words.count(w) for w in ("is", "statement", "exception", "function")) > 50
    assert "***" not in text and "\n====" not in text and ">>> " not in text
    assert 'if_stmt ::= "if"' not in text  # grammar rules are literal blocks
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == len(set(paragraphs)) == len(topic_paragraphs())  # each once
    letters = sum(c.isalpha() for c in text) / len(text)
    assert letters > 0.7


def test_clean_topic_keeps_definition_bodies_and_drops_literal_blocks() -> None:
    raw = (
        "Title\n*****\n\nSome prose that ends\nwith a colon:\n\n   code = 1\n\n      more_code()\n\n"
        "object.__len__(self)\n\n   Called to implement len().\n\nNote:\n\n  A note.\n"
    )
    assert clean_topic(raw) == [
        "Some prose that ends with a colon:",
        "object.__len__(self)",
        "Called to implement len().",
        "Note:",
        "A note.",
    ]


def test_read_text_corpus_reads_txt_files_in_order(tmp_path) -> None:
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first ü\n", encoding="utf-8")
    (tmp_path / "skip.csv").write_text("x,y\n")
    assert read_text_corpus(tmp_path) == "first ü\n\nsecond"
    assert read_text_corpus(tmp_path / "b.txt") == "second"
    with pytest.raises(ValueError, match="no .txt files"):
        read_text_corpus(_empty(tmp_path))
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe bad")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_text_corpus(tmp_path)
    with pytest.raises(ValueError, match="neither a directory nor a file"):
        read_text_corpus(tmp_path / "nowhere")


def _empty(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    return empty


def test_split_text_spreads_paragraphs_and_is_deterministic() -> None:
    text = "\n\n".join(f"p{i}" for i in range(20))
    train, val = split_text(text, 0.25)
    assert val.split("\n\n") == ["p3", "p7", "p11", "p15", "p19"]
    assert len(train.split("\n\n")) == 15 and split_text(text, 0.25) == (train, val)
    short_train, short_val = split_text("line one\nline two\nline three\nline four", 0.25)
    assert short_train + short_val == "line one\nline two\nline three\nline four" and short_val == "line four"
    with pytest.raises(ValueError, match="val_fraction"):
        split_text(text, 1.5)
