"""GELU and SiLU as engine ops on the activation kernels: forward and gradient against PyTorch with
each cpu variant, on contiguous and transposed inputs, float64 gradcheck, dtypes, what backward
keeps, and that the op reaches its kernel through the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels

#: max error over max |PyTorch|: in float32 the tanh form's 1 − tanh²u cancels near saturation, where
#: one rounding of tanh u moves dL/dx by ~2e-6 (PyTorch's and NumPy's tanh round differently)
TOLERANCE = {"float32": 2e-5, "float64": 1e-12}


def _close(ours: np.ndarray, want: torch.Tensor, dtype: str) -> None:
    want_np = want.detach().numpy()
    assert ours.shape == want_np.shape and ours.dtype == want_np.dtype
    error = float(np.max(np.abs(ours.astype(np.float64) - want_np)))
    assert error <= TOLERANCE[dtype] * max(float(np.max(np.abs(want_np))), 1e-30), f"max error {error:.3e}"


ACTIVATIONS = {
    "gelu": (lambda x: F.gelu(x), lambda x: torch.nn.functional.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "silu": (F.silu, torch.nn.functional.silu),
}


def _inputs(dtype: str) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [
        (3 * rng.standard_normal((33, 7))).astype(dtype),
        (3 * rng.standard_normal((9, 40))).astype(dtype).T,  # transposed view
        (20 * rng.standard_normal((2, 3, 5))).astype(dtype),  # saturating
        np.array(1.5, dtype=dtype),
    ]


@pytest.mark.parametrize("variant", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_and_gradient_match_torch(name: str, dtype: str, variant: str) -> None:
    ours, theirs = ACTIVATIONS[name]
    op = "silu" if name == "silu" else "gelu"
    with kernels.use(op, variant), kernels.use(f"{op}_backward", variant):
        for x in _inputs(dtype):
            g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
            a = gg.tensor(x, requires_grad=True)
            z = ours(a)
            z.backward(gg.tensor(g))
            t = torch.tensor(np.array(x, order="C"), requires_grad=True)
            tz = theirs(t)
            tz.backward(torch.from_numpy(g))
            assert z.dtype == a.dtype and z.shape == tuple(tz.shape)
            _close(z.detach().numpy(), tz, dtype)
            _close(a.grad.numpy(), t.grad, dtype)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradcheck_in_float64(name: str) -> None:
    x = gg.tensor(np.random.default_rng(3).standard_normal((4, 6)) * 2, requires_grad=True)
    assert gg.gradcheck(ACTIVATIONS[name][0], (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float16_keeps_its_dtype_as_in_torch(name: str) -> None:
    ours, theirs = ACTIVATIONS[name]
    x = np.linspace(-5, 5, 21).astype(np.float16)
    z = ours(gg.tensor(x))
    want = theirs(torch.from_numpy(x))
    assert z.dtype == gg.float16
    np.testing.assert_allclose(z.numpy().astype(np.float32), want.numpy().astype(np.float32), rtol=2e-3, atol=2e-3)


def test_backward_keeps_only_the_input() -> None:
    for z in (F.gelu(gg.randn(3, 4, requires_grad=True)), F.silu(gg.randn(3, 4, requires_grad=True))):
        (saved,) = z.grad_fn.saved_arrays
        assert saved.shape == (3, 4)


def test_the_ops_run_the_variant_the_registry_picks() -> None:
    calls = []
    reference = kernels.reference("gelu_backward", "cpu")

    @kernels.register("gelu_backward", "cpu", "test_counting", "the reference, counting its calls")
    def counting(x, grad, approximate="none"):
        calls.append(approximate)
        return reference(x, grad, approximate=approximate)

    try:
        with kernels.use("gelu_backward", "test_counting"):
            a = gg.randn(5, requires_grad=True)
            F.gelu(a, approximate="tanh").sum().backward()
        assert calls == ["tanh"]
        with kernels.use("gelu", "numpy"):
            x = gg.randn(8)
            np.testing.assert_array_equal(F.gelu(x).numpy(), reference.fn.__globals__["gelu"](x.numpy()))
    finally:
        kernels.registry._variants[("gelu_backward", "cpu")].pop("test_counting")
        kernels.registry._forget_order()


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_integer_input_is_refused_as_in_torch(name: str) -> None:
    with pytest.raises(NotImplementedError, match=name):
        getattr(F, name)(gg.tensor([1, 2, 3]))
    with pytest.raises(NotImplementedError):
        getattr(torch.nn.functional, name)(torch.tensor([1, 2, 3]))


def test_gelu_approximate_is_checked_as_in_torch() -> None:
    x = gg.randn(3)
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(x, approximate="erf")
    with pytest.raises(TypeError, match="approximate"):
        F.gelu(x, approximate=None)
    with pytest.raises(RuntimeError):
        torch.nn.functional.gelu(torch.randn(3), approximate="erf")
