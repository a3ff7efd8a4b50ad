"""The kernel lab: registry choices, validation of every CPU variant, the benchmark harness and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad import kernels
from glassgrad.cli import main
from glassgrad.kernels.harness import format_table

CPU_OPS = [(op, v.name) for op in kernels.ops() for v in kernels.list(op, "cpu") if not v.reference]


@pytest.mark.parametrize(("op", "name"), CPU_OPS, ids=[f"{o}-{n}" for o, n in CPU_OPS])
def test_every_cpu_variant_passes_validation(op: str, name: str) -> None:
    report = kernels.validate(op, name, "cpu")
    assert report.passed, str(report)
    assert {r.dtype for r in report.results if not r.skipped} == {"float32", "float64"}


def test_validation_catches_a_wrong_kernel() -> None:
    @kernels.register("matmul", "cpu", "test_wrong", "deliberately off by one ulp-ish")
    def wrong(a, b):
        out = np.matmul(a, b)
        out[..., 0, 0] += 1.0
        return out

    try:
        report = kernels.validate("matmul", "test_wrong")
        assert not report.passed and report.failures()
    finally:
        kernels.registry._variants[("matmul", "cpu")].pop("test_wrong")


def test_use_selects_and_restores() -> None:
    assert kernels.get("matmul", "cpu").name == kernels.default_name("matmul", "cpu")
    with kernels.use("matmul", "naive", device="cpu"):
        assert kernels.get("matmul", "cpu").name == "naive"
        x = gg.randn(5, 4, requires_grad=True)
        (x @ gg.randn(4, 3)).sum().backward()  # the engine runs the chosen variant
        assert x.grad.shape == (5, 4)
    assert kernels.get("matmul", "cpu").name == kernels.default_name("matmul", "cpu")
    kernels.use("matmul", "blocked", device="cpu")
    assert kernels.get("matmul", "cpu").name == "blocked"
    kernels.use("matmul", None, device="cpu")
    assert kernels.get("matmul", "cpu").name == kernels.default_name("matmul", "cpu")


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(KeyError, match="no variant 'nope'"):
        kernels.use("matmul", "nope")
    with pytest.raises(KeyError, match="unknown op"):
        kernels.spec("nope")


def test_benchmark_rows_have_work_and_ratios() -> None:
    rows = kernels.benchmark("matmul", ["blocked"], ["64", "33x17x9"], repeat=2, warmup=1, measure_memory=True)
    assert [(r.variant, r.size) for r in rows] == [
        ("numpy", "64"),
        ("blocked", "64"),
        ("numpy", "33x17x9"),
        ("blocked", "33x17x9"),
    ]
    for r in rows:
        assert r.median_s > 0 and r.gflops > 0 and r.max_rel_error < 1e-5 and r.peak_mb is not None
    assert rows[0].vs_reference == 1.0
    assert "GFLOP/s" in format_table(rows)


def test_bench_cli_writes_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_png = tmp_path / "m.json", tmp_path / "m.png"
    assert (
        main(
            [
                "bench",
                "matmul",
                "--sizes",
                "48",
                "--variants",
                "naive",
                "--repeat",
                "2",
                "--json",
                str(out_json),
                "--plot",
                str(out_png),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "naive" in table and "numpy" in table
    payload = json.loads(out_json.read_text())
    assert payload["machine"]["cores"] >= 1 and len(payload["rows"]) == 2
    assert out_png.stat().st_size > 1000


def test_info_lists_variants(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "matmul" in out and "blocked" in out and "[default, reference]" in out


def test_bench_unknown_family(capsys) -> None:
    assert main(["bench", "nope"]) == 2  # a usage error: one line, exit status 2
    assert "python -m glassgrad bench: no kernel op named 'nope'" in capsys.readouterr().err


def test_bench_variants_that_no_op_of_the_family_has(capsys) -> None:
    """``--variants`` names only variants of some ops of the family (``naive`` is matmul's, not
    matmul_epilogue's): the others are skipped; a name no op has is a usage error listing the known ones."""
    assert main(["bench", "matmul", "--variants", "nope", "--sizes", "8"]) == 2
    err = capsys.readouterr().err
    assert "no variant named nope on cpu; known:" in err and "naive" in err
