"""Labelled text for classifiers: a task built from Python's own documentation, and a user's TSV/CSV.

The pydoc task (``pydoc_topic_task``): **which part of the Python documentation does a paragraph come
from?** Every paragraph of ``corpus.clean_topic`` (the prose of ``pydoc_data.topics``, at least
``min_words`` words) is labelled with the chapter its help topic belongs to (``TOPIC_GROUPS``):

    statements      Language Reference ch. 7-8: "if", "try", "import", "assignment", ...
    expressions     Language Reference ch. 6: "calls", "comparisons", "binary", "lambda", ...
    data model      Language Reference ch. 3: "specialnames", "attribute-access", "types", ...
    built-in types  Library, Built-in Types: "string-methods", "typesmapping", "formatstrings", ...
    debugger        Library, pdb: "debugger"

The labels are honest: a paragraph found in the help text of topics of two different groups is left out
(pydoc repeats sections: "compound" holds "if", "while", ...; "specialnames" holds "customization", ...),
and each distinct paragraph appears once. The split is deterministic and stratified: within each class,
every 1/f-th paragraph in document order goes to validation. ``chance_level`` is the share of the
validation set's most common class — what always answering that class scores.

``read_labelled(data_dir)`` reads a user's (text, label) files instead — SST-2's ``train.tsv``/``dev.tsv``,
an IMDB-style ``reviews.csv`` — with or without a header row.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TOPIC_GROUPS: dict[str, tuple[str, ...]] = {
    "statements": (
        "assert", "assignment", "async", "augassign", "break", "class", "compound", "continue", "del", "else",
        "for", "function", "global", "if", "import", "nonlocal", "pass", "raise", "return", "try", "while",
        "with", "yield",
    ),
    "expressions": (
        "atom-identifiers", "atom-literals", "attribute-references", "await", "binary", "bitwise", "booleans",
        "calls", "comparisons", "conversions", "dict", "exprlists", "in", "lambda", "lists", "operator-summary",
        "power", "shifting", "slicings", "subscriptions", "unary",
    ),
    "data model": (
        "attribute-access", "callable-types", "context-managers", "customization", "numeric-types", "objects",
        "sequence-types", "specialnames", "types",
    ),
    "built-in types": (
        "bltin-code-objects", "bltin-ellipsis-object", "bltin-null-object", "bltin-type-objects", "formatstrings",
        "specialattrs", "string-methods", "truth", "typesfunctions", "typesmapping", "typesmethods",
        "typesmodules", "typesseq", "typesseq-mutable",
    ),
    "debugger": ("debugger",),
}  # fmt: skip
TEXT_COLUMNS = ("text", "sentence", "review", "document", "content")
LABEL_COLUMNS = ("label", "sentiment", "class", "category", "target")
TRAIN_NAMES = ("train",)
VAL_NAMES = ("val", "valid", "validation", "dev")


@dataclass
class LabelledText:
    """Train and validation examples as (text, label id) pairs; ``label_names[id]`` names a label.

    Unpacks as ``train, val, label_names = task``."""

    train: list[tuple[str, int]]
    val: list[tuple[str, int]]
    label_names: list[str]
    description: str = ""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "val"):
            self.counts[split] = dict(Counter(self.label_names[y] for _, y in getattr(self, split)))

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def chance_level(self) -> float:
        """The validation share of its most common label (the accuracy of always answering it)."""
        if not self.val:
            return float("nan")
        return max(Counter(y for _, y in self.val).values()) / len(self.val)

    def __iter__(self) -> Iterator[object]:
        return iter((self.train, self.val, self.label_names))


def _spread(n: int, val_fraction: float) -> list[bool]:
    """Which of n items go to validation: item i when ⌊(i+1)·f⌋ > ⌊i·f⌋ (every 1/f-th, evenly spread)."""
    return [int((i + 1) * val_fraction) > int(i * val_fraction) for i in range(n)]


def stratified_split(
    examples: Sequence[tuple[str, int]], val_fraction: float
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(train, val): within each label, every 1/f-th example (in the given order) goes to validation."""
    if not isinstance(val_fraction, int | float) or not 0 < val_fraction < 1:
        raise ValueError(f"stratified_split: val_fraction must be in (0, 1), got {val_fraction!r}")
    seen: Counter[int] = Counter()
    totals = Counter(y for _, y in examples)
    picks = {y: _spread(n, val_fraction) for y, n in totals.items()}
    train, val = [], []
    for text, y in examples:
        (val if picks[y][seen[y]] else train).append((text, y))
        seen[y] += 1
    return train, val


def pydoc_topic_task(val_fraction: float = 0.2, min_words: int = 6) -> LabelledText:
    """Which documentation chapter (``TOPIC_GROUPS``) a pydoc paragraph comes from (module docstring)."""
    from pydoc_data.topics import topics

    from .corpus import clean_topic

    group_of = {topic: group for group, members in TOPIC_GROUPS.items() for topic in members}
    groups: dict[str, set[str]] = {}
    order: list[str] = []
    for topic, raw in topics.items():
        for paragraph in clean_topic(raw):
            if paragraph not in groups:
                groups[paragraph] = set()
                order.append(paragraph)
            groups[paragraph].add(group_of.get(topic, "other"))
    names = list(TOPIC_GROUPS)
    examples = [
        (p, names.index(next(iter(groups[p]))))
        for p in order
        if len(groups[p]) == 1 and next(iter(groups[p])) in TOPIC_GROUPS and len(p.split()) >= min_words
    ]
    train, val = stratified_split(examples, val_fraction)
    description = (
        f"pydoc chapters: which of {len(names)} parts of the Python docs ({', '.join(names)}) a paragraph of "
        f"pydoc_data.topics comes from; {len(train)} train / {len(val)} validation paragraphs"
    )
    return LabelledText(train, val, names, description)


