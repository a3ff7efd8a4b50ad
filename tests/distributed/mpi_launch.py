"""Start Python scripts on N ranks through mpiexec, with a timeout (for the multi-process tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def mpiexec() -> str:
    """The mpiexec next to this Python (the mpich wheel's, in a virtual environment), else the one on PATH."""
    beside = Path(sys.executable).with_name("mpiexec")
    if beside.exists():
        return str(beside)
    found = shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("no mpiexec next to sys.executable or on PATH: pip install -e '.[dist]'")
    return found


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall-clock time from start to exit


class Launch:
    """``mpiexec -n n python script args``, started now; ``result()`` waits for it (at most ``timeout``)."""

    def __init__(self, script: Path, *args: str, n: int = 2, timeout: float = 120) -> None:
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        environment.pop("GLASSGRAD_DIST_TIMEOUT", None)
        command = [mpiexec(), "-n", str(n), sys.executable, str(script), *args]
        self.timeout, self.start = timeout, time.monotonic()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=REPO
        )

    def result(self) -> Finished:
        try:
            stdout, stderr = self.process.communicate(timeout=max(self.timeout - (time.monotonic() - self.start), 1))
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
            raise AssertionError(f"the job did not end within {self.timeout} s (hung):\n{stdout}\n{stderr}") from None
        return Finished(self.process.returncode, stdout, stderr, time.monotonic() - self.start)
