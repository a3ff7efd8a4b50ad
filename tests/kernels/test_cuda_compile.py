"""Every .cu file compiles with nvcc for sm_80 (A100) and sm_90 (H100) — no GPU needed.

Each file is compiled the way its launcher has NVRTC compile it: with the
launcher's ``-D`` defines (kernels/fused/launch.py ``DEFINES``) and every
template instance the launcher can ask for (kernels/matmul/cuda_ladder.py
``instances``), so the constants both sides share are written once, in the
launcher, and the bodies the launcher runs are the ones checked here. ``ptxas -v``
must report no register spills (beyond ALLOWED_SPILL_BYTES) and static shared memory within
48 KB. A file in SASS_REQUIRED must show that opcode in ``cuobjdump -sass`` of the cubin built
here (HMMA: mma.sync/wmma tensor cores; HGMMA: Hopper's wgmma). Each (file, arch) is compiled
once per session (``_build``). Without a GPU, the matmul launchers run on NumPy arrays posing as
CuPy ones to show that each asks for an instance built here, with a block and grid that fit its
template arguments and the dynamic shared memory it opted into.
"""

from __future__ import annotations

import functools
import glob
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.attention import cuda_flash
from glassgrad.kernels.conv2d import cuda_implicit_gemm
from glassgrad.kernels.cuda import compile as cuda_compile
from glassgrad.kernels.fused import launch
from glassgrad.kernels.matmul import cuda_hopper, cuda_ladder
from glassgrad.kernels.optim import cuda_multi_tensor
from glassgrad.kernels.pooling import cuda_c as pooling_cuda_c

ROOT = Path(__file__).resolve().parents[2] / "glassgrad" / "kernels"
CU_FILES = sorted(ROOT.rglob("*.cu"))
FUSED, MATMUL = ROOT / "fused", ROOT / "matmul" / "cuda"
MULTI_TENSOR = ROOT / "optim" / "cuda"
CONV2D = ROOT / "conv2d" / "cuda"
POOLING = ROOT / "pooling" / "cuda"
ATTENTION = ROOT / "attention" / "cuda"
ARCHS = ("sm_80", "sm_90")
#: files that use sm_90a-only instructions (wgmma, TMA, setmaxnreg) compile for sm_90a alone
HOPPER_ONLY: frozenset[str] = frozenset({"wgmma_tma.cu"})
#: bytes ptxas may spill (stores, and loads) in one kernel of a file; every kernel not listed spills nothing.
#: wmma.cu: one instance per arch spills 8 bytes each way (sm_80: TF32, k-contiguous A, k-contiguous B;
#: sm_90: bf16, m-contiguous A, n-contiguous B).
ALLOWED_SPILL_BYTES = {"wmma.cu": 8}


#: .cu directory (or one .cu file: its row wins over its directory's) -> a function giving the
#: (template instances, -D defines) its launcher compiles that file with. A new launcher adds a row.
LAUNCHERS: dict[Path, Callable[[Path], tuple[list[str], dict[str, int]]]] = {
    FUSED: lambda source: ([], launch.DEFINES[source.name]),
    MATMUL: lambda source: (cuda_ladder.instances(source.name), {}),
    MATMUL / "wgmma_tma.cu": lambda source: (cuda_hopper.instances(), {}),
    MULTI_TENSOR: lambda source: (list(cuda_multi_tensor.INSTANCES), dict(cuda_multi_tensor.DEFINES)),
    CONV2D: lambda source: (cuda_implicit_gemm.instances(source.name), {}),
    POOLING: lambda source: (pooling_cuda_c.instances(source.name), {}),
    ATTENTION: lambda source: (cuda_flash.instances(source.name), {}),
}
#: .cu file -> an opcode its SASS must contain: HMMA (mma.sync and wmma, sm_80/sm_90), HGMMA (wgmma, sm_90a)
SASS_REQUIRED = {"wmma.cu": "HMMA", "mma_sync.cu": "HMMA", "implicit_gemm_mma.cu": "HMMA", "flash_mma.cu": "HMMA"}
SASS_REQUIRED["wgmma_tma.cu"] = "HGMMA"
#: static shared memory one block may declare (more must be dynamic, opted into by the launcher)
STATIC_SMEM_LIMIT = 48 * 1024


