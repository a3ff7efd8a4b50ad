"""The CUDA C FlashAttention-2 kernels (kernels/attention/cuda/, launched by cuda_flash.py).

Without a GPU: Philox4x32-10 (NumPy, and the CUDA header itself compiled for the host with nvcc)
against Random123's known-answer vectors; the launchers run on NumPy arrays posing as CuPy
ones (instances built by the compile test, grids and blocks that fit the template arguments, the
dynamic shared memory opted into, strides passed for views, the GQA head counts, mask strides); and
the launchers with the .cu kernels themselves run on the CPU (cuda_host/: a thread per CUDA thread,
mma.sync and ldmatrix by their PTX semantics) against the float64 reference — one combined call per
variant here, the awkward shapes with GLASSGRAD_EMULATE_ALL=1.

On a GPU (``gpu`` marker): every variant, forward and backward, against the float64 reference on
the host, on L 1, 7, 33, 127, 1000, 4097, Lq ≠ Lk, masks, GQA, views, causal, and dropout (keep
rate, the mask the kernel used equal to the Philox mask, the backward against the reference run
with that mask).
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from glassgrad.kernels.attention import cuda_flash, philox
from glassgrad.kernels.philox import philox4x32_10

CUDA_DIR = Path(cuda_flash.__file__).parent / "cuda"

# Random123's kat_vectors, philox4x32 with 10 rounds: (counter, key) -> output (the NumPy function's
# test is test_dropout_philox.py's; this file checks the CUDA header against them)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def test_dropout_threshold_and_keep_rate() -> None:
    assert philox.threshold(0.0) == 0 and philox.threshold(0.25) == 2**30
    keep = philox.dropout_keep(seed=123, offset=7, heads=3, lq=64, lk=128, p=0.3)
    assert keep.shape == (3, 64, 128) and abs(keep.mean() - 0.7) < 0.01
    with pytest.raises(ValueError, match="dropout probability"):
        philox.threshold(1.0)


HOST_PROGRAM = r"""
#include <cstdio>
#include "dropout_mask.cuh"
int main() {
    const philox_u32x4 c[3] = {{0u, 0u, 0u, 0u}, {~0u, ~0u, ~0u, ~0u}, {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    const unsigned int k[3][2] = {{0u, 0u}, {~0u, ~0u}, {0xa4093822u, 0x299f31d0u}};
    for (int t = 0; t < 3; ++t) {
        const philox_u32x4 r = philox4x32_10(c[t], k[t][0], k[t][1]);
        std::printf("kat %08x %08x %08x %08x\n", r.x, r.y, r.z, r.w);
    }
    for (unsigned n = 0; n < 2; ++n)
        for (unsigned i = 0; i < 5; ++i)
            for (unsigned j = 0; j < 9; ++j)
                std::printf("word %u %u %u %08x %x\n", n, i, j, dropout_word(0x123456789abcULL, 3u, n, i, j),
                            dropout_keep4(0x123456789abcULL, 3u, n, i, j, 0x80000000u));
    return 0;
}
"""


@pytest.fixture(scope="module")
def host_philox_output(tmp_path_factory) -> str:
    """Output of HOST_PROGRAM: cuda/dropout_mask.cuh (and the shared kernels/cuda/philox.cuh) compiled for the CPU by nvcc and run."""
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not installed")
    work = tmp_path_factory.mktemp("philox")
    (work / "main.cu").write_text(HOST_PROGRAM)
    build = subprocess.run(
        ["nvcc", "-x", "cu", "-std=c++17", f"-I{CUDA_DIR}", "-o", str(work / "kat"), str(work / "main.cu")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(work / "kat")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_cuda_philox_header_matches_the_known_answers(host_philox_output: str) -> None:
    lines = [line.split()[1:] for line in host_philox_output.splitlines() if line.startswith("kat")]
    assert [tuple(int(x, 16) for x in words) for words in lines] == [expected for _, _, expected in KAT]


def test_cuda_dropout_words_are_the_numpy_ones(host_philox_output: str) -> None:
    seed, offset = 0x123456789ABC, 3
    rows = [line.split()[1:] for line in host_philox_output.splitlines() if line.startswith("word")]
    assert len(rows) == 2 * 5 * 9
    for n, i, j, word, keep4 in rows:
        n, i, j = int(n), int(i), int(j)
        words = philox4x32_10((j >> 2, i, n, offset), (seed & 0xFFFFFFFF, seed >> 32))
        assert int(word, 16) == int(words[j & 3]), (n, i, j)
        group = philox4x32_10((j, i, n, offset), (seed & 0xFFFFFFFF, seed >> 32))  # keep4 takes j // 4 = j
        assert int(keep4, 16) == sum(1 << e for e in range(4) if int(group[e]) >= 0x80000000), (n, i, j)
    keep = philox.dropout_keep(seed, offset, 2, 5, 9, 0.5)
    assert all(keep[int(n), int(i), int(j)] == (int(w, 16) >= 2**31) for n, i, j, w, _ in rows)


# ------------------------------------------------------------------------------ launchers, without a GPU


class _DeviceArray(np.ndarray):
    """A NumPy array that answers ``.data.ptr`` as a CuPy array does."""

    @property
    def data(self) -> SimpleNamespace:  # type: ignore[override]
        return SimpleNamespace(ptr=self.__array_interface__["data"][0])


def _device(a: np.ndarray) -> _DeviceArray:
    return a.view(_DeviceArray)


class _FakeKernel:
    def __init__(self, path, name, expressions, launches) -> None:
        self.path, self.name, self.expressions, self.launches = Path(path), name, list(expressions), launches
        self.max_dynamic_shared_size_bytes = 0

    def __call__(self, grid, block, args, shared_mem: int = 0) -> None:
        self.launches.append(SimpleNamespace(kernel=self, grid=grid, block=block, args=args, smem=shared_mem))


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list:
    """cuda_flash's launches, recorded instead of run, on NumPy arrays posing as CuPy ones."""
    fake = ModuleType("cupy")
    fake.float32 = np.float32
    fake.zeros = lambda *a, **k: _device(np.zeros(*a, **k))
    fake.ascontiguousarray = lambda *a, **k: _device(np.ascontiguousarray(*a, **k))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    record: list = []
    monkeypatch.setattr(cuda_flash, "kernel", lambda p, n, e=(), d=None: _FakeKernel(p, n, e, record))
    return record


def _template_args(name: str) -> list[str]:
    return name[name.index("<") + 1 : -1].split(",")


def _template_params(file: str, kernel: str) -> list[str]:
    text = (CUDA_DIR / file).read_text(encoding="utf-8")
    match = re.search(r"template\s*<([^>]*)>\s*__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?" + kernel, text)
    assert match, kernel
    return [p.split()[-1] for p in match.group(1).split(",")]


def test_template_parameters_are_the_launchers_in_order() -> None:
    assert _template_params("flash_simt.cu", "flash_simt_forward") == ["DMAX", "BQ", "BK"]
    assert _template_params("flash_simt.cu", "flash_simt_backward") == ["DMAX", "BQ", "BK"]
    assert _template_params("flash_mma.cu", "flash_mma_forward") == ["T", "D", "BQ", "BK"]
    assert _template_params("flash_mma.cu", "flash_mma_backward") == ["T", "D", "BM", "BN"]
    assert len(cuda_flash.instances("flash_simt.cu")) == 2 * len(cuda_flash.SIMT_DMAX)
    assert len(cuda_flash.instances("flash_mma.cu")) == 4 * len(cuda_flash.MMA_HEAD_DIMS)


def _bhld(b: int, h: int, length: int, d: int, dtype, seed: int, blhd: bool = False) -> _DeviceArray:
    """(B, H, L, D) operand; with ``blhd`` a (B, L, H, D) array's transposed view (not contiguous)."""
    rng = np.random.default_rng(seed)
    if blhd:
        return _device(rng.standard_normal((b, length, h, d)).astype(dtype)).transpose(0, 2, 1, 3)
    return _device(rng.standard_normal((b, h, length, d)).astype(dtype))


# shape args follow (q, k, v, out, lse) in the forward: B, Hq, Hkv, Lq, Lk, d, dv, then 9 strides
SHAPE_AT, STRIDES_AT = 5, 12
OPTIONS_AT = STRIDES_AT + 9


@pytest.mark.parametrize("variant", ["simt", "mma"])
def test_forward_launch_reads_views_through_strides_with_gqa(variant: str, launches: list) -> None:
    b, hq, hkv, lq, lk, d = 2, 8, 2, 77, 130, 64
    dtype = np.float32 if variant == "simt" else np.float16
    q = _bhld(b, hq, lq, d, dtype, 0, blhd=True)
    k, v = _bhld(b, hkv, lk, d, dtype, 1, blhd=True), _bhld(b, hkv, lk, d, dtype, 2, blhd=True)
    pad = _device(np.random.default_rng(3).random((b, 1, 1, lk)) > 0.2)
    forward = cuda_flash.simt_forward if variant == "simt" else cuda_flash.mma_forward
    out, lse = forward(q, k, v, mask=pad, is_causal=False, scale=0.125, dropout_p=0.25, seed=5, offset=9)
    [launch] = launches
    fake, args = launch.kernel, launch.args
    file = "flash_simt.cu" if variant == "simt" else "flash_mma.cu"
    assert fake.path == CUDA_DIR / file and fake.name in cuda_flash.instances(file) and fake.expressions == [fake.name]
    template = _template_args(fake.name)
    if variant == "simt":
        dmax, bq, _ = (int(x) for x in template)
        assert dmax == 64 and launch.block == (4 * bq,) and launch.smem == 0
    else:
        element, dim, bq, _ = template
        assert element == "__half" and int(dim) == d and launch.block == (2 * int(bq),)
        assert launch.smem == cuda_flash.mma_forward_smem(d)
        assert launch.smem <= 48 * 1024 or fake.max_dynamic_shared_size_bytes >= launch.smem
        bq = int(bq)
    assert launch.grid == (-(-lq // bq), hq, b)
    assert args[0] is q or args[0].__array_interface__["data"][0] == q.__array_interface__["data"][0]  # no copy
    assert [int(x) for x in args[SHAPE_AT:STRIDES_AT]] == [b, hq, hkv, lq, lk, d, d]
    strides = [int(x) for x in args[STRIDES_AT:OPTIONS_AT]]
    assert strides == [lq * hq * d, d, hq * d, lk * hkv * d, d, hkv * d, lk * hkv * d, d, hkv * d]
    scale, causal, mask, kind, *mask_strides = args[OPTIONS_AT : OPTIONS_AT + 8]
    assert float(scale) == 0.125 and int(causal) == 0 and mask is pad and int(kind) == 2
    assert [int(x) for x in mask_strides] == [lk, 0, 0, 1]
    threshold, keep_scale, seed, offset = args[OPTIONS_AT + 8 :]
    assert int(threshold) == 2**30 and np.isclose(float(keep_scale), 1 / 0.75) and (int(seed), int(offset)) == (5, 9)
    assert out.shape == (b, hq, lq, d) and out.dtype == dtype and lse.shape == (b, hq, lq) and lse.dtype == np.float32


@pytest.mark.parametrize("variant", ["simt", "mma"])
def test_backward_launch_walks_kv_heads_and_key_tiles(variant: str, launches: list) -> None:
    b, hq, hkv, lq, lk, d = 1, 6, 3, 40, 200, 128
    dtype = np.float32 if variant == "simt" else np.uint16  # bfloat16 bits
    q, k, v = (_bhld(b, h, n, d, np.float32, i) for i, (h, n) in enumerate(((hq, lq), (hkv, lk), (hkv, lk))))
    if dtype == np.uint16:
        from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits

        q, k, v = (_device(to_bfloat16_bits(np.asarray(x))) for x in (q, k, v))
    out, grad_out = _device(np.asarray(q).copy()), _bhld(b, hq, lq, d, np.float32, 9).astype(dtype)
    lse = _device(np.zeros((b, hq, lq), np.float32))
    additive = _device(np.zeros((1, hq, lq, lk), np.float32))
    backward = cuda_flash.simt_backward if variant == "simt" else cuda_flash.mma_backward
    dq, dk, dv = backward(q, k, v, out, grad_out, lse, mask=additive, is_causal=True, scale=0.1)
    [launch] = launches
    template = _template_args(launch.kernel.name)
    file = "flash_simt.cu" if variant == "simt" else "flash_mma.cu"
    assert launch.kernel.name in cuda_flash.instances(file) and "backward" in launch.kernel.name
    bk = int(template[-1])
    threads = 4 * bk if variant == "simt" else 2 * bk
    assert launch.grid == (-(-lk // bk), hkv, b) and launch.block == (threads,)
    if variant == "mma":
        assert template[0] == "__nv_bfloat16" and launch.smem == cuda_flash.mma_backward_smem(d)
        assert launch.kernel.max_dynamic_shared_size_bytes >= launch.smem
    args = launch.args
    # q, k, v, dO, lse, D, dq_accum, dk, dv, 3 dO strides, then the forward's shape and option args
    assert args[5].shape == (b, hq, lq) and args[6].dtype == np.float32 and args[6].shape == q.shape
    assert args[7] is dk and args[8] is dv
    shape = [int(x) for x in args[12:19]]
    assert shape == [b, hq, hkv, lq, lk, d, d]
    options = 12 + 7 + 9  # scale, causal, mask, kind, 4 mask strides, 4 dropout arguments
    assert float(args[options]) == np.float32(0.1) and int(args[options + 1]) == 1 and args[options + 2] is additive
    assert int(args[options + 3]) == 1 and [int(x) for x in args[options + 4 : options + 8]] == [0, lq * lk, lk, 1]
    assert int(args[options + 8]) == 0  # no dropout: threshold 0
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape and dq.dtype == dtype


def test_launchers_refuse_what_they_do_not_take(launches: list) -> None:
    q = _bhld(1, 2, 8, 64, np.float64, 0)
    with pytest.raises(ValueError, match="flash_simt"):
        cuda_flash.simt_forward(q, q, q)
    h = _bhld(1, 2, 8, 96, np.float16, 0)
    with pytest.raises(ValueError, match="flash_mma"):
        cuda_flash.mma_forward(h, h, h)
    q3 = _bhld(1, 3, 8, 64, np.float32, 0)
    k2 = _bhld(1, 2, 8, 64, np.float32, 1)
    with pytest.raises(ValueError, match="kv heads"):
        cuda_flash.simt_forward(q3, k2, k2)
    assert not launches
    assert not cuda_flash._simt_takes(q3[0], q3[0], q3[0], mask_grad=True)


# ------------------------------------------------------------------ the kernels themselves, on the CPU

EMULATION_DIR = Path(__file__).parent / "cuda_host"
EMULATED = ["simt", "bf16", "f16"]


def _emulated_instances(head_dims: tuple[int, ...]) -> list[str]:
    """The instances cuda_flash can launch for these head dims (the emulation library builds only these)."""
    names = [*cuda_flash.instances("flash_simt.cu"), *cuda_flash.instances("flash_mma.cu")]
    return [n for n in names if int(_template_args(n)[0 if n.startswith("flash_simt") else 1]) in head_dims]


def _build_emulation(work: Path, head_dims: tuple[int, ...]) -> Any:
    """cuda_host/attention_launch.cpp as a shared library (g++), loaded with ctypes."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    listing = work / "instances.inc"
    listing.write_text("".join(f"X({name})\n" for name in _emulated_instances(head_dims)))
    library = work / "libattention_emulation.so"
    cmd = [compiler, "-std=c++20", "-O0", "-shared", "-fPIC", "-pthread", "-Wno-unknown-pragmas"]
    cmd += [f"-I{EMULATION_DIR / 'stubs'}", f"-I{EMULATION_DIR}", f"-I{CUDA_DIR}", f'-DINSTANCES_FILE="{listing}"']
    build = subprocess.run([*cmd, "-o", str(library), str(EMULATION_DIR / "attention_launch.cpp")], **_CAPTURE)
    if build.returncode != 0 and "barrier" in build.stderr:
        pytest.skip(f"{compiler} lacks C++20 <barrier>")
    assert build.returncode == 0, build.stderr
    lib = ctypes.CDLL(str(library))
    lib.emu_launch_kernel.restype = ctypes.c_int
    return lib


_CAPTURE = {"capture_output": True, "text": True, "timeout": 600}


class _EmulatedKernel:
    """What cuda_flash.kernel returns, running the instance on the CPU from the launcher's own arguments."""

    def __init__(self, lib: Any, name: str) -> None:
        self.lib, self.name, self.max_dynamic_shared_size_bytes = lib, name, 0

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
        storage, sizes = [], []
        for a in args:
            if isinstance(a, np.ndarray):  # an array goes in as its device pointer
                storage.append(ctypes.c_void_p(a.__array_interface__["data"][0]))
            else:  # a NumPy scalar as its own bytes
                raw = np.asarray(a).tobytes()
                storage.append(ctypes.create_string_buffer(raw, len(raw)))
            sizes.append(ctypes.sizeof(storage[-1]) if isinstance(a, np.ndarray) else len(storage[-1].raw))
        n = len(args)
        pointers = (ctypes.c_void_p * n)(*(ctypes.addressof(x) for x in storage))
        rc = self.lib.emu_launch_kernel(
            self.name.encode(),
            *(ctypes.c_uint(x) for x in grid),
            ctypes.c_int(math.prod(block)),
            ctypes.c_size_t(shared_mem),
            pointers,
            (ctypes.c_size_t * n)(*sizes),
            ctypes.c_int(n),
        )
        assert rc == 0, f"{self.name}: emu_launch_kernel returned {rc} (100 + i: argument i has the wrong size)"


@pytest.fixture(scope="module")
def emulation_library(tmp_path_factory) -> Any:
    return _build_emulation(tmp_path_factory.mktemp("emulation"), (64,))


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch, launches: list) -> Any:
    """cuda_flash's launches run by the emulation library (head dim 64) on NumPy arrays posing as CuPy ones."""

    def use(lib: Any) -> None:
        monkeypatch.setattr(cuda_flash, "kernel", lambda path, name, e=(), d=None: _EmulatedKernel(lib, name))

    return use


def _rounded(x: np.ndarray, variant: str) -> np.ndarray:
    """x as the kernel's element type holds it (float32, float16 or bfloat16), in float64."""
    if variant == "simt":
        return x.astype(np.float32).astype(np.float64)
    if variant == "f16":
        return x.astype(np.float16).astype(np.float64)
    from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits

    return from_bfloat16_bits(to_bfloat16_bits(x.astype(np.float32))).astype(np.float64)


def _as_element(x: np.ndarray, variant: str) -> _DeviceArray:
    if variant == "simt":
        return _device(x.astype(np.float32))
    if variant == "f16":
        return _device(x.astype(np.float16))
    from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits

    return _device(to_bfloat16_bits(x.astype(np.float32)))


def _widened(x: np.ndarray, variant: str) -> np.ndarray:
    if variant == "bf16":
        from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits

        return from_bfloat16_bits(np.asarray(x)).astype(np.float64)
    return np.asarray(x).astype(np.float64)


def _emulate(
    variant: str,
    shape: tuple[int, ...],
    causal: bool = False,
    mask: np.ndarray | None = None,
    p: float = 0.0,
    seed: int = 0,
    blhd: bool = False,
) -> None:
    """cuda_flash's forward and backward, the kernels emulated, against the float64 reference."""
    b, hq, hkv, lq, lk, d, dv = shape
    rng = np.random.default_rng(lq * 31 + lk)
    host = [rng.standard_normal((b, h, n, w)) for h, n, w in ((hq, lq, d), (hkv, lk, d), (hkv, lk, dv))]
    grad = rng.standard_normal((b, hq, lq, dv))
    dev = [_as_element(x, variant) for x in host]
    if blhd:  # (B, H, L, D) views of (B, L, H, D) arrays, read through their strides
        dev = [_device(np.ascontiguousarray(x.transpose(0, 2, 1, 3))).transpose(0, 2, 1, 3) for x in dev]
    forward, backward = (
        (cuda_flash.simt_forward, cuda_flash.simt_backward)
        if variant == "simt"
        else (cuda_flash.mma_forward, cuda_flash.mma_backward)
    )
    options = {"is_causal": causal, "scale": d**-0.5, "dropout_p": p, "seed": seed, "offset": 0}
    mask_dev = None if mask is None else _device(mask)
    out, lse = forward(*dev, mask=mask_dev, **options)
    grads = backward(*dev, out, _as_element(grad, variant), lse, mask=mask_dev, **options)
    keep = philox.dropout_keep(seed, 0, b * hq, lq, lk, p) if p else None
    ref_out, ref_lse, ref_backward = _ref_attention(
        *(_rounded(x, variant) for x in host), mask, causal, d**-0.5, keep, p
    )
    want = [ref_out, ref_lse, *ref_backward(_rounded(grad, variant))]
    got = [_widened(out, variant), np.asarray(lse).astype(np.float64), *(_widened(g, variant) for g in grads)]
    tol_f, tol_b = TOL[{"simt": "flash_simt", "bf16": "flash_mma_bf16", "f16": "flash_mma_fp16"}[variant]]
    for label, x, y, tol in zip(
        ("O", "lse", "dQ", "dK", "dV"), got, want, (tol_f, tol_f, tol_b, tol_b, tol_b), strict=True
    ):
        _close(f"{variant} {label}", x, y, tol)


@pytest.mark.parametrize("variant", EMULATED)
def test_emulated_kernels_match_float64(variant: str, emulation_library: Any, emulated: Any) -> None:
    """The launchers and kernels together, on one call with everything at once: Lq ≠ Lk, causal, key
    padding, GQA 2:1, dropout, (B, L, H, D) views."""
    emulated(emulation_library)
    pad = np.random.default_rng(0).random((1, 1, 1, 40)) > 0.3
    _emulate(variant, (1, 2, 1, 20, 40, 64, 64), True, pad, 0.2, 3, True)


def test_emulation_refuses_an_argument_of_the_wrong_size(emulation_library: Any) -> None:
    """The library compares each argument's size with the kernel's parameter (as a GPU would misread it)."""
    args = [_device(np.zeros(4, np.float32))] * 5 + [np.int64(1)] * 7  # B .. dv must be 32-bit
    args += [np.int64(0)] * 9 + [np.float32(1), np.int32(0), _device(np.zeros(1, np.float32)), np.int32(0)]
    args += [np.int64(0)] * 4 + [np.uint32(0), np.float32(1), np.uint64(0), np.uint32(0)]
    with pytest.raises(AssertionError, match="returned 105"):
        _EmulatedKernel(emulation_library, cuda_flash.simt_instances(64)[0])((1, 1, 1), (128,), tuple(args))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("GLASSGRAD_EMULATE_ALL"), reason="set GLASSGRAD_EMULATE_ALL=1 (minutes)")
@pytest.mark.parametrize("variant", EMULATED)
def test_emulated_kernels_on_awkward_shapes(variant: str, emulated: Any, tmp_path: Path) -> None:
    emulated(_build_emulation(tmp_path, (64, 128)))
    rng = np.random.default_rng(1)
    dv = 40 if variant == "simt" else 64
    for shape, causal in (((1, 1, 1, 1, 1, 64, dv), False), ((2, 1, 1, 7, 7, 64, dv), True)):
        _emulate(variant, shape, causal)
    for shape in ((1, 2, 2, 130, 70, 64, dv), (1, 2, 2, 70, 200, 64, dv), (1, 4, 2, 100, 100, 64, dv)):
        _emulate(variant, shape, causal=True)
    _emulate(variant, (2, 2, 2, 50, 77, 64, dv), blhd=True)
    pad = rng.random((2, 1, 1, 90)) > 0.3
    pad[1] = False  # every key of one batch hidden
    _emulate(variant, (2, 2, 2, 65, 90, 64, dv), mask=pad)
    additive = rng.standard_normal((1, 2, 65, 90)).astype(np.float32)
    additive[0, 0, 5] = -np.inf
    _emulate(variant, (2, 2, 2, 65, 90, 64, dv), mask=additive)
    _emulate(variant, (1, 4, 2, 96, 128, 64, dv), p=0.2, seed=2**40 + 5)
    d128 = (120, 100) if variant == "simt" else (128, 128)
    _emulate(variant, (1, 2, 1, 70, 130, *d128), causal=True, p=0.1, seed=4)
    _emulate(variant, (1, 2, 2, 40, 90, *d128), mask=pad[:1], blhd=True)


# ------------------------------------------------------------------------------------------- on a GPU

VARIANTS = ["flash_simt", "flash_mma_bf16", "flash_mma_fp16"]


def _ref_attention(q, k, v, mask, causal: bool, scale: float, keep=None, p: float = 0.0):
    """float64 (O, lse) and a backward closure for (B, H, L, D) NumPy inputs (kv heads repeated for GQA)."""
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    s = q @ k.swapaxes(-1, -2) * scale
    if mask is not None:
        s = s + (np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask)
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore"):
        e = np.exp(s - m)
    total = e.sum(-1, keepdims=True)
    prob = e / np.where(total > 0, total, 1.0)
    lse = np.where(total[..., 0] > 0, (m + np.log(np.where(total > 0, total, 1.0)))[..., 0], 0.0)
    z = np.ones_like(prob) if keep is None else keep.reshape(prob.shape) / (1.0 - p)
    out = (prob * z) @ v

    def backward(grad):
        dv = (prob * z).swapaxes(-1, -2) @ grad
        dp = (grad @ v.swapaxes(-1, -2)) * z
        ds = prob * (dp - (grad * out).sum(-1, keepdims=True))
        dq, dk = ds @ k * scale, ds.swapaxes(-1, -2) @ q * scale

        def per_kv_head(x):  # the gradient of a repeated kv head: the sum over its copies
            return x.reshape(x.shape[0], x.shape[1] // group, group, *x.shape[2:]).sum(2)

        return dq, per_kv_head(dk), per_kv_head(dv)

    return out, lse, backward


def _to_device(x: np.ndarray, variant: str):
    """(device array for the variant, the host float64 values it holds)."""
    import cupy

    from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits

    if variant == "flash_simt":
        d = cupy.asarray(x.astype(np.float32))
        return d, x.astype(np.float32).astype(np.float64)
    if variant == "flash_mma_fp16":
        d = cupy.asarray(x.astype(np.float16))
        return d, x.astype(np.float16).astype(np.float64)
    bits = to_bfloat16_bits(cupy.asarray(x.astype(np.float32)))
    return bits, cupy.asnumpy(from_bfloat16_bits(bits)).astype(np.float64)


def _to_host(x, variant: str) -> np.ndarray:
    import cupy

    from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits

    if variant == "flash_mma_bf16" and x.dtype == np.uint16:
        x = from_bfloat16_bits(x)
    return cupy.asnumpy(x).astype(np.float64)


def _functions(variant: str):
    if variant == "flash_simt":
        return cuda_flash.simt_forward, cuda_flash.simt_backward
    return cuda_flash.mma_forward, cuda_flash.mma_backward


#: (forward, backward) tolerance, relative to the largest reference magnitude
TOL = {"flash_simt": (5e-5, 2e-4), "flash_mma_fp16": (4e-3, 1e-2), "flash_mma_bf16": (2e-2, 5e-2)}


def _close(name: str, got: np.ndarray, want: np.ndarray, tol: float) -> None:
    assert got.shape == want.shape, (name, got.shape, want.shape)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    ref = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-2)  # a zero gradient (one key) gets 1e-2
    assert np.isfinite(got).all() and err <= tol * ref, f"{name}: max error {err:.3g} vs {tol * ref:.3g}"


def _check(
    variant: str,
    b: int,
    hq: int,
    hkv: int,
    lq: int,
    lk: int,
    d: int,
    dv: int | None = None,
    causal: bool = False,
    mask: np.ndarray | None = None,
    blhd: bool = False,
    dropout_p: float = 0.0,
    seed: int = 0,
) -> None:
    """One forward and backward of ``variant`` against the float64 reference."""
    import cupy

    dv = d if dv is None else dv
    rng = np.random.default_rng(lq * 7 + lk)

    def operand(h, n, width):
        if blhd:
            return np.ascontiguousarray(rng.standard_normal((b, n, h, width)).transpose(0, 2, 1, 3))
        return rng.standard_normal((b, h, n, width))

    host = [operand(hq, lq, d), operand(hkv, lk, d), operand(hkv, lk, dv)]
    dev, exact = zip(*(_to_device(x, variant) for x in host), strict=True)
    if blhd:  # the kernels read the transposed views in place
        dev = tuple(cupy.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3) for x in dev)
    scale = d**-0.5
    keep = philox.dropout_keep(seed, 0, b * hq, lq, lk, dropout_p) if dropout_p else None
    ref_out, ref_lse, ref_backward = _ref_attention(*exact, mask, causal, scale, keep, dropout_p)
    forward, backward = _functions(variant)
    mask_dev = None if mask is None else cupy.asarray(mask)
    extra = {"dropout_p": dropout_p, "seed": seed, "offset": 0}
    out, lse = forward(*dev, mask=mask_dev, is_causal=causal, scale=scale, **extra)
    tol_f, tol_b = TOL[variant]
    _close("O", _to_host(out, variant), ref_out, tol_f)
    _close("lse", cupy.asnumpy(lse).astype(np.float64), ref_lse, tol_f)
    grad_host = rng.standard_normal(ref_out.shape)
    grad_dev, grad_exact = _to_device(grad_host, variant)
    grads = backward(*dev, out, grad_dev, lse, mask=mask_dev, is_causal=causal, scale=scale, **extra)
    for label, got, want in zip(("dQ", "dK", "dV"), grads, ref_backward(grad_exact), strict=True):
        _close(label, _to_host(got, variant), want, tol_b)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("length", [1, 7, 33, 127, 1000, 4097])
def test_forward_backward_against_float64(variant: str, length: int) -> None:
    b, h = (1, 1) if length > 1000 else (2, 2)
    _check(variant, b, h, h, length, length, 64, causal=length % 2 == 1)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("lq", "lk", "causal"), [(33, 70, False), (70, 33, True), (130, 1, False)])
def test_lq_differs_from_lk(variant: str, lq: int, lk: int, causal: bool) -> None:
    if variant == "flash_simt":
        _check(variant, 2, 3, 3, lq, lk, 40, dv=24, causal=causal)
    else:
        _check(variant, 2, 3, 3, lq, lk, 128, causal=causal)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
def test_bool_key_padding_and_additive_masks(variant: str) -> None:
    rng = np.random.default_rng(4)
    b, h, lq, lk = 2, 2, 65, 90
    pad = rng.random((b, 1, 1, lk)) > 0.3
    pad[1] = False  # a batch whose keys are all padding: O = 0, lse = 0, no gradient
    _check(variant, b, h, h, lq, lk, 64, mask=pad)
    additive = rng.standard_normal((1, h, lq, lk)).astype(np.float32)
    additive[0, 0, 5] = -np.inf  # a query that sees no key
    _check(variant, b, h, h, lq, lk, 64, mask=additive)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
def test_grouped_query_attention_and_views(variant: str) -> None:
    _check(variant, 2, 8, 2, 100, 100, 64, causal=True)
    _check(variant, 2, 4, 4, 50, 77, 64, blhd=True)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
def test_dropout_keeps_the_philox_mask_in_forward_and_backward(variant: str) -> None:
    """V = identity recovers the kernel's mask from O (O_ij = P_ij Z_ij / (1 − p)): its keep rate is
    1 − p and it is the Philox mask; the backward matches the reference run with that mask."""
    p, b, h, lq, lk = 0.3, 2, 2, 96, 128
    rng = np.random.default_rng(11)
    q, k = rng.standard_normal((b, h, lq, lk)) * 0.1, rng.standard_normal((b, h, lk, lk)) * 0.1
    eye = np.broadcast_to(np.eye(lk), (b, h, lk, lk)).copy()
    dev = [_to_device(x, variant)[0] for x in (q, k, eye)]
    forward, _ = _functions(variant)
    out, _ = forward(*dev, scale=1.0, dropout_p=p, seed=2024, offset=0)
    kept = _to_host(out, variant) > 0
    assert abs(kept.mean() - (1 - p)) < 0.01, kept.mean()
    expected = philox.dropout_keep(2024, 0, b * h, lq, lk, p).reshape(kept.shape)
    assert (kept == expected).all(), (kept != expected).mean()
    _check(variant, b, h, h, 77, 61, 64, causal=True, dropout_p=p, seed=99)


@pytest.mark.gpu
def test_engine_runs_flash_simt_when_chosen() -> None:
    """F.scaled_dot_product_attention on cuda through the registry (3-D calls, the engine's mask)."""
    import glassgrad as gg
    import glassgrad.nn.functional as F
    from glassgrad import kernels

    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 3, 45, 32)).astype(np.float32) for _ in range(3)]
    mask = rng.random((45, 45)) > 0.2
    mask[:, 0] = True
    results = {}
    for name in ("reference", "flash_simt"):
        with kernels.use("attention", name), kernels.use("attention_backward", name):
            q, k, v = (gg.tensor(a, device="cuda", requires_grad=True) for a in arrays)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=gg.tensor(mask, device="cuda"))
            out.sum().backward()
            results[name] = [x.detach().cpu().numpy() for x in (out, q.grad, k.grad, v.grad)]
    for got, want in zip(results["flash_simt"], results["reference"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
