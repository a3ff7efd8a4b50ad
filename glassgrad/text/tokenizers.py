"""Tokenizers: text ↔ token ids, for the language models and the classifier.

Three kinds, one interface (``encode``, ``decode``, ``vocab_size``, ``token_to_id``, ``id_to_token``,
``special_tokens``, ``save``):

- ``CharTokenizer``: one id per character of a fixed alphabet (the sorted characters of the text it was
  built from). Ids: the special tokens first, then the alphabet.
- ``ByteTokenizer``: one id per UTF-8 byte, ids 0..255; special tokens take 256, 257, ...
- ``BPETokenizer``: byte-level BPE (GPT-2's scheme: bytes mapped to printable characters, merges learnt
  from a corpus) trained and run by the ``tokenizers`` package; the special tokens come first.

Special tokens written in the text (``"[CLS] a b"``) encode as their own ids in all three; ``decode``
writes them back as their strings (or leaves them out with ``skip_special_tokens=True``), so
``decode(encode(text)) == text`` for every string the vocabulary covers (every string for bytes and BPE).
``save(path)`` writes JSON; ``load_tokenizer(path)`` reads any of the three back.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

KINDS = ("char", "byte", "bpe")
DEFAULT_BPE_VOCAB = 512


def _check_special(special_tokens: Iterable[str], api: str) -> list[str]:
    tokens = list(special_tokens)
    if any(not isinstance(t, str) or not t for t in tokens):
        raise ValueError(f"{api}: special tokens must be non-empty strings, got {tokens!r}")
    if len(set(tokens)) != len(tokens):
        raise ValueError(f"{api}: special tokens must be distinct, got {tokens!r}")
    return tokens


def _check_text(text: object, api: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{api}: expected a str, got {type(text).__name__}")
    return text


class _SpecialSplitter:
    """Cuts a text into ordinary pieces and special tokens (longest special token first)."""

    def __init__(self, special_tokens: Sequence[str]) -> None:
        ordered = sorted(special_tokens, key=len, reverse=True)
        self.pattern = re.compile("(" + "|".join(map(re.escape, ordered)) + ")") if ordered else None
        self.special = set(special_tokens)

    def pieces(self, text: str) -> list[tuple[str, bool]]:
        """[(piece, is_special)] in order; empty pieces dropped."""
        if self.pattern is None:
            return [(text, False)] if text else []
        return [(p, p in self.special) for p in self.pattern.split(text) if p]


class Tokenizer(ABC):
    """What every tokenizer has: the special tokens and the shared checks; subclasses do the mapping."""

    kind = ""

    def __init__(self, special_tokens: Iterable[str] = ()) -> None:
        self.special_tokens = _check_special(special_tokens, type(self).__name__)
        self._splitter = _SpecialSplitter(self.special_tokens)

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def encode(self, text: str) -> list[int]: ...

    @abstractmethod
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str: ...

    @abstractmethod
    def token_to_id(self, token: str) -> int | None: ...

    @abstractmethod
    def id_to_token(self, id: int) -> str | None: ...

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    def _check_ids(self, ids: Iterable[int], api: str) -> list[int]:
        if hasattr(ids, "tolist"):  # a NumPy array or a glassgrad tensor
            ids = ids.tolist()
        ids = list(ids)
        bad = [i for i in ids if not isinstance(i, int) or not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"{api}: ids must be integers in [0, {self.vocab_size}), got {bad[:5]!r}")
        return ids

    def save(self, path: str | Path) -> None:
        """Write the tokenizer as JSON to ``path`` (``load_tokenizer`` reads it back)."""
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, special_tokens={self.special_tokens!r})"


class CharTokenizer(Tokenizer):
    """ids = [special tokens..., alphabet...]; a character outside the alphabet is an error, or
    ``[UNK]``'s id when "[UNK]" is one of the special tokens."""

    kind = "char"

    def __init__(self, alphabet: Iterable[str], special_tokens: Iterable[str] = ()) -> None:
        super().__init__(special_tokens)
        chars = list(alphabet)
        if any(not isinstance(c, str) or len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer: the alphabet must be distinct single characters")
        if set(chars) & set(self.special_tokens):
            raise ValueError(
                f"CharTokenizer: {sorted(set(chars) & set(self.special_tokens))} are both characters and special tokens"
            )
        self.alphabet = chars
        self.itos = self.special_tokens + chars
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.unk_id = self.stoi.get("[UNK]") if "[UNK]" in self.special_tokens else None

    @classmethod
    def from_text(cls, text: str, special_tokens: Iterable[str] = ()) -> CharTokenizer:
        """The alphabet of ``text``: its distinct characters, sorted by code point."""
        text = _check_text(text, "CharTokenizer.from_text")
        special = _check_special(special_tokens, "CharTokenizer.from_text")
        for token in special:
            text = text.replace(token, "")
        return cls(sorted(set(text)), special)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        text = _check_text(text, "CharTokenizer.encode")
        ids: list[int] = []
        for piece, special in self._splitter.pieces(text):
            if special:
                ids.append(self.stoi[piece])
                continue
            for c in piece:
                i = self.stoi.get(c, self.unk_id)
                if i is None:
                    raise ValueError(
                        f"CharTokenizer.encode: character {c!r} (U+{ord(c):04X}) is not in the alphabet of "
                        f"{len(self.alphabet)} characters (add '[UNK]' to the special tokens to map it there)"
                    )
                ids.append(i)
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids, "CharTokenizer.decode")
        n_special = len(self.special_tokens)
        return "".join(self.itos[i] for i in ids if not (skip_special_tokens and i < n_special))

    def token_to_id(self, token: str) -> int | None:
        return self.stoi.get(token)

    def id_to_token(self, id: int) -> str | None:
        return self.itos[id] if isinstance(id, int) and 0 <= id < len(self.itos) else None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "special_tokens": self.special_tokens, "alphabet": "".join(self.alphabet)}