def launcher_build(source: Path) -> tuple[list[str], dict[str, int]]:
    """(template instances, -D defines) that the launcher of ``source`` compiles it with."""
    build = LAUNCHERS.get(source) or LAUNCHERS.get(source.parent)
    if build is None:
        raise AssertionError(f"{source}: no launcher knows this .cu file (add a row to LAUNCHERS)")
    return build(source)


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
    module.zeros = lambda *a, **k: np.zeros(*a, **k).view(_DeviceArray)
    return module


class _FakeKernel:
    """Records each launch (and the dynamic shared memory the launcher opted into) instead of running."""

    def __init__(self, path: str | Path, name: str, expressions: list[str], launches: list) -> None:
        self.path, self.name, self.expressions, self.launches = Path(path), name, expressions, launches
        self.max_dynamic_shared_size_bytes = 0

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
        self.launches.append((self, grid, block, args, shared_mem))


LADDER = [v for v in kernels.list("matmul", "cuda") if v.fn.__module__ == cuda_ladder.__name__]
#: the operand dtype each ladder variant is called with here (float32 unless listed): bf16 as its uint16 bits
LAUNCH_DTYPE = {"wmma_bf16": np.uint16, "mma_bf16": np.uint16, "mma_bf16_splitk": np.uint16}
LAUNCH_DTYPE |= {"mma_fp16": np.float16, "mma_fp16_splitk": np.float16}


def _fake_launches(monkeypatch: pytest.MonkeyPatch) -> list:
    """Patch CuPy and cuda_ladder.kernel so that launches are recorded, not run; return the record."""
    launches: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(cuda_ladder, "kernel", lambda p, n, e=(), d=None: _FakeKernel(p, n, list(e), launches))
    monkeypatch.setattr(cuda_ladder, "_opted_in", {})
    return launches


@pytest.mark.parametrize("variant", LADDER, ids=lambda v: v.name)
@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_launchers_ask_for_instances_built_here(variant, transposed: bool, monkeypatch) -> None:
    """Each launcher asks NVRTC for a kernel the compile test builds, with a block of its THREADS."""
    launches = _fake_launches(monkeypatch)
    dtype = LAUNCH_DTYPE.get(variant.name, np.float32)
    m, k, n = 67, 450, 93
    a = np.ones((k, m) if transposed else (m, k), dtype).view(_DeviceArray)
    b = np.ones((n, k) if transposed else (k, n), dtype).view(_DeviceArray)
    variant.fn(a.T if transposed else a, b.T if transposed else b)
    fake, grid, block, _, shared_mem = launches[0]
    path, name, expressions = fake.path, fake.name, fake.expressions
    if variant.name.endswith("_splitk"):  # the GEMM's grid.z is batch x splits; the reduce kernel follows
        assert len(launches) == 2 and grid[2] > 1 and "reduce" in launches[1][0].name, [x[0].name for x in launches]
        grid = (*grid[:2], 1)
    else:
        assert len(launches) == 1, [x[0].name for x in launches]
    assert shared_mem <= min(cuda_ladder.MAX_DYNAMIC_SMEM.values()), (name, shared_mem)
    assert shared_mem <= 48 * 1024 or fake.max_dynamic_shared_size_bytes >= shared_mem, (name, shared_mem)
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


def kernel_parameter_count(source: Path, kernel: str) -> int:
    """How many parameters the __global__ function ``kernel`` in ``source`` takes."""
    text = source.read_text(encoding="utf-8")
    match = re.search(r"__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?" + kernel + r"\s*\(([^{]*)\)\s*\{", text)
    assert match, f"{source.name}: no kernel {kernel}"
    return match.group(1).count(",") + 1


