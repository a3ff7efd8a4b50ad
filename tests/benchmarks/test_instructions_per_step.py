"""benchmarks/instructions_per_step.py: a count under callgrind where valgrind exists, else a clear exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "instructions_per_step.py"


def test_counts_instructions_or_says_valgrind_is_missing(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    cmd = [sys.executable, str(SCRIPT), "--rows", "chain", "--steps", "1", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        assert done.returncode == 2 and "needs valgrind" in done.stderr
        return
    assert done.returncode == 0, done.stdout + done.stderr
    counts = json.loads(out.read_text())["instructions_per_step"]
    assert 1e6 < counts["chain"] < 1e9  # 200 ops forward and backward: millions of instructions, not 0
