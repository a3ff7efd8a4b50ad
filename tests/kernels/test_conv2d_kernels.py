"""conv2d kernel variants: the reference against PyTorch, every other variant
against the reference on the spec's awkward cases (forward and both gradients,
float32 and float64), and the shape checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glassgrad import kernels
from glassgrad.kernels.conv2d.geometry import ConvGeometry

OPS = ["conv2d", "conv2d_grad_input", "conv2d_grad_weight"]


def _torch_result(op: str, case: kernels.Case) -> np.ndarray:
    t = [torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a for a in case.args]
    if op == "conv2d":
        return torch.nn.functional.conv2d(*t, **case.kwargs).numpy()
    if op == "conv2d_grad_input":
        grad_output, weight, input_size = t
        return torch.nn.grad.conv2d_input(input_size, weight, grad_output, **case.kwargs).numpy()
    x, grad_output, weight_size = t
    return torch.nn.grad.conv2d_weight(x, weight_size, grad_output, **case.kwargs).numpy()


@pytest.mark.parametrize("op", OPS)
def test_reference_matches_torch_on_every_case(op: str) -> None:
    ref = kernels.reference(op, "cpu")
    for case in kernels.spec(op).cases(np, np.dtype("float64")):
        np.testing.assert_allclose(
            ref(*case.args, **case.kwargs), _torch_result(op, case), atol=1e-11, err_msg=case.name
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", OPS)
def test_every_variant_matches_the_reference(op: str, dtype: str) -> None:
    variants = [v.name for v in kernels.list(op, "cpu") if not v.reference]
    assert variants, f"{op} has no variant besides the reference"
    for name in variants:
        report = kernels.validate(op, name, "cpu", dtypes=(dtype,))
        assert report.passed, str(report)


def test_the_default_is_the_measured_fastest() -> None:
    """benchmarks/results/conv2d_cpu.json: the chunked numba_im2col beat the whole-batch NumPy reference."""
    for op in OPS:
        assert kernels.default_name(op, "cpu") == "numba_im2col"


@pytest.mark.parametrize("stride", [(2, 1), (1, 1)])
@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("groups", [1, 2])
def test_numba_im2col_in_several_chunks_with_a_short_last_one(
    monkeypatch: pytest.MonkeyPatch, groups: int, per_image: bool, stride: tuple[int, int]
) -> None:
    """A chunk budget of about two images' columns: 5 images go as 2 + 2 + 1 through one reused buffer,
    with one GEMM per image or the chunk's images side by side. The output rows are as long as the input rows
    (kernel width 2, dilation 2, padding 1): with stride (1, 1) each tap moves as one run of pixels, with
    stride (2, 1) row by row."""
    from glassgrad.kernels.conv2d import cpu_numba

    monkeypatch.setattr(cpu_numba, "PER_IMAGE_MAX_ROWS", 10**9 if per_image else 0)
    monkeypatch.setattr(cpu_numba, "PER_IMAGE_POSITIONS", 1)

    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4, 9, 8))
    w = rng.standard_normal((6, 4 // groups, 3, 2))
    b = rng.standard_normal(6)
    options = {"stride": stride, "padding": (1, 1), "dilation": (1, 2), "groups": groups}
    geometry = ConvGeometry.of(x.shape, w.shape, **options)
    assert geometry.out_width == x.shape[3]  # with stride (1, 1), a tap's pixels are one run
    monkeypatch.setattr(cpu_numba, "CHUNK_BYTES", 2 * groups * geometry.column_rows * geometry.positions * 8 + 8)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    y = torch.nn.functional.conv2d(tx, tw, tb, **options)
    dy = rng.standard_normal(tuple(y.shape))
    np.testing.assert_allclose(cpu_numba.conv2d(x, w, b, **options), y.numpy(), rtol=1e-12, atol=1e-12)
    grad_input = torch.nn.grad.conv2d_input(x.shape, tw, torch.from_numpy(dy), **options).numpy()
    np.testing.assert_allclose(cpu_numba.conv2d_grad_input(dy, w, x.shape, **options), grad_input, atol=1e-12)
    grad_weight = torch.nn.grad.conv2d_weight(tx, w.shape, torch.from_numpy(dy), **options).numpy()
    np.testing.assert_allclose(cpu_numba.conv2d_grad_weight(x, dy, w.shape, **options), grad_weight, atol=1e-12)


def test_validation_covers_non_contiguous_inputs() -> None:
    cases = kernels.spec("conv2d").cases(np, np.dtype("float32"))
    assert any(not case.args[0].flags.c_contiguous for case in cases)
    assert any(not case.args[1].flags.c_contiguous for case in cases)


def test_output_size_formula() -> None:
    g = ConvGeometry.of((2, 3, 33, 7), (4, 3, 3, 2), stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=1)
    assert g.output_shape == (2, 4, (33 + 2 - 4 - 1) // 2 + 1, (7 - 1 - 1) // 3 + 1)
    assert g.flops() == 2 * 2 * 4 * g.out_height * g.out_width * 3 * 3 * 2


@pytest.mark.parametrize(
    ("input_size", "weight_size", "groups", "message"),
    [
        ((1, 3, 8, 8), (4, 2, 3, 3), 1, r"input \(1, 3, 8, 8\) has 3 channels but weight \(4, 2, 3, 3\) expects 2"),
        ((1, 4, 8, 8), (3, 2, 3, 3), 2, r"groups=2 must divide in_channels \(4\) and out_channels \(3\)"),
        ((1, 1, 4, 4), (1, 1, 7, 7), 1, r"kernel of size \(7, 7\).*larger than the padded input \(6, 6\)"),
        ((1, 1, 4), (1, 1, 3, 3), 1, r"expected a 4-D input and weight, got \(1, 1, 4\)"),
    ],
)
def test_bad_shapes_name_the_shapes(input_size: tuple, weight_size: tuple, groups: int, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):  # as PyTorch
        ConvGeometry.of(input_size, weight_size, (1, 1), (1, 1), (1, 1), groups)


def test_mixed_dtypes_are_refused() -> None:
    x, w = np.zeros((1, 1, 3, 3), np.float32), np.zeros((1, 1, 3, 3), np.float64)
    for variant in kernels.list("conv2d", "cpu"):
        with pytest.raises(TypeError, match="conv2d: expected float32 or float64 arrays of one dtype"):
            variant(x, w, None)


def test_grad_output_of_the_wrong_shape_is_refused() -> None:
    w = np.zeros((2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"grad_output \(1, 2, 4, 4\) should be \(1, 2, 3, 3\)"):
        kernels.get("conv2d_grad_input", "cpu")(np.zeros((1, 2, 4, 4)), w, (1, 1, 5, 5))
