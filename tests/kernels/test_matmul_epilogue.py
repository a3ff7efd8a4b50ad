"""matmul_epilogue on the cpu: the reference against PyTorch's F.linear + activation + residual, its
argument checks, and its lab validation; the cuda variant is checked in test_matmul_cuda.py (gpu)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from glassgrad import kernels
from glassgrad.kernels.matmul.epilogue_spec import ACTIVATIONS, matmul_epilogue

TORCH_ACT = {
    None: lambda x: x,
    "identity": lambda x: x,
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_is_torch_linear_activation_residual(activation: str | None, dtype) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 7, 11)).astype(dtype), rng.standard_normal((5, 11)).astype(dtype)
    bias, residual = rng.standard_normal(5).astype(dtype), rng.standard_normal((7, 5)).astype(dtype)
    got = matmul_epilogue(x, w.T, bias=bias, activation=activation, residual=residual)
    t = torch.from_numpy
    want = TORCH_ACT[activation](F.linear(t(x), t(w), t(bias))) + t(residual)
    assert got.dtype == dtype and got.shape == (3, 7, 5)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_reference_validates_on_its_cases() -> None:
    assert kernels.validate("matmul_epilogue", "numpy", "cpu").passed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "tanh"}, "activation must be one of"),
        ({"bias": np.ones(4, np.float32)}, r"bias must have shape \(3,\)"),
        ({"residual": np.ones((2, 5, 3), np.float32)}, r"residual of shape \(2, 5, 3\) does not broadcast"),
    ],
)
def test_bad_arguments_name_the_op(kwargs: dict, message: str) -> None:
    a, b = np.ones((5, 7), np.float32), np.ones((7, 3), np.float32)
    with pytest.raises(ValueError, match="matmul_epilogue: " + message):
        matmul_epilogue(a, b, **kwargs)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        matmul_epilogue(a, a)


def test_cuda_variants_are_registered_but_not_default() -> None:
    names = {v.name for v in kernels.list("matmul_epilogue", "cuda")}
    assert names >= {"cupy", "mma_sync"}
    assert kernels.default_name("matmul_epilogue", "cuda") == "cupy"
