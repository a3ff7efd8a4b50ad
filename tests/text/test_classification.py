"""Labelled text: the pydoc chapter task's honest labels and split, and the TSV/CSV reader."""

from __future__ import annotations

from collections import Counter
from pydoc_data.topics import topics

import pytest

from glassgrad.text import TOPIC_GROUPS, pydoc_topic_task, read_labelled
from glassgrad.text.corpus import clean_topic


@pytest.fixture(scope="module")
def task():
    return pydoc_topic_task()


def test_each_paragraph_comes_from_a_topic_of_its_label_only(task) -> None:
    names = task.label_names
    assert names == list(TOPIC_GROUPS) and task.num_classes == 5
    cleaned = {topic: set(clean_topic(raw)) for topic, raw in topics.items()}
    for text, label in task.train + task.val:
        sources = {topic for topic, paragraphs in cleaned.items() if text in paragraphs}
        assert sources and sources <= set(TOPIC_GROUPS[names[label]]), (text[:60], sources)
    assert all(n >= 15 for split in ("train", "val") for n in task.counts[split].values())


def test_split_is_deterministic_disjoint_and_stratified(task) -> None:
    train_texts, val_texts = {t for t, _ in task.train}, {t for t, _ in task.val}
    assert not train_texts & val_texts and len(train_texts) == len(task.train)
    assert pydoc_topic_task().val == task.val
    for name in task.label_names:
        share = task.counts["val"][name] / (task.counts["val"][name] + task.counts["train"][name])
        assert share == pytest.approx(0.2, abs=0.02)
    majority = Counter(y for _, y in task.val).most_common(1)[0][1]
    assert task.chance_level == majority / len(task.val) < 0.35
    train, val, label_names = task
    assert train is task.train and label_names == task.label_names and "paragraph" in task.description


def test_read_labelled_sst2_layout_with_header(tmp_path) -> None:
    (tmp_path / "train.tsv").write_text('sentence\tlabel\nit \'s a "charming" film \t1\ndull , dull\t0\nfine\t1\n')
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\nbad\t0\n")
    data = read_labelled(tmp_path)
    assert data.label_names == ["0", "1"]
    assert data.train == [('it \'s a "charming" film', 1), ("dull , dull", 0), ("fine", 1)]
    assert data.val == [("bad", 0)] and data.chance_level == 1.0


def test_read_labelled_one_csv_without_header_is_split(tmp_path) -> None:
    rows = [f'"review {i}, with a comma",{"pos" if i % 2 else "neg"}' for i in range(10)]
    (tmp_path / "reviews.csv").write_text("\n".join(rows) + "\n")
    data = read_labelled(tmp_path, val_fraction=0.2)
    assert data.label_names == ["neg", "pos"] and len(data.train) == 8 and len(data.val) == 2
    assert {y for _, y in data.val} == {0, 1} and data.val[0][0] == "review 8, with a comma"
    header_first = tmp_path / "imdb.csv"
    header_first.write_text("sentiment,review\npositive,great\nnegative,awful\n")
    assert read_labelled(header_first).label_names == ["negative", "positive"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("a\t1\nb\t1\n", "single label"),
        ("a\t1\nb\t0\textra\n", r"row 2 has 3 fields, expected 2"),
        ("text\tstars\nx\t1\n", "needs a text column .* and a label column"),
        ("\t1\nb\t0\n", "row 1 has an empty text"),
    ],
)
def test_read_labelled_bad_files_say_what_is_wrong(tmp_path, content: str, message: str) -> None:
    (tmp_path / "train.tsv").write_text(content)
    with pytest.raises(ValueError, match=message):
        read_labelled(tmp_path)


def test_read_labelled_missing_files(tmp_path) -> None:
    with pytest.raises(ValueError, match="needs train.tsv or train.csv"):
        read_labelled(tmp_path)
    with pytest.raises(ValueError, match="neither a directory nor a file"):
        read_labelled(tmp_path / "nowhere")
