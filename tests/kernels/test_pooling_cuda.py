"""The CUDA C pooling kernels (kernels/pooling/cuda/pool2d.cu, launched by cuda_c.py) and the
average-pooling lab ops (avg_spec.py).

On the CPU: the average-pooling reference against PyTorch; the kernels' per-thread index math
(thread order, PyTorch's divisor, the windows an input pixel falls in) run in Python against the
reference; pool2d.cu itself compiled for the CPU (pool2d_host.cpp) and run with the arguments the
launchers pass; the launchers on NumPy arrays (instance, grid, block, strides and thread order).
On a GPU (``-m gpu``): every cuda_c variant validated against the reference, float32 and float64.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from glassgrad import kernels
from glassgrad.kernels.pooling import cuda_c

AVG_OPS = ["avg_pool2d", "avg_pool2d_grad"]
ALL_OPS = ["max_pool2d_argmax", "max_pool2d_grad", *AVG_OPS]


def _torch_avg(op: str, case: kernels.Case) -> np.ndarray:
    k = case.kwargs
    options = (
        k["kernel_size"],
        k["stride"],
        k["padding"],
        k["ceil_mode"],
        k["count_include_pad"],
        k["divisor_override"],
    )
    if op == "avg_pool2d":
        return torch.nn.functional.avg_pool2d(torch.from_numpy(np.ascontiguousarray(case.args[0])), *options).numpy()
    grad, size = case.args
    x = torch.zeros(size, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.avg_pool2d(x, *options).backward(torch.from_numpy(np.ascontiguousarray(grad)))
    return x.grad.numpy()


@pytest.mark.parametrize("op", AVG_OPS)
def test_avg_reference_matches_torch(op: str) -> None:
    for case in kernels.spec(op).cases(np, np.dtype("float64")):
        got = kernels.reference(op, "cpu")(*case.args, **case.kwargs)
        np.testing.assert_allclose(got, _torch_avg(op, case), atol=1e-12, err_msg=case.name)


# --- pool2d.cu's index math, once more in Python --------------------------------------------


def unflatten(i: int, c_: int, a_: int, b_: int, channels_last: bool) -> tuple[int, int, int, int]:
    if channels_last:
        return i // (c_ * b_ * a_), i % c_, i // (c_ * b_) % a_, i // c_ % b_
    return i // (b_ * a_ * c_), i // (b_ * a_) % c_, i // b_ % a_, i % b_


def avg_divisor(p, q, h_, w_, kernel, stride, padding, count_include_pad, divisor_override) -> int:
    if divisor_override:
        return divisor_override
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    h0, w0 = p * sh - ph, q * sw - pw
    h1, w1 = min(h0 + kh, h_ + ph), min(w0 + kw, w_ + pw)
    padded = (h1 - h0) * (w1 - w0)
    h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h_), min(w1, w_)
    return padded if count_include_pad else (h1 - h0) * (w1 - w0)


def emulate_avg(op: str, case: kernels.Case, channels_last: bool) -> np.ndarray:
    k = case.kwargs
    (kh, kw), (sh, sw), (ph, pw) = k["kernel_size"], k["stride"], k["padding"]
    divisor = (k["kernel_size"], k["stride"], k["padding"], k["count_include_pad"], k["divisor_override"])
    if op == "avg_pool2d":
        (x,) = case.args
        n_, c_, h_, w_ = x.shape
        out = np.zeros(cuda_c.avg_output_shape(x.shape, k["kernel_size"], k["stride"], k["padding"], k["ceil_mode"]))
        p_, q_ = out.shape[2:]
        for i in range(out.size):
            n, c, p, q = unflatten(i, c_, p_, q_, channels_last)
            h0, w0, h1, w1 = (
                max(p * sh - ph, 0),
                max(q * sw - pw, 0),
                min(p * sh - ph + kh, h_),
                min(q * sw - pw + kw, w_),
            )
            out[n, c, p, q] = x[n, c, h0:h1, w0:w1].sum() / avg_divisor(p, q, h_, w_, *divisor)
        return out
    g, size = case.args
    out = np.zeros(size)
    n_, c_, h_, w_ = size
    p_, q_ = g.shape[2:]
    for i in range(out.size):
        n, c, h, w = unflatten(i, c_, h_, w_, False)
        p0, p1 = 0 if h + ph < kh else (h + ph - kh) // sh + 1, min((h + ph) // sh + 1, p_)
        q0, q1 = 0 if w + pw < kw else (w + pw - kw) // sw + 1, min((w + pw) // sw + 1, q_)
        total = 0.0
        for p in range(p0, p1):
            for q in range(q0, q1):
                total += g[n, c, p, q] / avg_divisor(p, q, h_, w_, *divisor)
        out[n, c, h, w] = total
    return out


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("op", AVG_OPS)
def test_emulated_avg_kernels_give_the_reference(op: str, channels_last: bool) -> None:
    for case in kernels.spec(op).cases(np, np.dtype("float64")):
        want = kernels.reference(op, "cpu")(*case.args, **case.kwargs)
        np.testing.assert_allclose(emulate_avg(op, case, channels_last), want, atol=1e-12, err_msg=case.name)


def test_unflatten_visits_every_element_once() -> None:
    for channels_last in (False, True):
        seen = {unflatten(i, 3, 4, 5, channels_last) for i in range(2 * 3 * 4 * 5)}
        assert len(seen) == 120 and seen == {
            (n, c, a, b) for n in range(2) for c in range(3) for a in range(4) for b in range(5)
        }
    assert [unflatten(i, 3, 4, 5, True)[1] for i in range(3)] == [0, 1, 2]  # channels fastest


# --- the launchers ---------------------------------------------------------------------------


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []

    def fake_kernel(path, name, name_expressions=(), defines=None):
        return lambda grid, block, args: calls.append(
            (Path(path).name, name, list(name_expressions), grid, block, args)
        )

    monkeypatch.setattr(cuda_c, "kernel", fake_kernel)
    return calls


def _call(op: str, x: np.ndarray) -> tuple:
    if op == "max_pool2d_argmax":
        return (x,), {"kernel_size": (3, 2), "stride": (2, 2), "padding": (1, 1), "dilation": (1, 2), "ceil_mode": True}
    if op == "max_pool2d_grad":
        indices = np.zeros((*x.shape[:2], 4, 3), np.int64)
        return (np.ones(indices.shape, x.dtype)[:, :, :, ::-1], indices, x.shape), {}
    options = {"kernel_size": (3, 3), "stride": (2, 2), "padding": (1, 1), "ceil_mode": False}
    options |= {"count_include_pad": False, "divisor_override": 3}
    if op == "avg_pool2d":
        return (x,), options
    shape = cuda_c.avg_output_shape(x.shape, (3, 3), (2, 2), (1, 1), False)
    return (np.ones(shape, x.dtype), x.shape), options


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ALL_OPS)
def test_launchers_ask_for_instances_built_here(launches: list, op: str, dtype: str, layout: str) -> None:
    x = np.zeros((2, 3, 8, 6), dtype) if layout == "NCHW" else np.zeros((2, 8, 6, 3), dtype).transpose(0, 3, 1, 2)
    args, kwargs = _call(op, x)
    result = kernels.variant(op, "cuda", "cuda_c")(*args, **kwargs)
    [(file, name, expressions, grid, block, kernel_args)] = launches
    assert file == "pool2d.cu" and expressions == cuda_c.instances(file) and name in expressions
    assert name.endswith({"float32": "<float>", "float64": "<double>"}[dtype])
    assert block == (cuda_c.THREADS,)
    count = args[0].size if op == "max_pool2d_grad" else result.size  # one thread per g, else per result
    assert grid == (-(-count // cuda_c.THREADS),)
    read = args[0]
    ints = [int(v) for v in kernel_args if isinstance(v, np.integer)]
    strides = [s // read.itemsize for s in read.strides]
    assert ints[14:18] == strides, (ints, strides)
    assert ints[18] == (op in ("max_pool2d_argmax", "avg_pool2d") and layout == "NHWC")  # x's thread order
    assert all(type(v) in (np.int32, np.int64) for v in kernel_args if isinstance(v, np.integer))
    assert result.flags.c_contiguous


HOST_SOURCE = Path(__file__).with_name("pool2d_host.cpp")
HOST_KERNELS = {"max_pool2d_argmax": 0, "max_pool2d_scatter_grad": 1, "avg_pool2d_forward": 2, "avg_pool2d_backward": 3}


@pytest.fixture(scope="module")
def host_pool2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no host C++ compiler")
    binary = tmp_path_factory.mktemp("pool") / "pool2d_host"
    subprocess.run([compiler, "-std=c++17", "-O0", "-o", str(binary), str(HOST_SOURCE)], check=True, timeout=120)
    return binary


def _memory(a: np.ndarray) -> np.ndarray:
    """The memory a kernel reads through a's strides, from a's first element (strides are positive here)."""
    extent = sum((n - 1) * s for n, s in zip(a.shape, a.strides, strict=True)) // a.itemsize
    return np.lib.stride_tricks.as_strided(a, shape=(extent + 1,), strides=(a.itemsize,))


@pytest.mark.parametrize("op", ALL_OPS)
def test_pool2d_cu_itself_on_the_cpu_gives_the_reference(launches: list, host_pool2d: Path, op: str) -> None:
    """pool2d.cu (double), launched with the arguments the cuda_c launcher passes, on every spec case."""
    problems, wants = [], []
    for case in kernels.spec(op).cases(np, np.dtype("float64")):
        launches.clear()
        result = kernels.variant(op, "cuda", "cuda_c")(*case.args, **case.kwargs)
        [(_, name, _, _, _, args)] = launches
        kernel = HOST_KERNELS[name.split("<")[0]]
        arrays = [a for a in args if isinstance(a, np.ndarray) and a.ndim]
        ints = [int(v) for v in args if isinstance(v, np.integer)]
        extra = ints[19:] or [0, 0]  # avg: count_include_pad, divisor_override
        text = " ".join(map(str, [kernel, *ints[:19], *extra]))
        text += f"\n{_memory(arrays[0]).size}\n" + " ".join(repr(float(v)) for v in _memory(arrays[0]))
        if kernel == 1:
            text += f"\n{arrays[1].size}\n" + " ".join(map(str, arrays[1].ravel()))
        problems.append(text + f"\n{result.size}\n")
        wants.append((case.name, kernels.reference(op, "cpu")(*case.args, **case.kwargs)))
    run = subprocess.run([str(host_pool2d)], input="".join(problems), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    values, at = run.stdout.split(), 0
    for name, want in wants:
        got = np.array(values[at : at + want.size], dtype=float).reshape(want.shape)
        at += want.size
        if op == "max_pool2d_argmax":
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:
            np.testing.assert_allclose(got, want, atol=1e-12, err_msg=name)
    assert at == len(values)


def test_launchers_refuse_other_dtypes(launches: list) -> None:
    with pytest.raises(TypeError, match=r"avg_pool2d\(cuda, cuda_c\): expects float32 or float64"):
        cuda_c.avg_pool2d(np.zeros((1, 1, 4, 4), np.int32), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="grad_output"):
        cuda_c.avg_pool2d_grad(np.zeros((1, 1, 3, 3), np.float32), (1, 1, 4, 4), (2, 2), (2, 2), (0, 0))
    assert not launches


def test_variants_are_registered_and_not_default() -> None:
    for op in ALL_OPS:
        assert "cuda_c" in {v.name for v in kernels.list(op, "cuda")}
        assert kernels.default_name(op, "cuda") == "reference"


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ALL_OPS)
def test_cuda_c_matches_the_reference_on_gpu(op: str, dtype: str) -> None:
    report = kernels.validate(op, "cuda_c", "cuda", dtypes=(dtype,))
    assert report.passed, str(report)
