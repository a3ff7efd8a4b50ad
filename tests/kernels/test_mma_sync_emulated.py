"""Step 9 end to end on the CPU: cuda_ladder.mma_sync_matmul on NumPy arrays posing as CuPy ones, each
launch run by cuda_host/mma_sync_driver.cpp (mma_sync.cu compiled by g++, one thread per CUDA thread,
mma.sync/ldmatrix/cp.async by their PTX semantics), against float64 math on the same rounded inputs.
Steps 6-7 (vectorized.cu, warptile.cu) run the same way through cuda_host/ladder_driver.cpp: their
float4 path, which 2-D operands take since _layout stopped refusing a batch of one.

This checks the launcher's arguments and the kernel's indexing, pipeline order (not its timing),
split-K and epilogue; not the real instructions, register use or speed (the gpu tests do). Opt-in, as
the g++ builds (about 3 s each) do not fit CI's time budget: GLASSGRAD_EMULATE=1 runs one case of each
(two builds, ~10 s), GLASSGRAD_EMULATE_ALL=1 every layout, element, tile and the epilogue's spec cases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cuda_compile import _DeviceArray, _fake_cupy

from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits
from glassgrad.kernels.matmul import cuda_ladder

HOST = Path(__file__).parent / "cuda_host"
EVERYTHING = os.environ.get("GLASSGRAD_EMULATE_ALL") == "1"
pytestmark = pytest.mark.skipif(
    not EVERYTHING and os.environ.get("GLASSGRAD_EMULATE") != "1",
    reason="CPU emulation of the CUDA kernels: set GLASSGRAD_EMULATE=1 (or GLASSGRAD_EMULATE_ALL=1)",
)


class Driver:
    """g++ builds of the drivers, one per kernel instance, and the launches they run."""

    def __init__(self, work: Path) -> None:
        self.work, self.builds, self.last = work, {}, {}
        self.handles: dict[str, int] = {}
        self.opted_in: dict[str, int] = {}

    def binary(self, instance: str) -> Path:
        if not instance.startswith("matmul_mma_sync"):  # a ladder step: the instance is the define
            if instance not in self.builds:
                self.builds[instance] = self._build("ladder_driver.cpp", [f"-DLADDER_KERNEL={instance}"])
            return self.builds[instance]
        args = instance[instance.index("<") + 1 : -1]
        if instance.startswith("matmul_mma_sync_reduce"):
            return self.last[args]  # the reduce follows its GEMM: any build of that element has it
        if args not in self.builds:
            defines = [f"-DMMA_INSTANCE={args}", f"-DMMA_ELEM={args.split(',')[0]}"]
            self.builds[args] = self._build("mma_sync_driver.cpp", defines)
        self.last[args.split(",")[0]] = self.builds[args]
        return self.builds[args]

    def _build(self, source: str, defines: list[str]) -> Path:
        out = self.work / f"driver_{len(self.builds)}"
        cmd = ["g++", "-std=c++20", "-O1", "-pthread", "-Wno-unknown-pragmas", f"-I{HOST / 'stubs'}", f"-I{HOST}"]
        cmd += [f"-I{cuda_ladder.SOURCES}", *defines, "-o", str(out), str(HOST / source)]
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode != 0 and "barrier" in build.stderr:
            pytest.skip("g++ lacks C++20 <barrier>")
        assert build.returncode == 0, build.stderr
        return out


def _span(x: np.ndarray) -> np.ndarray:
    """The memory a kernel may index from x's first element through its strides, as a flat byte view."""
    extent = 1 + sum((n - 1) * s for n, s in zip(x.shape, x.strides, strict=True) if n > 0)
    flat = np.lib.stride_tricks.as_strided(x, shape=(extent // x.itemsize + 1,), strides=(x.itemsize,))
    return flat[: (extent + x.itemsize - 1) // x.itemsize].view(np.uint8)


class EmulatedKernel:
    """A kernel as CuPy's Function: ``ptr`` names its CUfunction, whose attributes outlive this object."""

    def __init__(self, driver: Driver, name: str) -> None:
        self.driver, self.name = driver, name
        self.ptr = driver.handles.setdefault(name, len(driver.handles) + 1)

    @property
    def max_dynamic_shared_size_bytes(self) -> int:
        return self.driver.opted_in.get(self.name, 0)

    @max_dynamic_shared_size_bytes.setter
    def max_dynamic_shared_size_bytes(self, value: int) -> None:
        self.driver.opted_in[self.name] = value

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
        kind = "reduce" if "reduce" in self.name else "gemm" if "mma_sync" in self.name else None
        assert kind != "gemm" or shared_mem <= max(self.max_dynamic_shared_size_bytes, 48 * 1024)
        path = self.driver.work / "args.bin"
        spans = []
        with open(path, "wb") as f:
            for a in args:
                if isinstance(a, np.ndarray):
                    span = _span(a)
                    spans.append(span)
                    f.write(b"p" + np.int64(span.size).tobytes() + span.tobytes())
                elif isinstance(a, np.uint64):  # a null pointer
                    f.write(b"p" + np.int64(0).tobytes())
                elif isinstance(a, np.int32):
                    f.write(b"i" + a.tobytes())
                else:
                    f.write(b"l" + np.int64(a).tobytes())
        grid = (*grid, 1, 1)[:3]
        binary = str(self.driver.binary(self.name))
        if kind is None:
            cmd = [binary, *map(str, grid), str(block[0]), str(path)]
        else:
            cmd = [binary, kind, *map(str, grid), str(block[0]), str(shared_mem), str(path)]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        out = np.fromfile(str(path) + ".out", dtype=np.uint8)
        offset = 0
        for span in spans:
            if span.flags.writeable:
                span[...] = out[offset : offset + span.size]
            offset += span.size


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Driver:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    return Driver(tmp_path_factory.mktemp("mma_sync_emulation"))


@pytest.fixture
def emulated(driver: Driver, monkeypatch: pytest.MonkeyPatch) -> Driver:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(cuda_ladder, "kernel", lambda path, name, e=(), d=None: EmulatedKernel(driver, name))
    monkeypatch.setattr(cuda_ladder, "_opted_in", {})
    return driver


def _device(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x).view(_DeviceArray)


def _inputs(element: str, shape_a: tuple, shape_b: tuple, seed: int):
    """(a, b) in the element's storage and their exact values in float64."""
    rng = np.random.default_rng(seed)
    a32, b32 = rng.standard_normal(shape_a, dtype=np.float32), rng.standard_normal(shape_b, dtype=np.float32)
    if element == "bf16":
        a, b = to_bfloat16_bits(a32), to_bfloat16_bits(b32)
        return a, b, from_bfloat16_bits(a).astype(np.float64), from_bfloat16_bits(b).astype(np.float64)
    if element == "fp32":
        return a32, b32, a32.astype(np.float64), b32.astype(np.float64)
    if element == "fp16":
        a, b = a32.astype(np.float16), b32.astype(np.float16)
        return a, b, a.astype(np.float64), b.astype(np.float64)
    tf = lambda x: (((x.view(np.uint32) + 0x1000) & 0xFFFFE000).view(np.float32)).astype(np.float64)  # noqa: E731
    return a32, b32, tf(a32), tf(b32)


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


CASES = [
    # element, (m, k, n), A transposed, B transposed, batch, splits, tile
    ("bf16", (130, 67, 129), False, False, None, 3, "128x128"),
]
if EVERYTHING:
    CASES += [
        ("bf16", (72, 48, 40), True, False, None, 1, "128x128"),
        ("bf16", (72, 48, 40), False, True, None, 1, "128x128"),
        ("bf16", (72, 48, 40), True, True, 2, 1, "128x128"),
        ("tf32", (33, 100, 17), True, True, None, 2, "128x128"),
        ("tf32", (40, 36, 24), False, False, None, 1, "128x128"),
        ("tf32", (40, 36, 24), False, True, None, 1, "128x128"),
        ("tf32", (40, 36, 24), True, False, None, 1, "128x128"),
        ("fp16", (72, 48, 40), False, True, None, 1, "128x128"),
        ("fp16", (72, 48, 40), True, False, None, 1, "128x128"),
        ("bf16", (20, 40, 300), False, False, None, 1, "128x256"),
    ]


@pytest.mark.parametrize(("element", "shape", "at", "bt", "batch", "splits", "tile"), CASES, ids=str)
def test_mma_sync_on_the_cpu_matches_float64(emulated, element, shape, at, bt, batch, splits, tile) -> None:
    m, k, n = shape
    lead = () if batch is None else (batch,)
    a, b, a64, b64 = _inputs(element, (*lead, m, k), (k, n), sum(shape))
    x = np.swapaxes(_device(np.swapaxes(a, -1, -2)), -1, -2) if at else _device(a)  # same values, other layout
    y = _device(b.T).T if bt else _device(b)
    rng = np.random.default_rng(1)
    bias = rng.standard_normal(n, dtype=np.float32)
    out_dtype = np.float16 if element == "fp16" else np.float32
    residual = rng.standard_normal((m, n)).astype(out_dtype)
    c = cuda_ladder.mma_sync_matmul(
        x, y, bias=_device(bias), activation="gelu_tanh", residual=_device(residual), splits=splits, tile=tile
    )
    want = _gelu_tanh(np.matmul(a64, b64) + bias) + residual.astype(np.float64)
    assert c.shape == want.shape and c.dtype == out_dtype
    err = np.abs(c.astype(np.float64) - want).max() / np.abs(want).max()
    assert err < (2e-3 if element == "fp16" else 1e-5), err


def test_engine_bfloat16_arrays_come_back_bfloat16(emulated) -> None:
    """ml_dtypes.bfloat16 operands (the engine's bf16) are read as their bits; C is rounded once to bf16."""
    import ml_dtypes

    bf16 = np.dtype(ml_dtypes.bfloat16)
    a, b, a64, b64 = _inputs("bf16", (70, 64), (64, 72), 5)
    residual = np.random.default_rng(2).standard_normal((70, 72)).astype(bf16)
    x, y = _device(a.view(bf16)), _device(b.view(bf16))
    c = cuda_ladder.mma_sync_matmul(x, y, activation="relu", residual=_device(residual))
    want = np.maximum(np.matmul(a64, b64), 0) + residual.astype(np.float64)
    assert c.dtype == bf16
    assert np.abs(c.astype(np.float64) - want).max() / np.abs(want).max() < 2**-8


LADDER_CASES = [("warptile", (132, 64, 100), False, False, None)]  # the float4 path on plain 2-D operands
if EVERYTHING:
    LADDER_CASES += [
        ("vectorized", (132, 64, 100), False, False, None),
        ("warptile", (132, 64, 100), True, True, None),
        ("vectorized", (132, 64, 100), True, False, 2),
        ("warptile", (67, 45, 93), False, False, None),  # unaligned: the scalar path
        ("warptile", (1, 64, 100), False, False, None),
    ]


@pytest.mark.parametrize(("variant", "shape", "at", "bt", "batch"), LADDER_CASES, ids=str)
def test_ladder_steps_on_the_cpu_match_float64(emulated, variant, shape, at, bt, batch) -> None:
    from glassgrad import kernels

    m, k, n = shape
    lead = () if batch is None else (batch,)
    a, b, a64, b64 = _inputs("fp32", (*lead, m, k), (k, n), sum(shape))
    x = np.swapaxes(_device(np.swapaxes(a, -1, -2)), -1, -2) if at else _device(a)
    y = _device(b.T).T if bt else _device(b)
    c = kernels.variant("matmul", "cuda", variant).fn(x, y)
    want = np.matmul(a64, b64)
    assert np.abs(c - want).max() / np.abs(want).max() < 1e-5


@pytest.mark.skipif(not EVERYTHING, reason="set GLASSGRAD_EMULATE_ALL=1 (a g++ build per instance the cases use)")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_matmul_epilogue_spec_cases_on_the_cpu(emulated, dtype: str) -> None:
    """matmul_epilogue's mma_sync variant on every case of its spec, against the NumPy reference on the
    float32 cases of the same seeds (as kernels.validate compares them on a GPU)."""
    from glassgrad import kernels
    from glassgrad.kernels.matmul import epilogue_spec

    fake = sys.modules["cupy"]
    fake.asarray = lambda x, *args, **kw: np.ascontiguousarray(np.asarray(x, *args, **kw)).view(_DeviceArray)
    cases = epilogue_spec.cases(fake, dtype if dtype == "bfloat16" else np.dtype(dtype))
    ref_cases = epilogue_spec.cases(np, np.dtype("float32"))
    variant = kernels.variant("matmul_epilogue", "cuda", "mma_sync")
    tolerance = max(variant.tolerance, epilogue_spec.SPEC.tolerance[dtype])
    for case, ref_case in zip(cases, ref_cases, strict=True):
        got = variant(*case.args, **case.kwargs)
        want = epilogue_spec.reference(*ref_case.args, **ref_case.kwargs)
        err = np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), 1e-30)
        assert err <= tolerance, (case.name, err)
