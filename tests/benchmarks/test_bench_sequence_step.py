"""Smoke run of benchmarks/bench_sequence_step.py at tiny sizes (no timing asserts): both rows run in both
libraries from the same weights and their losses agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_sequence_step.py"


def test_quick_run_writes_both_rows_with_matching_losses_and_tokens_per_second(tmp_path: Path) -> None:
    out = tmp_path / "sequence_step.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--max-retries", "0", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["row"] for r in rows] == ["lstm", "gpt"]
    for r in rows:
        assert r["check"]["ok"], r["check"]
        assert r["ours_ms"] > 0 and r["torch_ms"] > 0
        assert r["ours_tokens_per_s"] > 0 and r["torch_tokens_per_s"] > 0
        assert r["met"] == (r["ratio"] <= r["target"])
    assert "tok/s" in done.stdout
