"""Tokenizers: round trips (unicode, bytes, special tokens), save/load, deterministic BPE training."""

from __future__ import annotations

import json

import pytest

from glassgrad.text import BPETokenizer, ByteTokenizer, CharTokenizer, build_tokenizer, load_tokenizer

TEXT = "The quick brown fox — naïve café, 数据 😀.\n\nThe lazy dog; the fox again: the the the."
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return build_tokenizer("bpe", TEXT * 3, vocab_size=300, special_tokens=SPECIAL)


def test_char_ids_are_special_tokens_then_sorted_alphabet() -> None:
    tok = build_tokenizer("char", "banana", special_tokens=["[PAD]"])
    assert tok.vocab_size == 4 and tok.alphabet == ["a", "b", "n"]
    assert tok.encode("[PAD]nab") == [0, 3, 1, 2] and tok.token_to_id("[PAD]") == 0
    assert tok.decode([0, 3, 1, 2]) == "[PAD]nab" and tok.decode([0, 3], skip_special_tokens=True) == "n"
    with pytest.raises(ValueError, match=r"'z'.*not in the alphabet"):
        tok.encode("z")
    assert build_tokenizer("char", "ab", special_tokens=["[UNK]"]).encode("azb") == [1, 0, 2]


def test_byte_ids_are_utf8_bytes_and_specials_follow() -> None:
    tok = ByteTokenizer(["[CLS]", "[SEP]"])
    assert tok.vocab_size == 258
    assert tok.encode("é[SEP]a") == list("é".encode()) + [257, 97]
    assert tok.decode([0xC3]) == "\ufffd"  # a sample cut inside a character
    assert tok.token_to_id("a") == 97 and tok.token_to_id("é") is None and tok.token_to_id("[CLS]") == 256


@pytest.mark.parametrize("kind", ["char", "byte", "bpe"])
def test_round_trip_and_save_load(kind: str, bpe: BPETokenizer, tmp_path) -> None:
    tok = bpe if kind == "bpe" else build_tokenizer(kind, TEXT, special_tokens=SPECIAL)
    text = "[CLS]" + TEXT + "[SEP][MASK]"
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode(ids, skip_special_tokens=True) == TEXT
    assert ids[0] == tok.token_to_id("[CLS]") and tok.special_tokens == SPECIAL
    tok.save(tmp_path / "tokenizer.json")
    again = load_tokenizer(tmp_path / "tokenizer.json")
    assert type(again) is type(tok) and again == tok
    assert again.encode(text) == ids and again.vocab_size == tok.vocab_size


def test_bpe_learns_merges_deterministically_and_covers_any_text(bpe: BPETokenizer) -> None:
    assert bpe.vocab_size == 300
    assert len(bpe.encode("the fox")) < len(b"the fox")  # merges learnt from the corpus
    assert build_tokenizer("bpe", TEXT * 3, vocab_size=300, special_tokens=SPECIAL) == bpe
    unseen = "Zebra ∑ \x00 tabs\tand\r\nnewlines 🦊"
    assert bpe.decode(bpe.encode(unseen)) == unseen  # byte-level: nothing is unknown


def test_bad_input_is_named(tmp_path) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        build_tokenizer("word", TEXT)
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 261"):
        build_tokenizer("bpe", TEXT, vocab_size=100, special_tokens=SPECIAL)
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer.from_text("ab", ["[PAD]", "[PAD]"])
    with pytest.raises(ValueError, match=r"ids must be integers in \[0, 256\)"):
        ByteTokenizer().decode([300])
    (tmp_path / "bad.json").write_text(json.dumps({"kind": "word"}))
    with pytest.raises(ValueError, match="not a glassgrad tokenizer"):
        load_tokenizer(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError):
        load_tokenizer(tmp_path / "missing.json")
