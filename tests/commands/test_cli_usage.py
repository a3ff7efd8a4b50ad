"""The command line as people use it, each case in a fresh ``python -m glassgrad``
process: a user's mistake is one line on stderr and exit 2 (``--debug`` shows the
traceback), a run directory is never replaced silently, ``--resume`` keeps the
run's recipe and settings, Ctrl-C stops cleanly and the resumed run equals an
uninterrupted one, per-epoch output with and without a bar, accuracy written one
way everywhere, linreg's θ, the plots, help on every option, nn.summary at a prompt."""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.cli import build_parser
from glassgrad.training import CHECKPOINT_NAME

from test_train_command import flat_state

TIMEOUT = 180


def cli(*args: str, cwd: Path | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    """``python -m glassgrad ARGS`` (or ``python -c CODE``) in a fresh process."""
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "glassgrad", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False, cwd=cwd, env=env)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def assert_same_run(a: Path, b: Path) -> None:
    """Bitwise the same checkpoint and the same per-epoch losses."""
    sa, sb = (flat_state(d / CHECKPOINT_NAME, skip=(".meta.config",)) for d in (a, b))  # meta records --epochs
    assert sa.keys() == sb.keys()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)
    rows_a = json.loads((a / "metrics.json").read_text())
    rows_b = json.loads((b / "metrics.json").read_text())
    assert [r["epoch"] for r in rows_a] == [r["epoch"] for r in rows_b]
    assert [r["train_loss"] for r in rows_a] == [r["train_loss"] for r in rows_b]
    assert [r.get("test_loss") for r in rows_a] == [r.get("test_loss") for r in rows_b]


# ---------------------------------------------------------------- mistakes: one line, exit 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "mlp-tiny", "--epochs", "x"], "python -m glassgrad train: --epochs: invalid int value: 'x' (see --help)"),
        (["train", "mlp-tiny", "--epochs", "0"], "train: --epochs: must be a positive integer, got 0 (see --help)"),
        (["train", "mlp-tiny", "--lr", "-1"], "train: --lr: must be a positive number, got -1 (see --help)"),
        (["train", "mlp-tiny", "--lr", "nan"], "--lr: must be a positive number, got nan"),
        (["train", "mlp-tiny", "--batch-size", "0"], "--batch-size: must be a positive integer, got 0"),
        (["train", "mlp-tiny", "--seed", "-1"], "--seed: must be an integer >= 0, got -1"),
        (["train", "mlp-tiny", "--optimizer", "lbfgs"], "--optimizer: invalid choice: 'lbfgs'"),
        (["train"], "train: the following arguments are required: RECIPE (see --help)"),
        (["trian", "mlp-tiny"], "python -m glassgrad: COMMAND: invalid choice: 'trian'"),
        (["train", "no-such-recipe"], "no recipe named 'no-such-recipe'; available: linreg, mlp-tiny, mlp-bce"),
        (["train", "cifar-cnn"], "train cifar-cnn: cifar-cnn needs --data-dir: the directory holding CIFAR-10"),
        (["train", "image-cnn"], "image-cnn needs --data-dir: the directory holding an image folder"),
        (["train", "cifar-cnn", "--data-dir", "no/such/dir"], "--data-dir no/such/dir is not a directory; give"),
        (["train", "cifar-cnn", "--data-dir", "."], "lacks the CIFAR-10 files data_batch_1.bin"),
        (["train", "image-cnn", "--data-dir", "."], "has 1 class sub-directories ['run']; give an image folder"),
        (["train", "mnist-cnn", "--data-dir", "no/such/dir"], "is not a directory; give the directory holding the MNIST"),
        (["train", "mnist-cnn", "--data-dir", "."], "--data-dir . lacks the MNIST files train-images-idx3-ubyte"),
        (["train", "gan", "--classifier", "nope.ggt"], "--classifier nope.ggt is not a file"),
        (["train", "mlp-tiny", "--resume", "--out", "run"], "--resume given but run holds no checkpoint.ggt"),
        (["train", "mlp-tiny", "--resume", "--overwrite"], "--resume continues the run in --out and --overwrite replaces"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_on_stderr_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "run").mkdir()  # an empty directory: image-cnn's one "class"
    line = one_line_error(cli(*args, cwd=tmp_path))
    assert message in line
    assert line.startswith("python -m glassgrad")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing written: no runs/, no checkpoint
    assert not any((tmp_path / "run").iterdir())