def _label_order(labels: set[str]) -> list[str]:
    """Numeric labels ("0", "1", "4") in numeric order, others alphabetically."""
    try:
        return sorted(labels, key=lambda s: (float(s), s))
    except ValueError:
        return sorted(labels)


def _read_rows(path: Path) -> list[tuple[str, str]]:
    """(text, label) rows of one TSV/CSV file; a header row naming the columns is optional."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"read_labelled: {path} is not UTF-8 text ({error})") from error
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL  # SST-2's text holds bare quotes
    rows = [
        r for r in csv.reader(io.StringIO(content), delimiter=delimiter, quoting=quoting) if any(f.strip() for f in r)
    ]
    if not rows:
        raise ValueError(f"read_labelled: {path} is empty; expected rows of (text, label)")
    header = [f.strip().lower() for f in rows[0]]
    text_col, label_col = 0, 1
    if any(h in LABEL_COLUMNS for h in header) or any(h in TEXT_COLUMNS for h in header):
        text_col = next((header.index(h) for h in TEXT_COLUMNS if h in header), None)
        label_col = next((header.index(h) for h in LABEL_COLUMNS if h in header), None)
        if text_col is None or label_col is None:
            raise ValueError(
                f"read_labelled: {path}'s header {rows[0]!r} needs a text column (one of {TEXT_COLUMNS}) and a "
                f"label column (one of {LABEL_COLUMNS})"
            )
        rows, first_line, width = rows[1:], 2, len(header)
    else:
        first_line, width = 1, 2
    out = []
    for line, row in enumerate(rows, first_line):
        if len(row) != width:
            raise ValueError(
                f"read_labelled: {path} row {line} has {len(row)} fields, expected {width} "
                f"({'the header' if width != 2 else 'text, label'}; is the {'tab' if delimiter == chr(9) else 'comma'}"
                f" separator right, and is text with commas quoted?): {row!r:.120}"
            )
        text, label = row[text_col].strip(), row[label_col].strip()
        if not text or not label:
            raise ValueError(f"read_labelled: {path} row {line} has an empty {'text' if not text else 'label'}")
        out.append((text, label))
    if not out:
        raise ValueError(f"read_labelled: {path} has a header but no examples")
    return out


def _find(root: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for ext in (".tsv", ".csv"):
            if (root / f"{name}{ext}").is_file():
                return root / f"{name}{ext}"
    return None


def read_labelled(data_dir: str | Path, val_fraction: float = 0.2) -> LabelledText:
    """A user's labelled text: (text, label) rows in TSV (tab) or CSV (comma, quoted text) files.

    ``data_dir`` holds ``train.tsv``/``train.csv`` and optionally ``dev``/``val``/``valid``/``validation``
    (SST-2's layout); or exactly one .tsv/.csv file, which is split (stratified, every 1/f-th example of
    each label to validation). Or ``data_dir`` names that one file. A header row is recognised by its
    column names (text: one of TEXT_COLUMNS, label: one of LABEL_COLUMNS, in any order and among other
    columns); without one, each row is exactly (text, label). Label names: the distinct labels, numeric
    ones in numeric order, others alphabetically."""
    root = Path(data_dir)
    if root.is_file():
        train_file, val_file = root, None
    elif root.is_dir():
        train_file, val_file = _find(root, TRAIN_NAMES), _find(root, VAL_NAMES)
        if train_file is None:
            files = sorted(p for p in root.iterdir() if p.suffix.lower() in (".tsv", ".csv") and p.is_file())
            if len(files) != 1:
                raise ValueError(
                    f"read_labelled: {root} needs train.tsv or train.csv (and optionally dev/val), or exactly one "
                    f".tsv/.csv file of (text, label) rows; found {[p.name for p in files]}"
                )
            train_file = files[0]
    else:
        raise ValueError(f"read_labelled: {root} is neither a directory nor a file")
    if train_file.suffix.lower() not in (".tsv", ".csv"):
        raise ValueError(f"read_labelled: {train_file} is not a .tsv or .csv file")
    train_rows = _read_rows(train_file)
    val_rows = _read_rows(val_file) if val_file is not None else []
    names = _label_order({label for _, label in train_rows + val_rows})
    if len(names) < 2:
        raise ValueError(f"read_labelled: {train_file} has a single label {names!r}; a classifier needs two or more")
    index = {name: i for i, name in enumerate(names)}
    train = [(text, index[label]) for text, label in train_rows]
    if val_file is None:
        train, val = stratified_split(train, val_fraction)
        source = f"{train_file} (split {1 - val_fraction:.0%}/{val_fraction:.0%})"
    else:
        val = [(text, index[label]) for text, label in val_rows]
        source = f"{train_file} + {val_file}"
    description = f"{source}: {len(names)} labels, {len(train)} train / {len(val)} validation examples"
    return LabelledText(train, val, names, description)