class ByteTokenizer(Tokenizer):
    """id = the UTF-8 byte (0..255); special tokens are 256, 257, ... Decoding bytes that are not valid
    UTF-8 (a sample cut inside a character) writes U+FFFD for them."""

    kind = "byte"

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.special_tokens)

    def encode(self, text: str) -> list[int]:
        text = _check_text(text, "ByteTokenizer.encode")
        ids: list[int] = []
        for piece, special in self._splitter.pieces(text):
            ids.extend([256 + self.special_tokens.index(piece)] if special else piece.encode("utf-8"))
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids, "ByteTokenizer.decode")
        out, run = [], bytearray()
        for i in ids:
            if i < 256:
                run.append(i)
                continue
            out.append(run.decode("utf-8", errors="replace"))
            run = bytearray()
            if not skip_special_tokens:
                out.append(self.special_tokens[i - 256])
        out.append(run.decode("utf-8", errors="replace"))
        return "".join(out)

    def token_to_id(self, token: str) -> int | None:
        if token in self.special_tokens:
            return 256 + self.special_tokens.index(token)
        data = token.encode("utf-8") if isinstance(token, str) else b""
        return data[0] if len(data) == 1 else None

    def id_to_token(self, id: int) -> str | None:
        """The ASCII character, the special token, or None for 128-255 (parts of multi-byte characters)."""
        if not isinstance(id, int) or not 0 <= id < self.vocab_size:
            return None
        return chr(id) if id < 128 else (self.special_tokens[id - 256] if id >= 256 else None)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "special_tokens": self.special_tokens}


