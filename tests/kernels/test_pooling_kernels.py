"""Max-pooling kernels: the reference's indices and gradient against PyTorch, the
numba variant against the reference on the awkward cases, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glassgrad import kernels
from glassgrad.kernels.pooling.geometry import pool_output_size


def test_reference_indices_and_gradient_match_torch() -> None:
    argmax, grad = kernels.reference("max_pool2d_argmax", "cpu"), kernels.reference("max_pool2d_grad", "cpu")
    for case in kernels.spec("max_pool2d_argmax").cases(np, np.dtype("float64")):
        (x,) = case.args
        tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
        values, indices = torch.nn.functional.max_pool2d(tx, **case.kwargs, return_indices=True)
        ours = argmax(x, **case.kwargs)
        np.testing.assert_array_equal(ours, indices.numpy(), err_msg=case.name)
        dy = np.random.default_rng(0).standard_normal(ours.shape)
        values.backward(torch.from_numpy(dy))
        np.testing.assert_allclose(grad(dy, ours, x.shape), tx.grad.numpy(), atol=1e-12, err_msg=case.name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["max_pool2d_argmax", "max_pool2d_grad"])
def test_numba_variant_matches_the_reference(op: str, dtype: str) -> None:
    report = kernels.validate(op, "numba", "cpu", dtypes=(dtype,))
    assert report.passed, str(report)
    assert kernels.default_name(op, "cpu") == "numba"


def test_windows_of_minus_infinity_pick_a_real_pixel() -> None:
    x = np.full((1, 1, 4, 4), -np.inf)
    for variant in kernels.list("max_pool2d_argmax", "cpu"):
        indices = variant(x, (2, 2), (2, 2), (1, 1))
        assert indices.min() >= 0 and indices.max() < 16, variant.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((4, 3, 1, 2, 1, False), "padding 2 should be at most half the kernel size 3"),
        ((2, 5, 1, 0, 1, False), "a window of 5 .* does not fit an input of size 2"),
    ],
)
def test_bad_windows_are_refused(args: tuple, message: str) -> None:
    size, *rest = args
    with pytest.raises(ValueError, match=message):
        pool_output_size("max_pool2d", size, *rest)


def test_avg_pool2d_reference_refuses_a_zero_divisor_as_pytorch() -> None:
    """``divisor_override=0`` is PyTorch's RuntimeError ("divisor must be not zero"), not a division by zero."""
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="divisor_override must be a positive int, got 0"):
        kernels.run("avg_pool2d", x, (2, 2), (2, 2), (0, 0), divisor_override=0)
