"""``python -m glassgrad train`` and ``recipes`` in-process: outputs and rejection of
bad arguments (tests/commands/test_cli_usage.py runs the command line in subprocesses)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.cli import main
from glassgrad.training import CHECKPOINT_NAME


def flat_state(path: Path, skip: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every array and number of a checkpoint, by dotted path, less the subtrees named in ``skip``."""
    out: dict[str, np.ndarray] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                walk(f"{prefix}.{i}", item)
        elif prefix not in skip:
            out[prefix] = np.asarray(value.numpy() if isinstance(value, gg.Tensor) else value)

    walk("", gg.load(path))
    return out


def test_recipes_command_lists_every_recipe_on_one_line(capsys) -> None:
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "linreg", "mlp-tiny", "mlp-bce", "softmax-regression", "mnist-cnn", "cifar-cnn", "image-cnn", "gan",
        "char-lstm", "gpt", "bert-classifier",
    ]  # fmt: skip


def test_train_writes_metrics_plot_checkpoint_and_summary(tmp_path, capsys) -> None:
    assert main(["train", "mlp-tiny", "--epochs", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"test +loss [0-9.]+", out) and "epochs run: 3" in out
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(float(r["epoch"])) for r in rows] == [1, 2, 3]
    assert {"train_loss", "test_loss", "samples_per_s"} <= set(rows[0])
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert json.loads((tmp_path / "metrics.json").read_text())[-1]["epoch"] == 3
    assert (tmp_path / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert flat_state(tmp_path / CHECKPOINT_NAME)[".epoch"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "python -m glassgrad train: --epochs: must be a positive integer, got 0 (see --help)"),
        (["--lr", "-1"], "python -m glassgrad train: --lr: must be a positive number, got -1 (see --help)"),
        (
            ["--batch-size", "0"],
            "python -m glassgrad train: --batch-size: must be a positive integer, got 0 (see --help)",
        ),
    ],
)
def test_bad_values_are_rejected_by_the_parser(tmp_path, capsys, args: list[str], message: str) -> None:
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "mlp-tiny", "--out", str(out), *args])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message + "\n"
    assert not out.exists()


def test_resume_without_a_checkpoint_is_rejected_before_training(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "mlp-tiny", "--out", str(out), "--resume"]) == 2
    assert f"--resume given but {out} holds no checkpoint.ggt" in capsys.readouterr().err
    assert not out.exists()


def test_unknown_recipe_is_rejected_with_the_list(capsys) -> None:
    assert main(["train", "no-such-recipe"]) == 2
    assert "no recipe named 'no-such-recipe'; available: linreg, mlp-tiny" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["mlp-tiny", "--optimizer", "lbfgs"], ["mlp-tiny", "--epochs", "x"]])
def test_argparse_rejects_unknown_choices(capsys, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    assert exit_info.value.code == 2
    assert "invalid" in capsys.readouterr().err