def test_mma_sync_epilogue_arguments_reach_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """bias (as float32), residual (as its bits), the activation's enumerator value and the output cast
    go to the GEMM; with split-K the same epilogue goes to the reduce kernel instead."""
    launches = _fake_launches(monkeypatch)
    enums = cuda_ladder._enum_values(*cuda_ladder.MMA_SYNC_ENUM_FILES)
    a, b = (np.ones(shape, np.float16).view(_DeviceArray) for shape in ((67, 450), (450, 93)))
    bias = np.ones(93, np.float16).view(_DeviceArray)
    residual = np.ones((1, 93), np.float16).view(_DeviceArray)  # broadcast over the rows
    c = cuda_ladder.mma_sync_matmul(a, b, bias=bias, activation="gelu", residual=residual, splits=1)
    assert c.dtype == np.float16 and c.shape == (67, 93)
    [(fake, _, _, args, _)] = launches
    assert len(args) == kernel_parameter_count(MATMUL / "mma_sync.cu", "matmul_mma_sync")
    bias_arg, residual_arg, act, out_low, splits, partial = args[-6:]
    assert bias_arg.dtype == np.float32 and residual_arg.dtype == np.uint16 and residual_arg.shape == (67, 93)
    assert (act, out_low, splits, partial) == (enums["ACT_GELU_ERF"], 1, 1, 0)
    launches.clear()
    cuda_ladder.mma_sync_matmul(
        a.astype(np.float32).view(_DeviceArray), b.astype(np.float32).view(_DeviceArray), activation="relu", splits=4
    )
    (gemm, grid, _, args, _), (reduce, _, _, reduce_args, _) = launches
    assert grid[2] == 4 and args[-2] == 4 and args[-1].shape == (4, 67 * 93) and args[-4] == enums["ACT_RELU"]
    assert len(reduce_args) == kernel_parameter_count(MATMUL / "mma_sync.cu", "matmul_mma_sync_reduce")
    assert reduce.name == "matmul_mma_sync_reduce<MMA_TF32>" and reduce_args[-2] == enums["ACT_RELU"]


