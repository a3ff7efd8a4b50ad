"""Every .cu file compiles with nvcc for sm_80 (A100) and sm_90 (H100) — no GPU needed.

Each file is compiled the way its launcher has NVRTC compile it: with the
launcher's ``-D`` defines (kernels/fused/launch.py ``DEFINES``) and every
template instance the launcher can ask for (kernels/matmul/cuda_ladder.py
``instances``), so the constants both sides share are written once, in the
launcher, and the bodies the launcher runs are the ones checked here. ``ptxas -v``
must report no register spills (beyond ALLOWED_SPILL_BYTES). Without a GPU, the
matmul launchers run on NumPy arrays posing as CuPy ones to show that each asks
for an instance built here, with a block and grid that fit its template arguments.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.cuda import compile as cuda_compile
from glassgrad.kernels.fused import launch
from glassgrad.kernels.matmul import cuda_ladder
from glassgrad.kernels.optim import cuda_multi_tensor

ROOT = Path(__file__).resolve().parents[2] / "glassgrad" / "kernels"
CU_FILES = sorted(ROOT.rglob("*.cu"))
FUSED, MATMUL = ROOT / "fused", ROOT / "matmul" / "cuda"
MULTI_TENSOR = ROOT / "optim" / "cuda"
ARCHS = ("sm_80", "sm_90")
#: files that use sm_90a-only instructions (wgmma, TMA) compile for sm_90a alone; none do today
HOPPER_ONLY: frozenset[str] = frozenset()
#: bytes ptxas may spill (stores, and loads) in one kernel of a file; every kernel not listed spills nothing.
#: wmma.cu: one instance per arch spills 8 bytes each way (sm_80: TF32, k-contiguous A, k-contiguous B;
#: sm_90: bf16, m-contiguous A, n-contiguous B).
ALLOWED_SPILL_BYTES = {"wmma.cu": 8}


def launcher_build(source: Path) -> tuple[list[str], dict[str, int]]:
    """(template instances, -D defines) that the launcher of ``source`` compiles it with."""
    if source.parent == FUSED:
        return [], launch.DEFINES[source.name]
    if source.parent == MATMUL:
        return cuda_ladder.instances(source.name), {}
    if source.parent == MULTI_TENSOR:
        return list(cuda_multi_tensor.INSTANCES), dict(cuda_multi_tensor.DEFINES)
    raise AssertionError(f"{source}: no launcher knows this .cu file")


def compile_unit(source: Path) -> str:
    """A translation unit that includes ``source`` and takes the address of each template instance.

    Taking the address instantiates the kernel, as NVRTC does for a name expression.
    """
    instances, _ = launcher_build(source)
    lines = [f'#include "{source}"']
    if instances:
        addresses = ", ".join(f"(const void *)&{name}" for name in instances)
        lines.append(f"[[maybe_unused]] static const void *const instances[] = {{{addresses}}};")
    return "\n".join(lines) + "\n"


def template_parameters(source: Path, kernel: str) -> list[str]:
    """Names of the template parameters of ``kernel`` in ``source``."""
    text = source.read_text(encoding="utf-8")
    bounds = r"(?:__launch_bounds__\([^)]*\)\s*)?"
    match = re.search(r"template\s*<([^>]*)>\s*__global__\s+void\s+" + bounds + kernel + r"\s*\(", text)
    assert match, f"{source.name}: no template kernel {kernel}"
    return [param.split()[-1] for param in match.group(1).split(",")]


def test_there_are_cuda_sources() -> None:
    assert len(CU_FILES) >= 8, CU_FILES


@pytest.mark.parametrize("source", CU_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cu_file_has_a_launcher(source: Path) -> None:
    instances, _ = launcher_build(source)
    text = source.read_text(encoding="utf-8")
    if not instances:  # plain kernels only: looked up by their extern "C" names
        assert text.count("__global__") == text.count('extern "C" __global__') > 0


def test_fused_launcher_compiles_with_the_defines_checked_here(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(launch, "kernel", lambda path, name, defines=None: calls.append((Path(path), defines)))
    for source in sorted(FUSED.glob("*.cu")):
        launch.fused_kernel(source.name, "any")
        assert calls[-1] == (source, launcher_build(source)[1])
    assert cuda_compile.define_options({"B": 2, "A": 1}) == ("-DA=1", "-DB=2")


class _DeviceArray(np.ndarray):
    """A NumPy array that answers ``.data.ptr`` as a CuPy array does (for the launchers' alignment check)."""

    @property
    def data(self) -> SimpleNamespace:  # type: ignore[override]
        return SimpleNamespace(ptr=self.__array_interface__["data"][0])


def _fake_cupy() -> ModuleType:
    """The few CuPy functions the matmul launchers call, on NumPy arrays."""
    module = ModuleType("cupy")
    module.float32 = np.float32
    module.broadcast_to = lambda *a, **k: np.broadcast_to(*a, **k).view(_DeviceArray)
    module.ascontiguousarray = lambda *a, **k: np.ascontiguousarray(*a, **k).view(_DeviceArray)
    module.empty = lambda *a, **k: np.empty(*a, **k).view(_DeviceArray)
    return module


LADDER = [v for v in kernels.list("matmul", "cuda") if v.fn.__module__ == cuda_ladder.__name__]


@pytest.mark.parametrize("variant", LADDER, ids=lambda v: v.name)
@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_launchers_ask_for_instances_built_here(variant, transposed: bool, monkeypatch) -> None:
    """Each launcher asks NVRTC for a kernel the compile test builds, with a block of its THREADS."""
    launches = []

    def fake_kernel(path, name, name_expressions=(), defines=None):
        return lambda grid, block, args: launches.append((Path(path), name, list(name_expressions), grid, block))

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(cuda_ladder, "kernel", fake_kernel)
    dtype = np.uint16 if variant.name == "wmma_bf16" else np.float32
    m, k, n = 67, 45, 93
    a = np.ones((k, m) if transposed else (m, k), dtype).view(_DeviceArray)
    b = np.ones((n, k) if transposed else (k, n), dtype).view(_DeviceArray)
    variant.fn(a.T if transposed else a, b.T if transposed else b)
    [(path, name, expressions, grid, block)] = launches
    instances, defines = launcher_build(path)
    assert defines == {}
    if instances:
        assert name in expressions and set(expressions) <= set(instances), (name, expressions)
        params = template_parameters(path, f"matmul_{path.stem}")
        args = {
            p: int(v) for p, v in zip(params, name[name.index("<") + 1 : -1].split(","), strict=True) if v.isdigit()
        }
        tile_m, tile_n = args.get("BM", args.get("TILE")), args.get("BN", args.get("TILE"))
        assert math.prod(block) == args.get("THREADS", tile_m * tile_n), (name, block)
        assert grid == (-(-n // tile_n), -(-m // tile_m), 1), (name, grid)
    else:
        assert not expressions and name == f"matmul_{path.stem}"


def test_fused_sources_do_not_repeat_the_defines() -> None:
    names = {name for defines in launch.DEFINES.values() for name in defines}
    for source in [*FUSED.glob("*.cu"), *FUSED.glob("*.cuh")]:
        text = source.read_text(encoding="utf-8")
        for name in names:
            assert not re.search(rf"(constexpr\s+\w+\s+{name}\s*=|#define\s+{name}\b)", text), (source.name, name)


def test_template_parameters_are_the_launchers_in_order() -> None:
    modes = ["MODE_A", "MODE_B"]
    expected = {
        "smem_tiled": list(cuda_ladder.SMEM_TILED),
        "blocktile_1d": list(cuda_ladder.BLOCKTILE_1D),
        "blocktile_2d": list(cuda_ladder.BLOCKTILE_2D),
        "vectorized": [*cuda_ladder.VECTORIZED, *modes],
        "warptile": [*cuda_ladder.WARPTILE_PARAMS, *modes],
        "wmma": ["T", *cuda_ladder.WMMA, "A_KCONTIG", "B_NCONTIG"],
    }
    for name, params in expected.items():
        assert template_parameters(MATMUL / f"{name}.cu", f"matmul_{name}") == params, name


def test_warptile_config_names_say_their_shape() -> None:
    for label, values in cuda_ladder.WARPTILE_CONFIGS.items():
        c = dict(zip(cuda_ladder.WARPTILE_PARAMS, values, strict=True))
        assert label == f"{c['BM']}x{c['BN']}x{c['BK']}_w{c['WM']}x{c['WN']}_t{c['THREADS']}", label
    assert cuda_ladder.WARPTILE_DEFAULT in cuda_ladder.WARPTILE_CONFIGS


def test_load_modes_are_common_cuh_enumerators() -> None:
    text = (MATMUL / "common.cuh").read_text(encoding="utf-8")
    for mode in cuda_ladder.LOAD_MODES:
        assert re.search(rf"\b{mode}\s*=\s*\d+", text), mode


def _archs(source: Path) -> tuple[str, ...]:
    return ("sm_90a",) if source.name in HOPPER_ONLY else ARCHS


BUILDS = [(source, arch) for source in CU_FILES for arch in _archs(source)]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize(
    ("source", "arch"), BUILDS, ids=lambda x: str(x.relative_to(ROOT)) if isinstance(x, Path) else x
)
def test_cu_file_compiles_without_spills(source: Path, arch: str, tmp_path: Path) -> None:
    instances, defines = launcher_build(source)
    unit = tmp_path / "unit.cu"
    unit.write_text(compile_unit(source))
    cmd = [
        "nvcc",
        f"-arch={arch}",
        "-std=c++17",
        "-cubin",
        "-Xptxas",
        "-v",
        f"-I{source.parent}",
        *cuda_compile.define_options(defines),
        "-o",
        str(tmp_path / "out.cubin"),
        str(unit),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.cubin").stat().st_size > 0
    entries = re.findall(r"Compiling entry function '(\w+)'", result.stderr)
    if instances:
        assert len(set(entries)) == len(instances), (entries, instances)
    else:
        assert entries, result.stderr
    allowed = ALLOWED_SPILL_BYTES.get(source.name, 0)
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", result.stderr)
    assert len(spills) == len(entries) and all(int(n) <= allowed for pair in spills for n in pair), result.stderr
