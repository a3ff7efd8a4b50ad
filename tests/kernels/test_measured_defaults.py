"""kernels/cuda/measured_defaults: reading, choosing, writing and applying the benchmark-measured cuda
defaults, on the cpu with a fake compute capability (nothing here needs a GPU or CuPy)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from glassgrad import kernels
from glassgrad.cli import main
from glassgrad.kernels.cuda import measured_defaults as md


@pytest.fixture
def matmul_default():
    """Restore the cuda matmul default after a test changes it."""
    before = kernels.default_name("matmul", "cuda")
    yield before
    kernels.set_default("matmul", "cuda", before)


def test_the_shipped_table_is_valid_json_of_capabilities() -> None:
    table = md.load()
    assert isinstance(table, dict) and all(cap.startswith("sm_") for cap in table)
    for entries in table.values():
        for op, name in entries.items():
            assert name in {v.name for v in kernels.list(op, "cuda")}, (op, name)


def test_write_then_apply_for_a_fake_capability(tmp_path: Path, matmul_default: str) -> None:
    path = tmp_path / "defaults.json"
    assert md.load(path) == {} and md.apply("sm_99", path) == {}
    md.write("sm_80", {"matmul": "vectorized"}, path)
    md.write("sm_99", {"matmul": "warptile"}, path)
    assert json.loads(path.read_text()) == {"sm_80": {"matmul": "vectorized"}, "sm_99": {"matmul": "warptile"}}
    assert md.apply("sm_99", path) == {"matmul": "warptile"}
    assert kernels.default_name("matmul", "cuda") == "warptile"
    assert md.apply("sm_75", path) == {}  # another GPU: nothing measured, defaults unchanged
    assert kernels.default_name("matmul", "cuda") == "warptile"


def test_apply_for_reads_the_capability_from_cupy(tmp_path: Path, matmul_default: str) -> None:
    path = tmp_path / "defaults.json"
    md.write("sm_90", {"matmul": "blocktile_2d"}, path)
    fake_cupy = SimpleNamespace(cuda=SimpleNamespace(Device=lambda: SimpleNamespace(compute_capability="90")))
    assert md.capability(fake_cupy) == "sm_90"
    assert md.apply_for(fake_cupy, path) == {"matmul": "blocktile_2d"}
    assert kernels.default_name("matmul", "cuda") == "blocktile_2d"


def test_a_stale_or_broken_table_warns_and_changes_nothing(tmp_path: Path, matmul_default: str) -> None:
    path = tmp_path / "defaults.json"
    md.write("sm_90", {"matmul": "no_such_variant"}, path)
    with pytest.warns(RuntimeWarning, match="no_such_variant"):
        assert md.apply("sm_90", path) == {}
    path.write_text("[1, 2]")
    fake_cupy = SimpleNamespace(cuda=SimpleNamespace(Device=lambda: SimpleNamespace(compute_capability="90")))
    with pytest.warns(RuntimeWarning, match="not applied"):
        assert md.apply_for(fake_cupy, path) == {}
    assert kernels.default_name("matmul", "cuda") == matmul_default


def _row(variant: str, size: str, speedup: float, dtype: str = "float32", op: str = "matmul") -> SimpleNamespace:
    return SimpleNamespace(op=op, variant=variant, size=size, dtype=dtype, vs_reference=speedup)


def test_choose_takes_validated_variants_faster_at_every_size() -> None:
    sizes = ("4096", "8192")
    rows = [_row("cublas", s, 1.0) for s in sizes]
    rows += [_row("warptile", "4096", 1.2), _row("warptile", "8192", 0.9)]  # slower at one size
    rows += [_row("vectorized", s, 1.1) for s in sizes]
    rows += [_row("blocktile_2d", s, 1.5) for s in sizes]  # fastest, but fails validation below
    rows += [_row("naive", "4096", 3.0)]  # not run at every size
    validated = {"vectorized": True, "blocktile_2d": False, "warptile": True, "naive": True}
    assert md.choose(rows, lambda op, name: validated[name]) == {"matmul": "vectorized"}
    assert md.choose(rows, lambda op, name: False) == {}
    rows_bf16 = [_row("cublas", "4096", 1.0), _row("mma_bf16", "4096", 9.0, dtype="bfloat16")]
    assert md.choose(rows_bf16, lambda op, name: True) == {}  # only float32 rows decide


def test_looser_variants_never_validate_for_a_default() -> None:
    """A TF32 variant's own tolerance is looser than float32's: it cannot become the float32 default."""
    assert not md.validated_at_op_tolerance("matmul", "mma_tf32")


def test_bench_refuses_write_defaults_off_cuda_float32(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "matmul", "--device", "cpu", "--write-defaults"]) == 2
    assert "--write-defaults needs --device cuda" in capsys.readouterr().err