def test_mma_sync_pads_only_misaligned_leading_dims(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transposed view is read in place; a leading dim of 333 bf16 elements is copied, padded to 336."""
    launches = _fake_launches(monkeypatch)
    a = np.ones((64, 128), np.uint16).view(_DeviceArray)
    bt = np.ones((96, 128), np.uint16).view(_DeviceArray)
    cuda_ladder.mma_sync_matmul(a, bt.T)
    assert np.shares_memory(launches[-1][3][1], bt) and launches[-1][0].name.endswith("true,false>")
    cuda_ladder.mma_sync_matmul(a, np.ones((128, 333), np.uint16).view(_DeviceArray))
    assert launches[-1][3][9] == 336  # ldb


def test_plain_2d_operands_take_the_vector_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-D operand is a batch of one: its batch stride never misaligns a 16-byte load."""
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    x = np.ones((64, 64), np.float32).view(_DeviceArray)
    a3, b3, _ = cuda_ladder._as_batched(x, x)
    assert cuda_ladder._layout(a3, 4)[3] and cuda_ladder._layout(b3.transpose(0, 2, 1), 4)[3]
    assert not cuda_ladder._layout(a3[:, :, 1:], 4)[3]  # a base 4 bytes off 16


def test_mma_sync_shared_memory_fits_sm80_and_sm90() -> None:
    for element in cuda_ladder.MMA_SYNC_ELEMENTS:
        for tile in cuda_ladder.MMA_SYNC_TILES:
            assert 48 * 1024 < cuda_ladder.mma_sync_smem_bytes(element, tile) <= cuda_ladder.MAX_DYNAMIC_SMEM["sm_80"]


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
        "mma_sync": list(cuda_ladder.MMA_SYNC_PARAMS),
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


_BUILD_DIR = Path(tempfile.mkdtemp(prefix="glassgrad_cubins_"))
NO_NVCC = "nvcc is not installed"


@functools.cache
def _build(source: Path, arch: str) -> tuple[subprocess.CompletedProcess, Path]:
    """nvcc -cubin of ``source`` for ``arch`` with its launcher's instances and defines, once per session."""
    _, defines = launcher_build(source)
    stem = f"{source.parent.name}_{source.stem}_{arch}"
    unit, cubin = _BUILD_DIR / f"{stem}.cu", _BUILD_DIR / f"{stem}.cubin"
    unit.write_text(compile_unit(source))
    cmd = [
        "nvcc",
        f"-gencode=arch=compute_{arch[3:]},code={arch}",
        "-std=c++17",
        "-cubin",
        "-Xptxas",
        "-v",
        f"-I{source.parent}",
        *cuda_compile.define_options(defines),
        "-o",
        str(cubin),
        str(unit),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600), cubin


@pytest.mark.skipif(shutil.which("nvcc") is None, reason=NO_NVCC)
@pytest.mark.parametrize(
    ("source", "arch"), BUILDS, ids=lambda x: str(x.relative_to(ROOT)) if isinstance(x, Path) else x
)
def test_cu_file_compiles_without_spills(source: Path, arch: str) -> None:
    instances, _ = launcher_build(source)
    result, cubin = _build(source, arch)
    assert result.returncode == 0, result.stderr
    assert cubin.stat().st_size > 0
    entries = re.findall(r"Compiling entry function '(\w+)'", result.stderr)
    if instances:
        assert len(set(entries)) == len(instances), (entries, instances)
    else:
        assert entries, result.stderr
    allowed = ALLOWED_SPILL_BYTES.get(source.name, 0)
    # one line per entry, and one more per non-inlined device function ("Function properties for ...")
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", result.stderr)
    assert len(spills) >= len(entries) and all(int(n) <= allowed for pair in spills for n in pair), result.stderr
    static_smem = [int(n) for n in re.findall(r"(\d+) bytes smem", result.stderr)]
    assert all(n <= STATIC_SMEM_LIMIT for n in static_smem), result.stderr
    if (source, arch) in SASS_BUILDS:  # read here, on the cubin just built (a test of its own would build it again)
        check_tensor_core_sass(source, arch, cubin)


def cuobjdump() -> str:
    """The cuobjdump binary: on PATH, or from the nvidia-cuda-cuobjdump wheel (setup.py's test extra, with
    nvidia-cuda-nvdisasm, which cuobjdump -sass runs)."""
    found = shutil.which("cuobjdump")
    if found:
        return found
    try:
        import nvidia

        wheels = sorted(glob.glob(str(Path(nvidia.__path__[0]) / "cu*" / "bin" / "cuobjdump")))
    except ImportError:
        wheels = []
    assert wheels, "cuobjdump not found: pip install nvidia-cuda-cuobjdump (glassgrad[test])"
    return wheels[-1]


#: the SASS is read for the Hopper targets only (the lent GPUs; one cuobjdump pass per file keeps CI short)
SASS_ARCHS = ("sm_90", "sm_90a")
SASS_BUILDS = [(source, arch) for source, arch in BUILDS if source.name in SASS_REQUIRED and arch in SASS_ARCHS]


def check_tensor_core_sass(source: Path, arch: str, cubin: Path) -> None:
    """Every kernel of the file that touches the tensor cores runs them: its SASS has the opcode."""
    tool = cuobjdump()  # it runs nvdisasm, found beside it (both wheels put their binaries in one bin folder)
    env = {**os.environ, "PATH": f"{Path(tool).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    sass = subprocess.run([tool, "-sass", str(cubin)], capture_output=True, text=True, timeout=120, env=env)
    assert sass.returncode == 0, sass.stderr
    opcode = SASS_REQUIRED[source.name]
    functions = re.split(r"\n\s*Function : ", sass.stdout)[1:]
    assert functions, sass.stdout[:2000]
    with_opcode = [f.split()[0] for f in functions if re.search(rf"\b{opcode}\b", f)]
    assert with_opcode, f"{source.name} ({arch}): no {opcode} in its SASS"
    gemms = [f.split()[0] for f in functions if "reduce" not in f.split()[0]]
    assert set(gemms) <= set(with_opcode), (opcode, sorted(set(gemms) - set(with_opcode)))
