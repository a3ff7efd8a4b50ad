"""``python -m glassgrad doctor`` reports the set-up and what is missing, with the command that installs it."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import numba
import numpy
import pytest

from glassgrad.commands import doctor


def _doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glassgrad", "doctor", *args], capture_output=True, text=True, check=False
    )


def test_doctor_reports_versions_threads_blas_gpu_and_nvcc() -> None:
    done = _doctor()
    assert done.returncode == 0, done.stderr  # every required package is installed here
    report = done.stdout.split("\nmissing:\n")[0]
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in report.splitlines() if line)  # name  value
    assert rows["numpy"] == numpy.__version__ and rows["numba"] == numba.__version__
    assert rows["python"].startswith(sys.version.split()[0])
    out = done.stdout
    for topic in ("threading layer", "BLAS", "GPU", "nvcc", "numba cache", "environment"):
        assert f"\n{topic} " in out
    assert "TBB:" in out  # the threading layer line says what became of TBB


@pytest.mark.parametrize(("hidden", "code"), [("torch", 0), ("numba", 1)])
def test_doctor_names_the_install_command_of_what_is_missing(monkeypatch, capsys, hidden: str, code: int) -> None:
    real = doctor.version_of
    monkeypatch.setattr(doctor, "version_of", lambda name: None if name == hidden else real(name))
    assert doctor.run(argparse.Namespace(no_threads=True)) == code  # a missing required package fails
    missing = capsys.readouterr().out.split("\nmissing:\n")[1]
    line = next(line for line in missing.splitlines() if line.split()[0] == hidden)
    package = next(p for p in doctor.PACKAGES if p.name == hidden)
    assert line.endswith(f": {package.install}") and ("(required)" in line) == package.required