def test_device_cuda_without_cupy_says_what_to_do(tmp_path: Path) -> None:
    # CuPy hidden (sys.modules["cupy"] = None makes `import cupy` fail), so the case is the same on any machine.
    code = (
        "import sys; sys.modules['cupy'] = None; from glassgrad.cli import main; "
        "sys.exit(main(['train', 'mlp-tiny', '--device', 'cuda']))"
    )
    line = one_line_error(cli(code=code, cwd=tmp_path))
    assert "train mlp-tiny: --device cuda: device 'cuda' is not available: CuPy is not installed" in line
    assert "leave --device out to train on the cpu" in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(tmp_path: Path, where: str) -> None:
    args = ["train", "cifar-cnn", "--debug"] if where == "after" else ["--debug", "train", "cifar-cnn"]
    result = cli(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "UsageError: cifar-cnn needs --data-dir" in result.stderr


# ---------------------------------------------------------------- run directories and --resume


def test_a_second_train_into_a_run_refuses_unless_resume_or_overwrite(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    assert cli("train", "mlp-tiny", "--epochs", "1", "--out", out, "--no-progress").returncode == 0
    before = (tmp_path / "run" / CHECKPOINT_NAME).read_bytes()
    line = one_line_error(cli("train", "mlp-tiny", "--epochs", "2", "--out", out))
    assert f"{out} already holds a run (checkpoint.ggt, metrics.csv, metrics.json)" in line
    assert "pass --resume to continue it, --overwrite to replace it, or another --out" in line
    assert (tmp_path / "run" / CHECKPOINT_NAME).read_bytes() == before

    result = cli("train", "mlp-tiny", "--epochs", "2", "--out", out, "--overwrite", "--no-progress")
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2]  # a new run from epoch 1, not a continuation
    straight = tmp_path / "straight"
    assert cli("train", "mlp-tiny", "--epochs", "2", "--out", str(straight), "--no-progress").returncode == 0
    assert_same_run(straight, tmp_path / "run")


def test_resume_refuses_another_recipes_checkpoint_by_name(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    assert cli("train", "mlp-tiny", "--epochs", "1", "--out", out, "--no-progress").returncode == 0
    line = one_line_error(cli("train", "mlp-bce", "--out", out, "--resume"))
    assert f"{out}/checkpoint.ggt was written by recipe mlp-tiny, not mlp-bce" in line
    assert f"`python -m glassgrad train mlp-tiny --out {out} --resume`" in line

    state = gg.load(tmp_path / "run" / CHECKPOINT_NAME)
    del state["meta"]  # as written before checkpoints named their recipe
    gg.save(state, tmp_path / "run" / CHECKPOINT_NAME)
    line = one_line_error(cli("train", "mlp-bce", "--out", out, "--resume"))
    assert "was written by an unknown recipe and does not fit mlp-bce" in line


def test_resume_with_another_optimizer_names_both(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    assert cli("train", "mlp-tiny", "--epochs", "1", "--out", out, "--no-progress").returncode == 0
    line = one_line_error(cli("train", "mlp-tiny", "--out", out, "--resume", "--optimizer", "adam"))
    assert "was trained with --optimizer sgd, it cannot continue with --optimizer adam" in line
    line = one_line_error(cli("train", "mlp-tiny", "--out", out, "--resume", "--seed", "3"))
    assert "was trained with --seed 0, it cannot continue with --seed 3" in line


def test_resume_keeps_the_runs_settings_and_says_when_it_is_finished(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    first = cli("train", "mlp-tiny", "--epochs", "2", "--batch-size", "64", "--out", out, "--no-progress")
    assert first.returncode == 0, first.stderr
    done = cli("train", "mlp-tiny", "--out", out, "--resume")  # no --epochs: the checkpoint's 2, not the recipe's 20
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{out} already holds all 2 epochs; pass --epochs M > 2 to train further"
    assert done.stderr == ""

    more = cli("train", "mlp-tiny", "--out", out, "--resume", "--epochs", "3", "--lr", "0.05", "--no-progress")
    assert more.returncode == 0, more.stderr
    assert "epochs 3, batch 64, sgd lr 0.05" in more.stdout  # the run's batch size kept
    assert "note: --epochs 2 → 3: training continues to epoch 3" in more.stdout
    assert "note: --lr 0.1 → 0.05: the optimizer keeps its saved state and steps with the new lr" in more.stdout
    state = gg.load(tmp_path / "run" / CHECKPOINT_NAME)
    assert state["optimizers"]["optimizer"]["param_groups"][0]["lr"] == 0.05
    assert json.loads(state["meta"]["config"])["lr"] == 0.05
    assert [r["epoch"] for r in json.loads((tmp_path / "run" / "metrics.json").read_text())] == [1, 2, 3]


def test_resume_with_more_epochs_says_the_lr_schedule_is_recomputed(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    common = ["--batch-size", "500", "--out", out, "--no-progress"]
    assert cli("train", "mnist-cnn", "--epochs", "1", *common).returncode == 0
    result = cli("train", "mnist-cnn", "--epochs", "2", "--resume", *common)
    assert result.returncode == 0, result.stderr
    note = next(line for line in result.stdout.splitlines() if line.startswith("note: --epochs 1 → 2"))
    assert "mnist-cnn's lr schedule spans the run's total number of steps, so it is recomputed" in note
    assert "the lr jumps at the resume point" in note
    state = gg.load(tmp_path / "run" / CHECKPOINT_NAME)
    assert state["schedulers"]["scheduler"]["last_epoch"] == 16  # 8 steps per epoch, 2 epochs
    assert state["optimizers"]["optimizer"]["param_groups"][0]["lr"] == 0.0  # the 2-epoch cosine's end


def test_resume_in_a_new_process_is_bitwise_exact(tmp_path: Path) -> None:
    straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
    common = ["mlp-bce", "--batch-size", "64", "--no-progress"]
    for args in (
        [*common, "--epochs", "3", "--out", straight],
        [*common, "--epochs", "1", "--out", resumed],
        [*common, "--epochs", "3", "--out", resumed, "--resume"],
    ):
        result = cli("train", *args)
        assert result.returncode == 0, result.stderr
    assert_same_run(tmp_path / "straight", tmp_path / "resumed")


# ---------------------------------------------------------------- Ctrl-C


def test_ctrl_c_saves_the_last_epoch_and_the_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    # 101 epochs: the checkpoint is written every 2nd epoch, so epoch boundaries between writes are kept in memory.
    out = tmp_path / "run"
    args = ["train", "mlp-tiny", "--epochs", "101", "--no-progress"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "glassgrad", *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("epoch 1/101"):
            process.send_signal(signal.SIGINT)
            break
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    message = stderr.splitlines()[-1]
    saved = int(re.search(r"holds epochs 1-(\d+) of 101", message).group(1))
    assert 1 <= saved < 101
    assert gg.load(out / CHECKPOINT_NAME)["epoch"] == saved
    assert [r["epoch"] for r in json.loads((out / "metrics.json").read_text())] == list(range(1, saved + 1))
    if "cut short" in message:
        assert f"epoch {saved + 1} was cut short and discarded" in message
    command = message.split("resume with: ", 1)[1]
    assert command == f"python -m glassgrad train mlp-tiny --out {out} --resume --no-progress"

    resumed = cli(*shlex.split(command)[3:])
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {saved}" in resumed.stdout
    straight = cli(*args, "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    assert_same_run(tmp_path / "straight", out)


# ---------------------------------------------------------------- output


def test_no_progress_prints_a_line_per_epoch(tmp_path: Path) -> None:
    result = cli("train", "mlp-tiny", "--epochs", "3", "--out", str(tmp_path / "run"), "--no-progress")
    assert result.returncode == 0, result.stderr
    epochs = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert epochs == ["1/3", "2/3", "3/3"]
    assert re.search(r"^epoch 2/3  train_loss [0-9.]+  test_loss [0-9.]+  [0-9,]+ samples/s$", result.stdout, re.M)
    assert result.stderr == ""  # no bar


def test_many_tiny_epochs_print_a_line_every_n_and_linreg_prints_theta(tmp_path: Path) -> None:
    result = cli("train", "linreg", "--epochs", "150", "--out", str(tmp_path / "run"), "--no-progress")
    assert result.returncode == 0, result.stderr
    epochs = [int(line.split()[1].split("/")[0]) for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert epochs == [1, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150]
    theta = re.search(r"^θ = \((-?[0-9.]+), (-?[0-9.]+)\)", result.stdout, re.M)
    weights = gg.load(tmp_path / "run" / CHECKPOINT_NAME)["modules"]["model"]["theta"].numpy()
    assert [float(theta.group(1)), float(theta.group(2))] == [round(float(w), 6) for w in weights]


def test_the_progress_bar_shows_each_epochs_live_loss_and_samples_per_second(tmp_path: Path) -> None:
    result = cli("train", "mlp-bce", "--epochs", "2", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    bars = result.stderr.replace("\r", "\n")
    for epoch in (1, 2):
        final = [line for line in bars.splitlines() if line.startswith(f"epoch {epoch}/2: 100%")]
        assert final and re.search(r"loss=[0-9.]+, accuracy=0\.[0-9]{4}, samples/s=[0-9,]+\]", final[-1]), final
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("epoch ")] == ["1/2", "2/2"]


def test_accuracy_is_the_same_fraction_on_the_console_in_csv_and_json(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("train", "mlp-bce", "--epochs", "2", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    console = {
        int(m.group(1)): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(
            r"^epoch (\d)/2 .*train_accuracy (0\.\d{4}) .*test_accuracy (0\.\d{4})", result.stdout, re.M
        )
    }
    rows_csv = list(csv.DictReader((out / "metrics.csv").open()))
    rows_json = json.loads((out / "metrics.json").read_text())
    assert sorted(console) == [1, 2] and len(rows_csv) == len(rows_json) == 2
    for row_csv, row_json in zip(rows_csv, rows_json, strict=True):
        for i, split in enumerate(("train", "test")):
            value = row_json[f"{split}_accuracy"]
            assert 0 <= value <= 1 and float(row_csv[f"{split}_accuracy"]) == value
            assert console[row_json["epoch"]][i] == round(value, 4)
    summary = re.search(r"^test   loss [0-9.]+  accuracy (0\.\d{4})$", result.stdout, re.M)
    assert float(summary.group(1)) == round(rows_json[-1]["test_accuracy"], 4)
    metric_lines = [line for line in result.stdout.splitlines() if line.startswith(("epoch ", "train ", "test "))]
    assert len(metric_lines) == 4 and not any("%" in line for line in metric_lines)


def test_gan_metrics_and_plot_have_both_losses(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("train", "gan", "--epochs", "1", "--batch-size", "500", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    row = json.loads((out / "metrics.json").read_text())[0]
    assert {"train_loss", "train_g_loss"} <= set(row)
    assert re.search(r"^epoch 1/1  train_loss [0-9.]+  train_g_loss [0-9.]+", result.stdout, re.M)
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # what that plot drew, redrawn from the same rows with the gan task's legend names
    from glassgrad.recipes.gan import GANTask
    from glassgrad.training.plots import plot_history

    drawn = plot_history([row], tmp_path / "again.png", labels=GANTask.metric_labels(None))
    assert drawn["loss"] == ["discriminator (train_loss)", "generator (train_g_loss)"]
    assert drawn["epoch_ticks"] == [1.0]  # one epoch: one integer tick


def test_plots_of_few_epochs_have_integer_ticks_and_points(tmp_path: Path) -> None:
    from glassgrad.training.plots import plot_history

    rows = [{"epoch": e, "train_loss": 1 / e, "test_loss": 2 / e, "train_accuracy": 0.5, "test_accuracy": 0.4}
            for e in (1, 2, 3)]  # fmt: skip
    drawn = plot_history(rows, tmp_path / "metrics.png")
    assert drawn == {"loss": ["train", "test"], "accuracy": ["train", "test"], "epoch_ticks": [1.0, 2.0, 3.0]}


# ---------------------------------------------------------------- help, demo, nn.summary


def _options(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((path, action))
    return found


def test_every_option_of_every_command_has_help_text() -> None:
    options = _options(build_parser(), "python -m glassgrad")
    assert len({path for path, _ in options}) >= 8  # bench demo doctor download info recipes train, and the top
    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}" for path, a in options if not a.help]
    assert missing == []


def test_demo_runs_and_is_in_the_readme() -> None:
    result = cli("demo", "--steps", "20")
    assert result.returncode == 0, result.stderr
    losses = [float(line.split()[-1]) for line in result.stdout.splitlines() if line.startswith("step")]
    assert len(losses) == 11 and losses[-1] < losses[0]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "python -m glassgrad demo" in readme


def test_nn_summary_prints_its_table_once_at_a_prompt_and_in_a_script(tmp_path: Path) -> None:
    lines = "from glassgrad import nn\nnn.summary(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), (3,))\n"
    prompt = subprocess.run(
        [sys.executable, "-i", "-q"], input=lines, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert prompt.returncode == 0, prompt.stderr
    assert prompt.stdout.count("Total params: 16") == 1 and "None" not in prompt.stdout
    script = cli(code=lines)
    assert script.returncode == 0, script.stderr
    assert script.stdout.count("Total params: 16") == 1 and script.stdout.count("Linear-1") == 1
    as_text = cli(code="from glassgrad import nn\nprint(repr(nn.summary(nn.Linear(3, 4), (3,), print_fn=None))[:1])")
    assert as_text.stdout.strip() == "'"  # print_fn=None: the table as a string, not printed


def test_train_help_documents_the_resume_policy() -> None:
    result = cli("train", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "--resume continues the run in --out with the settings stored in its checkpoint" in text.replace("``", "")
    assert "recomputed for the new total" in text and "--optimizer, --seed and --image-size cannot change" in text
    assert "--overwrite replace the run already in --out" in text
