"""Text corpora: the English of Python's own documentation (offline, in every Python) and a user's files.

``pydoc_data.topics.topics`` maps ~80 help topics ("if", "types", "specialnames", ...) to the plain-text
render of chapters of the Language Reference and Library docs (the text ``help("if")`` prints). Cleaned
(``topic_paragraphs``) it is the prose only:

- blocks are split at blank lines; literal blocks (code examples, grammar rules) are dropped: a block
  indented 3 or more spaces deeper than the paragraph before it, when that paragraph ends with ":" or
  "." (RST's ``::`` and a code example after a sentence), with the blocks after it at least as deep,
  and doctest (``>>>``) and table blocks. The deeper text after a definition term (``object.__len__(self)``,
  no final ":"/".") is the term's prose and stays. Headings (a line underlined with ``*``, ``=`` or
  ``-``), separator lines and blocks with few letters (under half of their characters) go too;
- the lines of a kept block are joined with single spaces, so a paragraph is one line of English;
- a paragraph that several topics share (``compound`` holds the text of ``if``, ``while``, ``try``, ...)
  is kept once, under the first topic (in the dict's order) that has it.

``pydoc_text()`` is those paragraphs joined by blank lines (about 240,000 characters, 1,350 paragraphs).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_UNDERLINE = re.compile(r"^\s*([*=\-~^#])\1{2,}\s*$")
CODE_INDENT = 3
MIN_LETTER_SHARE = 0.5


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _has_letters(text: str) -> bool:
    letters = sum(c.isalpha() for c in text)
    return letters >= MIN_LETTER_SHARE * len(text.replace(" ", ""))


def clean_topic(raw: str) -> list[str]:
    """The prose paragraphs of one topic's text, each joined onto one line (rules in the module docstring)."""
    paragraphs: list[str] = []
    prose_indent, prose_end, code_indent = 0, "", None
    for block in re.split(r"\n\s*\n", raw):
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        # a heading is a line followed by its underline: drop both, keep what follows in the block
        kept = [
            line
            for i, line in enumerate(lines)
            if not (_UNDERLINE.match(line) or (i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1])))
        ]
        if not kept:
            if lines:
                prose_indent, prose_end = 0, ""
            continue
        indent = _indent(kept[0])
        if code_indent is not None and indent >= code_indent:
            continue  # more of the same literal block
        code_indent = None
        literal = indent >= prose_indent + CODE_INDENT and prose_end in (":", ".")
        if literal or kept[0].lstrip().startswith((">>>", "+--", "|")):
            code_indent = indent
            continue
        text = " ".join(line.strip() for line in kept)
        if _has_letters(text):
            paragraphs.append(text)
        prose_indent, prose_end = indent, text[-1]
    return paragraphs


@lru_cache(maxsize=1)
def topic_paragraphs() -> tuple[tuple[str, str], ...]:
    """(topic, paragraph) for every distinct prose paragraph of ``pydoc_data.topics``, in the dict's order;
    a paragraph shared by several topics appears once, under the first of them."""
    from pydoc_data.topics import topics

    seen: set[str] = set()
    out = []
    for topic, raw in topics.items():
        for paragraph in clean_topic(raw):
            if paragraph not in seen:
                seen.add(paragraph)
                out.append((topic, paragraph))
    return tuple(out)


def paragraph_topics() -> dict[str, set[str]]:
    """Every cleaned paragraph → the set of topics whose text contains it (most have one)."""
    from pydoc_data.topics import topics

    where: dict[str, set[str]] = {}
    for topic, raw in topics.items():
        for paragraph in clean_topic(raw):
            where.setdefault(paragraph, set()).add(topic)
    return where


def pydoc_text() -> str:
    """The cleaned English of Python's help topics: one paragraph per line, paragraphs separated by a blank line."""
    return "\n\n".join(paragraph for _, paragraph in topic_paragraphs())


def read_text_corpus(data_dir: str | Path) -> str:
    """A user's plain-text corpus: every ``*.txt`` file under ``data_dir`` (sorted by path, read as UTF-8)
    joined by blank lines; ``data_dir`` may also name one text file."""
    root = Path(data_dir)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*.txt") if p.is_file())
        if not files:
            raise ValueError(f"read_text_corpus: {root} holds no .txt files; put the corpus there as UTF-8 text")
    else:
        raise ValueError(f"read_text_corpus: {root} is neither a directory nor a file")
    parts = []
    for path in files:
        try:
            parts.append(path.read_text(encoding="utf-8").strip("\n"))
        except UnicodeDecodeError as error:
            raise ValueError(f"read_text_corpus: {path} is not UTF-8 text ({error})") from error
    text = "\n\n".join(p for p in parts if p)
    if not text.strip():
        raise ValueError(f"read_text_corpus: the text files in {root} are empty")
    return text


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, validation) text. Paragraphs (blank-line separated) go to validation evenly spread —
    paragraph i when ⌊(i+1)·f⌋ > ⌊i·f⌋, so every 1/f-th one — so both parts cover every topic of a corpus
    that is ordered by topic. A text of fewer than 1/f paragraphs is cut by characters instead: the last
    f of it, from a line start where there is one. Deterministic."""
    if not isinstance(text, str):
        raise TypeError(f"split_text: expected a str, got {type(text).__name__}")
    if not isinstance(val_fraction, int | float) or not 0 < val_fraction < 1:
        raise ValueError(f"split_text: val_fraction must be in (0, 1), got {val_fraction!r}")
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) * val_fraction >= 1:
        train, val = [], []
        for i, paragraph in enumerate(paragraphs):
            (val if int((i + 1) * val_fraction) > int(i * val_fraction) else train).append(paragraph)
        return "\n\n".join(train), "\n\n".join(val)
    cut = round(len(text) * (1 - val_fraction))
    line_start = text.rfind("\n", 0, cut + 1)
    if line_start >= len(text) // 2:
        cut = line_start + 1
    if not 0 < cut < len(text):
        raise ValueError(f"split_text: a text of {len(text)} characters is too short to split")
    return text[:cut], text[cut:]