class BPETokenizer(Tokenizer):
    """Byte-level BPE run by ``tokenizers.Tokenizer`` (the GPT-2 scheme: no prefix space, no unknowns)."""

    kind = "bpe"

    def __init__(self, backend: Any, special_tokens: Iterable[str] = ()) -> None:
        super().__init__(special_tokens)
        self.backend = backend
        self._special_ids = {backend.token_to_id(t) for t in self.special_tokens}

    @classmethod
    def train(cls, text: str, vocab_size: int = DEFAULT_BPE_VOCAB, special_tokens: Iterable[str] = ()) -> BPETokenizer:
        """Learn merges on ``text`` until the vocabulary (256 bytes + special tokens + merges) has
        ``vocab_size`` entries (fewer when the text runs out of pairs). Deterministic for a given text."""
        from tokenizers import Tokenizer as Backend
        from tokenizers import decoders, models, pre_tokenizers, trainers

        text = _check_text(text, "BPETokenizer.train")
        special = _check_special(special_tokens, "BPETokenizer.train")
        minimum = 256 + len(special)
        if not isinstance(vocab_size, int) or vocab_size < minimum:
            raise ValueError(
                f"BPETokenizer.train: vocab_size must be an integer >= {minimum} (256 bytes + "
                f"{len(special)} special tokens), got {vocab_size!r}"
            )
        backend = Backend(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=2,
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator(text.split("\n\n"), trainer)
        return cls(backend, special)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        text = _check_text(text, "BPETokenizer.encode")
        return list(self.backend.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids, "BPETokenizer.decode")
        # the byte-level decoder would merge the bytes of neighbouring special tokens: decode runs between them
        out, run = [], []
        for i in ids:
            if i not in self._special_ids:
                run.append(i)
                continue
            out.append(self.backend.decode(run, skip_special_tokens=False))
            run = []
            if not skip_special_tokens:
                out.append(self.backend.id_to_token(i))
        out.append(self.backend.decode(run, skip_special_tokens=False))
        return "".join(out)

    def token_to_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)

    def id_to_token(self, id: int) -> str | None:
        return self.backend.id_to_token(id) if isinstance(id, int) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "special_tokens": self.special_tokens,
            "tokenizer": json.loads(self.backend.to_str()),
        }


def build_tokenizer(
    kind: str, text: str, vocab_size: int | None = None, special_tokens: Iterable[str] = ()
) -> Tokenizer:
    """A tokenizer of ``kind`` ("char", "byte", "bpe") for ``text``: the char alphabet of ``text``, the
    256 bytes, or BPE merges learnt on ``text`` up to ``vocab_size`` (default 512). ``vocab_size`` is the
    BPE's target only; the char and byte vocabularies are fixed by the text and by UTF-8."""
    if kind not in KINDS:
        raise ValueError(f"build_tokenizer: kind must be one of {KINDS}, got {kind!r}")
    if kind == "char":
        return CharTokenizer.from_text(text, special_tokens)
    if kind == "byte":
        _check_text(text, "build_tokenizer")
        return ByteTokenizer(special_tokens)
    return BPETokenizer.train(text, DEFAULT_BPE_VOCAB if vocab_size is None else vocab_size, special_tokens)


def tokenizer_from_dict(state: dict[str, Any], source: str = "tokenizer_from_dict") -> Tokenizer:
    """The tokenizer a ``to_dict()`` describes."""
    if not isinstance(state, dict) or state.get("kind") not in KINDS:
        kind = state.get("kind") if isinstance(state, dict) else None
        raise ValueError(f"{source}: not a glassgrad tokenizer (kind {kind!r}; expected one of {KINDS})")
    special = state.get("special_tokens", [])
    if state["kind"] == "char":
        return CharTokenizer(state["alphabet"], special)
    if state["kind"] == "byte":
        return ByteTokenizer(special)
    from tokenizers import Tokenizer as Backend

    return BPETokenizer(Backend.from_str(json.dumps(state["tokenizer"])), special)


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Read a tokenizer written by ``save`` (e.g. a run's ``tokenizer.json``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_tokenizer: no tokenizer file at {path}")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"load_tokenizer: {path} is not JSON ({error})") from error
    return tokenizer_from_dict(state, f"load_tokenizer({path})")
