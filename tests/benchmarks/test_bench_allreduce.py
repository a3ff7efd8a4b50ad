"""Smoke run of benchmarks/bench_allreduce.py at tiny sizes on 2 ranks (no timing asserts): the table,
the JSON, the ring model's arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_allreduce.py"


def test_quick_run_on_two_ranks_writes_the_ring_model_beside_the_measures(tmp_path: Path) -> None:
    out = tmp_path / "allreduce.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--rows", "mlp-tiny", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\nmlp-tiny " in done.stdout and "GB/s" in done.stdout
    payload = json.loads(out.read_text())
    assert payload["quick"] is True and payload["ranks"] == 2 and payload["threads_per_rank"] >= 1
    assert payload["command"].startswith("python benchmarks/bench_allreduce.py --quick")
    bandwidth = payload["bandwidth"]
    assert (
        abs(bandwidth["bytes_per_s"] - bandwidth["bytes"] / bandwidth["allreduce_s"]) < 1e-6 * bandwidth["bytes_per_s"]
    )
    (row,) = payload["rows"]
    assert row["row"] == "mlp-tiny" and row["parameters"] == 3 * 2 + 2 + 2 * 1 + 1  # Linear(3, 2), Linear(2, 1)
    assert row["bytes"] == 4 * row["parameters"]
    assert abs(row["ring_model_s"] - row["bytes"] / bandwidth["bytes_per_s"]) < 1e-15  # 2(N-1)/N = 1 at N = 2
    assert (
        abs(row["measured_over_model"] - row["allreduce_s"] / row["ring_model_s"]) < 1e-9 * row["measured_over_model"]
    )
    assert row["step_s"] > 0 and row["no_sync_step_s"] > 0 and row["one_process_step_s"] > 0
    assert set(row["one_process"]) == {str(n) for n in payload["one_process_thread_counts"]}
    assert row["one_process_step_s"] == min(t["step_s"] for t in row["one_process"].values())
    assert abs(row["speedup"] - row["one_process_step_s"] / row["step_s"]) < 1e-12
    for key in ("allreduce_others_cores", "step_others_cores", "one_process_others_cores"):
        assert row[key] is None or row[key] >= 0
