"""Activation kernels (gelu, silu, bias_act, sigmoid and their backward, tanh's backward): every cpu variant against the
reference, the reference and the numba variant against PyTorch's forward and gradient, the
registry's fallbacks, the float32 fast math, NaN and bad activations."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import torch

from glassgrad import kernels
from glassgrad.kernels.activations import fast_math
from glassgrad.kernels.activations.reference import ACTIVATIONS

OPS = [
    "gelu",
    "gelu_backward",
    "silu",
    "silu_backward",
    "bias_act",
    "bias_act_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh_backward",
]
VARIANTS = ["numpy", "numba"]
TOLERANCE = {"float32": 2e-5, "float64": 1e-12}  # max error over max |PyTorch|


def _torch_act(activation: str, h: torch.Tensor) -> torch.Tensor:
    if activation == "identity":
        return h
    if activation == "relu":
        return torch.relu(h)
    if activation == "gelu_tanh":
        return torch.nn.functional.gelu(h, approximate="tanh")
    return getattr(torch.nn.functional, activation)(h)


def _close(ours: np.ndarray, want: torch.Tensor, dtype: str, what: str) -> None:
    want_np = want.detach().numpy()
    assert ours.shape == want_np.shape and ours.dtype == want_np.dtype, what
    scale = max(float(np.max(np.abs(want_np))), 1e-30) if want_np.size else 1.0
    err = float(np.max(np.abs(ours.astype(np.float64) - want_np))) if want_np.size else 0.0
    assert err <= TOLERANCE[dtype] * scale, f"{what}: max error {err:.3e} at scale {scale:.3e}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", OPS)
def test_numba_variant_passes_validation_and_is_the_cpu_default(op: str, dtype: str) -> None:
    report = kernels.validate(op, "numba", "cpu", dtypes=(dtype,))
    assert report.passed, str(report)
    skipped = [r.case for r in report.results if r.skipped]
    assert all(op == "bias_act_backward" and "identity" in case for case in skipped), skipped  # left to NumPy
    assert kernels.default_name(op, "cpu") == "numba"
    assert kernels.reference(op, "cpu").name == "numpy"
    assert kernels.reference(op, "cuda").name == "cupy"


def test_bench_sizes_build_inputs_every_variant_takes() -> None:
    for op in OPS:
        op_spec = kernels.spec(op)
        for size in op_spec.default_sizes["cpu"]:
            case = op_spec.make_inputs(size.replace("2048x3072", "4x6").replace("65536x64", "3x2"), np, np.float32)
            want = kernels.reference(op, "cpu")(*case.args, **case.kwargs)
            got = kernels.variant(op, "cpu", "numba")(*case.args, **case.kwargs)
            for g, w in zip(
                got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True
            ):
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=f"{op} {size}")
            assert op_spec.bytes(case) > 0 and op_spec.flops(case) > 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", VARIANTS)
def test_gelu_and_silu_match_torch_forward_and_gradient(name: str, dtype: str) -> None:
    forward = {op: kernels.variant(op, "cpu", name) for op in OPS}
    for case in kernels.spec("gelu_backward").cases(np, np.dtype(dtype)):
        x, g = case.args
        form = case.kwargs["approximate"]
        tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
        tz = torch.nn.functional.gelu(tx, approximate=form)
        tz.backward(torch.from_numpy(np.ascontiguousarray(g)))
        _close(forward["gelu"](x, approximate=form), tz, dtype, f"gelu {name} {case.name}")
        _close(forward["gelu_backward"](x, g, approximate=form), tx.grad, dtype, f"gelu_backward {name} {case.name}")
    for case in kernels.spec("silu_backward").cases(np, np.dtype(dtype)):
        x, g = case.args
        tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
        tz = torch.nn.functional.silu(tx)
        tz.backward(torch.from_numpy(np.ascontiguousarray(g)))
        _close(forward["silu"](x), tz, dtype, f"silu {name} {case.name}")
        _close(forward["silu_backward"](x, g), tx.grad, dtype, f"silu_backward {name} {case.name}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", VARIANTS)
def test_bias_act_matches_torch_act_of_x_plus_b(name: str, dtype: str) -> None:
    bias_act = kernels.variant("bias_act", "cpu", name)
    bias_act_backward = kernels.variant("bias_act_backward", "cpu", name)
    for case in kernels.spec("bias_act_backward").cases(np, np.dtype(dtype)):
        x, b, g = case.args
        activation = case.kwargs["activation"]
        if x is None:
            continue  # covered by test_identity_backward_needs_no_x_and_is_left_to_numpy
        tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
        tb = torch.tensor(np.ascontiguousarray(b), requires_grad=True)
        tz = _torch_act(activation, tx + tb)
        tz.backward(torch.from_numpy(np.ascontiguousarray(g)))
        _close(bias_act(x, b, activation=activation), tz, dtype, f"bias_act {name} {case.name}")
        dx, db = bias_act_backward(x, b, g, activation=activation)
        _close(dx, tx.grad, dtype, f"bias_act_backward dx {name} {case.name}")
        _close(db, tb.grad, dtype, f"bias_act_backward db {name} {case.name}")


def test_identity_backward_needs_no_x_and_is_left_to_numpy() -> None:
    g = np.random.default_rng(0).standard_normal((130, 7)).astype(np.float32)
    b = np.zeros(7, dtype=np.float32)
    with kernels.use("bias_act_backward", "numba"):
        assert kernels.pick("bias_act_backward", "cpu", None, b, g, activation="identity").name == "numpy"
        assert kernels.pick("bias_act_backward", "cpu", g, b, g, activation="relu").name == "numba"
        dx, db = kernels.run("bias_act_backward", None, b, g, activation="identity")
    assert dx is g
    np.testing.assert_allclose(db, g.sum(axis=0), rtol=1e-5)
    assert db.dtype == np.float32


def test_int_and_float16_inputs_fall_back_to_the_reference() -> None:
    x16 = np.linspace(-4, 4, 33).astype(np.float16)
    xi = np.arange(-3, 4)
    with kernels.use("gelu", "numba"), kernels.use("silu", "numba"):
        assert kernels.pick("gelu", "cpu", x16).name == "numpy"
        assert kernels.pick("gelu", "cpu", xi).name == "numpy"
        assert kernels.pick("silu", "cpu", x16).name == "numpy"
        assert kernels.pick("gelu", "cpu", x16.astype(np.float32)).name == "numba"
        z = kernels.run("gelu", x16, approximate="tanh")
    want = torch.nn.functional.gelu(torch.from_numpy(x16), approximate="tanh").numpy()
    assert z.dtype == np.float16
    np.testing.assert_allclose(z.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)


def test_bias_act_with_a_broadcast_bias_falls_back_to_the_reference() -> None:
    x = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    one = np.array([0.5], dtype=np.float32)
    with kernels.use("bias_act", "numba"):
        assert kernels.pick("bias_act", "cpu", x, one, activation="relu").name == "numpy"
        assert kernels.pick("bias_act", "cpu", x, np.zeros(6, np.float32), activation="relu").name == "numba"
        np.testing.assert_array_equal(kernels.run("bias_act", x, one, activation="relu"), np.maximum(x + 0.5, 0))
    with kernels.use("bias_act_backward", "numba"):
        assert kernels.pick("bias_act_backward", "cpu", x, one, x, activation="relu").name == "numpy"


@pytest.mark.parametrize("name", VARIANTS)
def test_nan_infinities_and_saturation_as_torch(name: str) -> None:
    x = np.array([np.nan, -np.inf, np.inf, -50.0, 50.0, 0.0, -5.0, 9.0], dtype=np.float32)
    ones = np.ones_like(x)
    for form in ("none", "tanh"):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        tz = torch.nn.functional.gelu(tx, approximate=form)
        tz.sum().backward()
        with np.errstate(invalid="ignore"):  # inf·0 is NaN, as in PyTorch
            z = kernels.variant("gelu", "cpu", name)(x, approximate=form)
            dx = kernels.variant("gelu_backward", "cpu", name)(x, ones, approximate=form)
        # atol: the float32 tanh of fast_math.py reaches ±1 at |u| = 7.9, PyTorch's a little later (2e-6 apart at x = -5)
        np.testing.assert_allclose(z, tz.detach().numpy(), rtol=1e-6, atol=1e-5, equal_nan=True, err_msg=form)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-5, equal_nan=True, err_msg=form)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    tz = torch.nn.functional.silu(tx)
    tz.sum().backward()
    with np.errstate(invalid="ignore"):
        z = kernels.variant("silu", "cpu", name)(x)
        dx = kernels.variant("silu_backward", "cpu", name)(x, ones)
    np.testing.assert_allclose(z, tz.detach().numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    b = np.zeros(x.size, dtype=np.float32)
    for activation in ACTIVATIONS:
        with np.errstate(invalid="ignore"):
            z = kernels.variant("bias_act", "cpu", name)(x, b, activation=activation)
            dx, _ = kernels.variant("bias_act_backward", "cpu", name)(x, b, ones, activation=activation)
        assert np.isnan(z[0]), activation
        assert np.isnan(dx[0]) == (activation not in ("identity", "relu")), activation  # relu passes g at NaN


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", VARIANTS)
def test_sigmoid_and_tanh_backward_match_torch_with_special_values(name: str, dtype: str) -> None:
    special = [np.nan, -np.inf, np.inf, -88.0, 88.0, -30.0, 0.0, -0.0, 1e-30, -5.0, 9.0]
    x = np.concatenate([special, np.linspace(-12, 12, 301)]).astype(dtype)
    g = np.random.default_rng(3).standard_normal(x.shape).astype(dtype)
    for op, fn in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        tz = fn(tx)
        tz.backward(torch.from_numpy(g))
        want = tz.detach().numpy()
        if op == "sigmoid":
            z = kernels.variant("sigmoid", "cpu", name)(x)
            assert z.dtype == x.dtype
            np.testing.assert_allclose(z, want, rtol=2e-6 if dtype == "float32" else 1e-15, atol=0, equal_nan=True)
        dx = kernels.variant(f"{op}_backward", "cpu", name)(want, g)
        assert np.array_equal(np.isnan(dx), np.isnan(x)), op
        finite = ~np.isnan(x)  # 1 − z² cancels near |z| = 1: an error of a few ulp of g, as in PyTorch's own rounding
        _close(dx[finite], tx.grad[torch.from_numpy(finite)], dtype, f"{op}_backward {name}")


@pytest.mark.parametrize("name", VARIANTS)
def test_unknown_activation_is_refused(name: str) -> None:
    x = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="activation must be one of"):
        kernels.variant("bias_act", "cpu", name)(x, np.ones(3, np.float32), activation="tanh")
    with pytest.raises(ValueError, match="approximate must be"):
        kernels.variant("gelu", "cpu", name)(x, approximate="erf")


@numba.njit
def _apply(index, x, out):  # pragma: no cover - compiled
    """out[i] = fast_math's tanh (index 0), erf (1) or exp (2) of x[i]."""
    for i in range(x.size):
        if index == 0:
            out[i] = fast_math.tanh(x[i])
        elif index == 1:
            out[i] = fast_math.erf(x[i])
        else:
            out[i] = fast_math.exp(x[i])


@pytest.mark.parametrize(
    ("index", "exact", "tolerance"), [(0, math.tanh, 4e-7), (1, math.erf, 4e-7), (2, math.exp, 2e-7)]
)
def test_float32_fast_math_is_within_a_few_ulp_of_libm(index: int, exact, tolerance: float) -> None:
    x = np.concatenate([np.linspace(-12, 12, 24000), [1e-30, -1e-30]]).astype(np.float32)
    if index == 2:
        x = np.linspace(-85, 88, 34601).astype(np.float32)  # results of at least 2^-123: no subnormals
    got = np.empty_like(x)
    _apply(index, x, got)
    want = np.array([exact(float(v)) for v in x])
    error = np.abs(got - want)
    assert np.all(error <= tolerance * np.abs(want)), f"worst {float(np.max(error / np.abs(want))):.2e}"
    got64 = np.empty(x.shape, np.float64)
    _apply(index, x.astype(np.float64), got64)  # float64 goes to libm
    np.testing.assert_allclose(got64, want, rtol=1e-15)
    nan = np.array([np.nan], dtype=np.float32)
    _apply(index, nan, nan)
    assert np.isnan(nan[0])
