"""benchmarks/gpu/run_all.sh, the whole GPU check in one call, stays within its 8 minutes on paper: the
time limits of its stages add up to at most 480 s (a stage's loop of sanitizer runs counts each run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "run_all.sh"


def test_the_stage_limits_add_up_to_at_most_eight_minutes() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    limits = [int(n) for n in re.findall(r"^\s*timeout (\d+) ", text, flags=re.M)]
    once = [int(n) for n in re.findall(r"^\s*sanitize [a-z]+ (\d+) ", text, flags=re.M)]
    looped = [int(n) for n in re.findall(r'^\s*sanitize "\$tool" (\d+) ', text, flags=re.M)]
    total = sum(limits) + sum(once) + 2 * sum(looped)  # each loop runs memcheck and racecheck
    assert limits and once and looped, "run_all.sh: no stages found"
    assert total <= 480, f"run_all.sh: the stages' limits add up to {total} s, over 8 minutes"
    assert f"{total} s at most" in text, f"run_all.sh's header should say the stages' limits add up to {total} s"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_script_parses() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
