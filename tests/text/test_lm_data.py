"""Language-model batches: shapes, targets shifted by one, consecutive BPTT streams."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.text import BPTTBatches, TokenBlocks, batchify, split_text, tokenized_corpus

IDS = np.arange(103) * 7 % 101  # distinct values, so a position is recognisable


def _pairs(loader):
    return [(x.numpy(), y.numpy()) for x, y in loader]


def test_random_blocks_are_windows_with_targets_shifted_by_one() -> None:
    loader = TokenBlocks(IDS, block_size=8, batch_size=4, batches=3)
    assert len(loader) == 3
    for x, y in _pairs(loader):
        assert x.shape == y.shape == (4, 8) and x.dtype == np.int64
        for row_x, row_y in zip(x, y, strict=True):
            start = int(np.flatnonzero(IDS == row_x[0])[0])
            np.testing.assert_array_equal(row_x, IDS[start : start + 8])
            np.testing.assert_array_equal(row_y, IDS[start + 1 : start + 9])
    gg.manual_seed(5)
    first = _pairs(loader)
    gg.manual_seed(5)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, _pairs(loader), strict=True))


def test_consecutive_blocks_cover_the_stream_once() -> None:
    loader = TokenBlocks(IDS, block_size=10, batch_size=4, shuffle=False)
    pairs = _pairs(loader)
    assert len(loader) == len(pairs) == 3 and [x.shape[0] for x, _ in pairs] == [4, 4, 2]
    x = np.concatenate([x for x, _ in pairs]).ravel()
    y = np.concatenate([y for _, y in pairs]).ravel()
    np.testing.assert_array_equal(x, IDS[:100])
    np.testing.assert_array_equal(y, IDS[1:101])


def test_bptt_chunks_continue_each_stream() -> None:
    np.testing.assert_array_equal(batchify(IDS, 4), IDS[:100].reshape(4, 25))
    loader = BPTTBatches(IDS, batch_size=4, bptt=7)
    pairs = _pairs(loader)
    assert len(loader) == len(pairs) == 4 and [x.shape for x, _ in pairs] == [(4, 7)] * 3 + [(4, 3)]
    x, y = np.concatenate([x for x, _ in pairs], 1), np.concatenate([y for _, y in pairs], 1)
    streams = IDS[:100].reshape(4, 25)
    np.testing.assert_array_equal(x, streams[:, :24])
    np.testing.assert_array_equal(y, streams[:, 1:])
    assert loader.tokens == 4 * 24


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="TokenBlocks: needs at least 9 tokens"):
        TokenBlocks(IDS[:5], block_size=8, batch_size=2)
    with pytest.raises(ValueError, match="BPTTBatches: bptt must be a positive integer"):
        BPTTBatches(IDS, batch_size=2, bptt=0)
    with pytest.raises(ValueError, match="1-D sequence of integers"):
        batchify(np.ones((3, 3), dtype=np.int64), 2)


def test_tokenized_corpus_splits_then_encodes_with_the_kind_asked_for(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("\n\n".join(f"paragraph {i} zq" if i == 9 else f"line {i}" for i in range(20)))
    train, val = split_text((tmp_path / "a.txt").read_text(), 0.1)
    tokenizer, train_ids, val_ids = tokenized_corpus(tmp_path, "char", 0.1)
    assert "z" in val and "z" not in train and "z" in tokenizer.stoi  # chars of the whole text
    assert tokenizer.decode(train_ids.tolist()) == train and tokenizer.decode(val_ids.tolist()) == val
    tokenizer, train_ids, val_ids = tokenized_corpus(tmp_path, "byte", 0.1)
    assert tokenizer.vocab_size == 256 and bytes(val_ids.tolist()).decode() == val
