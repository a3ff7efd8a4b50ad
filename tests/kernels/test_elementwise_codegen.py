"""Kernels generated from the activations' formulas (kernels/elementwise/): one tree, NumPy and CUDA.

* the generated NumPy functions equal the hand-written references (kernels.validate on cpu) and
  PyTorch's activations and their derivatives (autograd), in float64 and float32;
* the generated CUDA operations, wrapped into __global__ loops as CuPy's ElementwiseKernel wraps
  them, compile with nvcc for sm_80 and sm_90 without spills (one nvcc call for both);
* the CuPy kernels are asked for with the generated parts, run here on a stand-in that executes
  the NumPy twin;
* formulas that read an unbound name, and bad operands, are refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.elementwise import codegen_cuda, codegen_numpy, formulas, register

OPS = ["gelu", "gelu_backward", "silu", "silu_backward", "sigmoid", "sigmoid_backward", "tanh_backward", "bias_act",
       "bias_act_backward"]  # fmt: skip
BIAS_ACTS = ("identity", "relu", "gelu", "gelu_tanh", "silu")


@pytest.fixture(scope="module", autouse=True)
def _generated_on_cpu():
    """The generated NumPy twins as cpu variant "generated" while this module runs (they are not registered
    on cpu for good: kernels/elementwise/register.py says why)."""
    register.register_generated("cpu")
    yield
    register.unregister_generated("cpu")


def all_formulas() -> list[formulas.Formula]:
    out = []
    for a in formulas.ACTIVATIONS.values():
        out += [a.forward, formulas.backward(a)]
    for name in BIAS_ACTS:
        a = formulas.ACTIVATIONS[name]
        out += [formulas.with_bias(a.forward), formulas.with_bias(formulas.backward(a))]
    return [*out, formulas.DROPOUT, formulas.DROPOUT_BACKWARD]


@pytest.mark.parametrize("op", OPS)
def test_generated_numpy_matches_the_reference(op: str) -> None:
    report = kernels.validate(op, "generated", "cpu")
    assert report.passed, str(report)


def _torch_pairs():
    import torch

    return {
        "gelu": lambda t: torch.nn.functional.gelu(t),
        "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        "silu": torch.nn.functional.silu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "identity": lambda t: t,
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_generated_numpy_matches_torch_with_derivatives(dtype) -> None:
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-12, 12, 997), [0.0, -0.0, 1e-30, 40.0, -40.0]]).astype(dtype)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    # float32: x·Φ(x) loses digits to 1 + erf(x/√2) for x < −3 (here and in PyTorch alike, ~3e-7 absolute),
    # and PyTorch's tanh reaches −1 sooner than NumPy's near x = −5 (gelu_tanh's slope there: 0 against ~3e-6)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=2e-6, atol=5e-6)
    for name, fn in _torch_pairs().items():
        tx = torch.tensor(x, requires_grad=True)
        tz = fn(tx)
        (tdx,) = torch.autograd.grad(tz, tx, torch.tensor(g))
        a = formulas.ACTIVATIONS[name]
        z = codegen_numpy.numpy_function(a.forward)(x)
        slope_input = z if a.slope_of_output else x
        dx = codegen_numpy.numpy_function(formulas.backward(a))(slope_input, g)
        assert z.dtype == dx.dtype == dtype, name
        np.testing.assert_allclose(z, tz.detach().numpy(), **tol, err_msg=name)
        np.testing.assert_allclose(dx, tdx.numpy(), **tol, err_msg=f"d{name}")


def test_numpy_and_cuda_print_the_same_tree() -> None:
    """Both printers parenthesise alike: stripping T(...) and the function spellings gives one text."""
    for f in all_formulas():
        parts = codegen_cuda.elementwise_parts(f)
        cuda = codegen_cuda.expression(f.result)
        numpy = codegen_numpy.expression(f.result)
        cuda = re.sub(r"T\(([^()]*)\)", r"\1", cuda).replace("fabs(", "abs(")
        numpy = re.sub(r"erf\(xp, ", "erf(", numpy).replace("xp.", "")
        if "where" not in numpy and "uniform" not in numpy:
            assert cuda == numpy, f.name
        assert parts.in_params == ", ".join([*(f"T {n}" for n in f.inputs), *(f"{t} {n}" for n, t in f.scalars)])
        assert parts.operation.count(";") == len(f.bindings) + 1


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_generated_cuda_compiles_for_sm80_and_sm90(tmp_path) -> None:
    """Every formula for float, gelu's (erf, exp), gelu_tanh's (tanh) and dropout's (Philox) for double
    too: the same text with T = double. One nvcc call builds both architectures' machine code (a fatbin:
    no host compile)."""
    doubled = ("gelu", "gelu_backward", "gelu_tanh", "gelu_tanh_backward", "dropout")
    # with a bias, only gelu_tanh's pair: the others are the same expressions of h = x + b
    chosen = [
        (f, ("float", "double") if f.name in doubled else ("float",))
        for f in all_formulas()
        if not f.name.startswith("bias_") or f.name.startswith("bias_gelu_tanh")
    ]
    unit, instances = codegen_cuda.nvcc_unit(chosen)
    (tmp_path / "generated.cu").write_text(unit)
    arches = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in ("80", "90")]
    cmd = [
        "nvcc",
        "-std=c++17",
        *arches,
        "-fatbin",
        "-Xptxas",
        "-v",
        "-o",
        str(tmp_path / "g.fatbin"),
        str(tmp_path / "generated.cu"),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + unit
    entries = re.findall(r"Compiling entry function '(\w+)' for '(sm_\d+)'", result.stderr)
    assert len(set(entries)) == 2 * len(instances), entries
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", result.stderr)
    assert len(spills) == len(entries) and all(n == "0" for pair in spills for n in pair)


def test_cupy_kernels_are_built_from_the_generated_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []

    class ElementwiseKernel:
        def __init__(self, in_params, out_params, operation, name, preamble=""):
            built.append((in_params, out_params, operation, name))
            self.key = name.removeprefix("gg_")

        def __call__(self, *arrays):
            return codegen_numpy.numpy_function(register.formula(self.key))(*arrays)

    cupy = ModuleType("cupy")
    cupy.ElementwiseKernel = ElementwiseKernel
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    register.cupy_formula_kernel.cache_clear()
    try:
        fn = kernels.variant("bias_act_backward", "cuda", "generated")
        x = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32)
        b, g = np.linspace(-1, 1, 7, dtype=np.float32), np.ones((5, 7), np.float32)
        dx, db = fn(x, b, g, activation="gelu_tanh")
        want_dx, want_db = kernels.reference("bias_act_backward", "cpu")(x, b, g, activation="gelu_tanh")
        np.testing.assert_allclose(dx, want_dx, rtol=1e-5)
        np.testing.assert_allclose(db, want_db, rtol=1e-5)
        [(in_params, out_params, operation, name)] = built
        assert (in_params, out_params, name) == ("T x, T b, T g", "T out", "gg_bias_gelu_tanh_backward")
        assert operation.startswith("const T h = (x + b);") and operation.rstrip().endswith(";")
        fn(x, b, g, activation="gelu_tanh")
        assert len(built) == 1  # built once per formula
    finally:
        register.cupy_formula_kernel.cache_clear()


def test_generated_variants_are_registered_and_not_default() -> None:
    for op in OPS:
        for device in ("cpu", "cuda"):  # cpu: by the module's fixture
            v = kernels.variant(op, device, "generated")
            assert kernels.default_name(op, device) != "generated" and v.dtypes == ("float32", "float64")
    assert not kernels.variant("gelu_backward", "cpu", "generated").accepts(
        np.ones(2, np.float32), np.ones(2, np.float64)
    )


def test_bad_formulas_are_refused() -> None:
    x = formulas.var("x")
    with pytest.raises(ValueError, match=r"formulas.f: result reads \['y'\]"):
        formulas.Formula("f", ("x",), (), x + formulas.var("y"))
    with pytest.raises(TypeError, match="an operand must be an Expr or a number, got str"):
        x + "1"
    with pytest.raises(ValueError, match="the condition must be a comparison"):
        formulas.where(x, 0, 1)
    with pytest.raises(ValueError, match="unknown function 'cos'"):
        formulas.call("cos", x)
    with pytest.raises(ValueError, match="sigmoid_slope is not a function of x"):
        formulas.with_bias(formulas.ACTIVATIONS["sigmoid"].slope)
    with pytest.raises(ValueError, match="bias_act: activation must be one of"):
        kernels.variant("bias_act", "cpu", "generated")(np.ones((2, 2)), np.ones(2), activation="tanh")
