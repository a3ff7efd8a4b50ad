"""Every .cu file compiles with nvcc for sm_90 (H100) and sm_80 (A100) — no GPU needed.

Templated kernels are instantiated by the launchers at run time through
NVRTC name expressions; here a small wrapper instantiates each template with
every argument combination its launcher uses, so those bodies compile too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from glassgrad.kernels.matmul.cuda_ladder import WARPTILE_CONFIGS

ROOT = Path(__file__).resolve().parents[2] / "glassgrad" / "kernels"
CU_FILES = sorted(ROOT.rglob("*.cu"))

# Explicit instantiations for the templated kernels (file name -> lines).
ARGS = "const float*, const float*, float*, int, int, int, long long, long long, long long, long long, long long, long long, int, int"
WMMA = "const {t}*, const {t}*, float*, int, int, int, long long, long long, long long, long long, int, int"
INSTANTIATE = {
    "vectorized.cu": [f"template __global__ void matmul_vectorized<{a},{b}>({ARGS});" for a in (1, 2) for b in (1, 2)],
    "warptile.cu": [
        f"template __global__ void matmul_warptile<{','.join(map(str, c))},{a},{b}>({ARGS});"
        for c in WARPTILE_CONFIGS.values()
        for a in (1, 2)
        for b in (1, 2)
    ],
    "wmma.cu": [
        f"template __global__ void matmul_wmma<{t},{a},{b}>({WMMA.format(t=t)});"
        for t in ("float", "__nv_bfloat16")
        for a in ("true", "false")
        for b in ("true", "false")
    ],
}


def test_there_are_cuda_sources() -> None:
    assert len(CU_FILES) >= 8, CU_FILES


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
@pytest.mark.parametrize("source", CU_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cu_file_compiles(source: Path, arch: str, tmp_path: Path) -> None:
    unit = tmp_path / "unit.cu"
    lines = [f'#include "{source}"', *INSTANTIATE.get(source.name, [])]
    unit.write_text("\n".join(lines) + "\n")
    cmd = [
        "nvcc",
        f"-arch={arch}",
        "-std=c++17",
        "-cubin",
        f"-I{source.parent}",
        "-o",
        str(tmp_path / "out.cubin"),
        str(unit),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.cubin").stat().st_size > 0
