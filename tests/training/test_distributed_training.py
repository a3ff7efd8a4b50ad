"""``train --nproc``: two ranks through mpiexec take the steps of one process on the same global batches,
rank 0 alone writes, a Ctrl-C stops both ranks after the same epoch, and the 2-rank checkpoint resumes on
2 ranks and on 1 to the uninterrupted run. Two launches: ``mpiexec -n 2 python driver.py train ...``
(the direct form; the driver records who writes and sends rank 1 a SIGINT) and ``train --nproc 2 --resume``
(called here, so that this process is the one that starts mpiexec).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.cli import main
from glassgrad.training import CHECKPOINT_NAME
from glassgrad.training import distributed as training_distributed

EPOCHS, STOPPED_AFTER = 4, 2
STEPS_PER_EPOCH = 8  # mlp-tiny: 1,024 training samples, global batch 128 (64 per rank)
RUN = ["train", "mlp-tiny", "--epochs", str(EPOCHS), "--no-progress"]
ENV = os.environ | {"GLASSGRAD_DIST_TIMEOUT": "60"}  # a rank left waiting raises instead of hanging

DRIVER = """
import os, signal, sys
from pathlib import Path

from glassgrad.cli import main
from glassgrad.training import metrics, trainer
from glassgrad.training.task import SupervisedTask

rank = int(os.environ["PMI_RANK"])
log = Path(sys.argv[1]) / f"writes-rank{rank}.txt"


def logged(what, write):
    def wrapper(*args, **kwargs):
        with log.open("a") as f:
            f.write(what + "\\n")
        return write(*args, **kwargs)
    return wrapper


trainer.write_state = logged("checkpoint", trainer.write_state)
trainer.plot_history = logged("plot", trainer.plot_history)
metrics.MetricsLog.write = logged("metrics", metrics.MetricsLog.write)
steps, step = [0], SupervisedTask.train_step


def train_step(self, batch):
    steps[0] += 1
    if rank == 1 and steps[0] == int(sys.argv[2]):  # Ctrl-C reaches rank 1 alone, during the epoch
        os.kill(os.getpid(), signal.SIGINT)
    return step(self, batch)


SupervisedTask.train_step = train_step
sys.exit(main(sys.argv[3:]))
"""


def _weights(run: Path) -> dict[str, np.ndarray]:
    state = gg.load(run / CHECKPOINT_NAME)
    assert state["epoch"] == EPOCHS
    return {key: value.numpy() for key, value in state["modules"]["model"].items()}


def _rows(run: Path) -> list[dict[str, float]]:
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("ddp")
    assert main([*RUN, "--nproc", "1", "--out", str(root / "straight")]) == 0  # the 1-process reference

    driver = root / "driver.py"
    driver.write_text(DRIVER)
    interrupt_at = STOPPED_AFTER * STEPS_PER_EPOCH - 3  # during epoch 2: both ranks stop after it
    direct = [shutil.which("mpiexec"), "-n", "2", sys.executable, str(driver), str(root), str(interrupt_at)]
    stopped = subprocess.run(
        [*direct, *RUN, "--out", str(root / "stopped")], capture_output=True, text=True, timeout=180, env=ENV
    )
    for name in ("on2", "on1"):
        shutil.copytree(root / "stopped", root / name)
    with pytest.MonkeyPatch.context() as env:  # this process starts mpiexec (the ranks see the timeout)
        env.setenv("GLASSGRAD_DIST_TIMEOUT", ENV["GLASSGRAD_DIST_TIMEOUT"])
        on2 = main([*RUN, "--out", str(root / "on2"), "--resume", "--nproc", "2"])
    on1 = main([*RUN, "--out", str(root / "on1"), "--resume"])  # no --nproc: the checkpoint keeps its order
    return {"root": root, "stopped": stopped, "on2": on2, "on1": on1}


def test_ctrl_c_on_one_rank_stops_both_after_the_same_epoch_and_only_rank_0_writes(runs) -> None:
    root, stopped = runs["root"], runs["stopped"]
    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    assert gg.load(root / "stopped" / CHECKPOINT_NAME)["epoch"] == STOPPED_AFTER
    rows, reference = _rows(root / "stopped"), _rows(root / "straight")[:STOPPED_AFTER]
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("train_loss", "test_loss"):  # 2 ranks on 64 samples each = 1 process on the 128
        np.testing.assert_allclose([r[key] for r in rows], [r[key] for r in reference], rtol=1e-6)
    assert stopped.stdout.count("epoch 1/4") == 1 and stopped.stdout.count("data parallel: 2 rank(s)") == 1
    assert stopped.stderr.count("interrupted:") == 1 and "--resume --nproc 2" in stopped.stderr
    assert not (root / "writes-rank1.txt").exists()
    writes = (root / "writes-rank0.txt").read_text().split()
    assert writes == ["metrics", "checkpoint", "metrics", "checkpoint", "plot"]


def test_two_rank_checkpoint_resumes_on_two_and_on_one_rank_to_the_one_process_run(runs) -> None:
    root = runs["root"]
    assert runs["on2"] == 0 and runs["on1"] == 0
    straight = _weights(root / "straight")
    for name in ("on2", "on1"):
        resumed = _weights(root / name)
        assert resumed.keys() == straight.keys()  # the plain model's keys (no "module." prefix)
        for key in straight:
            np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}")
        rows, reference = _rows(root / name), _rows(root / "straight")
        assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
        for key in ("train_loss", "test_loss"):
            np.testing.assert_allclose([r[key] for r in rows], [r[key] for r in reference], rtol=1e-5)
        assert [r["samples_per_s"] > 0 for r in rows] == [True] * EPOCHS


def test_nproc_errors_are_one_line_before_anything_starts(tmp_path: Path, capsys, monkeypatch) -> None:
    out = ["--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit):
        main([*RUN, *out, "--nproc", "0"])
    assert "--nproc: must be a positive integer, got 0" in capsys.readouterr().err
    assert main([*RUN, *out, "--nproc", "3"]) == 2
    assert "--batch-size 128 is the global batch, split evenly over the 3 ranks" in capsys.readouterr().err
    assert main(["train", "gan", "--epochs", "1", *out, "--nproc", "1"]) == 2
    assert "--nproc is not supported by recipe gan" in capsys.readouterr().err
    one_gpu = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1)))
    monkeypatch.setattr("glassgrad.commands.train.require_cuda", lambda prog, instead: None)
    monkeypatch.setattr("glassgrad.engine.backend.cupy_module", lambda op=None: one_gpu)  # CuPy seeing one GPU
    assert main([*RUN, *out, "--nproc", "2", "--device", "cuda"]) == 2
    assert "NCCL needs one GPU per rank and this machine has 1" in capsys.readouterr().err
    monkeypatch.setattr(training_distributed, "mpiexec_path", lambda: None)
    assert main([*RUN, *out, "--nproc", "2"]) == 2
    assert "no mpiexec next to" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if not installed
    assert main([*RUN, *out, "--nproc", "2"]) == 2
    assert "needs mpi4py and an MPI: pip install -e '.[dist]'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
