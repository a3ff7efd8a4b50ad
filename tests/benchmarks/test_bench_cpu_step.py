"""Smoke run of benchmarks/bench_cpu_step.py at tiny sizes (no timing asserts), and the CPU monitor it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from glassgrad.kernels import busy

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cpu_step.py"
ROWS = ("gpt", "ffn", "mlp", "chain", "conv64", "conv128", "conv256")


def test_quick_run_writes_every_row_with_matching_losses(tmp_path: Path) -> None:
    out = tmp_path / "cpu_step.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--max-retries", "1", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout
    for name in ROWS:
        assert f"\n{name} " in table
    payload = json.loads(out.read_text())
    assert payload["quick"] is True
    assert payload["threads"]["torch"] == 2
    assert payload["machine"]["cores"] >= 1
    assert payload["command"].startswith("python benchmarks/bench_cpu_step.py --quick")
    assert [r["row"] for r in payload["rows"]] == list(ROWS)
    for r in payload["rows"]:
        assert r["check"]["ok"], r["check"]
        for ours, theirs in r["check"]["losses"]:
            assert abs(ours - theirs) <= 1e-4 * abs(theirs) + 1e-5
        assert r["ours_ms"] > 0 and r["torch_ms"] > 0
        assert abs(r["ratio"] - r["ours_ms"] / r["torch_ms"]) < 1e-9
        assert 0 <= r["retries"] <= 1 and len(r["attempts"]) == r["retries"] + 1
        assert r["met"] == (r["ratio"] <= r["target"])
        assert r["others_share"] is None or 0 <= r["others_share"] <= 1


def test_quick_run_of_chosen_rows_only(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--rows", "chain", "mlp", "--max-retries", "0", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["row"] for r in rows] == ["chain", "mlp"]
    assert all(r["retries"] == 0 for r in rows)


def test_isolated_run_times_each_library_in_its_own_process(tmp_path: Path) -> None:
    """--isolate: a glassgrad worker and a torch worker take turns; the losses still come back and agree."""
    out = tmp_path / "isolated.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--isolate", "--processes", "2", "--rows", "chain", "mlp"]
    cmd += ["--max-retries", "0"]
    done = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    payload = json.loads(out.read_text())
    assert payload["isolated"] is True and "torch" not in payload["threads"]
    for r in payload["rows"]:
        assert r["isolated"] is True and r["processes"] == 2 and r["check"]["ok"], r["check"]
        assert len(r["check"]["losses"]) == (2 if r["row"] == "mlp" else 1)
        assert r["ours_ms"] > 0 and r["torch_ms"] > 0


def test_busy_span_counts_other_processes_in_cores() -> None:
    span = busy.Span(seconds=2.0, others_jiffies=busy.CLOCK_TICKS)  # one core-second over two seconds
    assert span.cores == 0.5
    assert span.share == 0.5 / busy.CORES
    assert busy.Span(1.0, -3).cores == 0.0  # the two counters' rounding can leave others below zero
    both = busy.total([busy.Span(1.0, 10), busy.Span(3.0, 30)])
    assert both is not None and (both.seconds, both.others_jiffies) == (4.0, 40)
    assert busy.total([busy.Span(1.0, 1), None]) is None


def test_busy_marks_measure_a_span_of_this_process() -> None:
    start = busy.mark()
    assert start is not None  # Linux: /proc is there
    sum(i * i for i in range(200_000))  # this process's own work is not the others'
    span = busy.since(start)
    assert span is not None and span.seconds > 0 and span.cores >= 0
    assert busy.since(None) is None
