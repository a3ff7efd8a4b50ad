"""The Tensor API: creation, dtypes and promotion, conversion, interop, repr, setitem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg


def test_python_data_dtypes_follow_pytorch() -> None:
    assert gg.tensor(1.0).dtype == gg.float32
    assert gg.tensor([1, 2]).dtype == gg.int64
    assert gg.tensor([True]).dtype == gg.bool
    assert gg.tensor(np.zeros(2, dtype=np.float64)).dtype == gg.float64  # NumPy keeps its dtype
    assert gg.tensor([1, 2], dtype=gg.float64).dtype == gg.float64


@pytest.mark.parametrize(
    ("a", "b"),
    [("int64", "float32"), ("float32", "float64"), ("bool", "int64"), ("int32", "int64"), ("bool", "float32")],
)
def test_tensor_promotion_matches_torch(a: str, b: str) -> None:
    x, y = gg.ones(2, dtype=a), gg.ones(2, dtype=b)
    want = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert str((x + y).dtype) == str(want).replace("torch.", "")


@pytest.mark.parametrize(
    ("dtype", "scalar"), [("int64", 2.5), ("float32", 2.0), ("int64", 2), ("float32", 3), ("bool", 1)]
)
def test_scalar_promotion_matches_torch(dtype: str, scalar: float) -> None:
    ours = (gg.ones(2, dtype=dtype) * scalar).dtype
    theirs = (torch.ones(2, dtype=getattr(torch, dtype)) * scalar).dtype
    assert str(ours) == str(theirs).replace("torch.", "")


def test_true_division_of_integers_is_float() -> None:
    assert (gg.tensor([1, 2]) / 2).dtype == gg.float32


def test_factories() -> None:
    assert gg.zeros(2, 3).shape == (2, 3) and gg.ones((2,)).tolist() == [1.0, 1.0]
    assert gg.full((2,), 7).dtype == gg.int64 and gg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert gg.arange(3).tolist() == [0, 1, 2] and gg.arange(0, 1, 0.5).dtype == gg.float32
    assert gg.eye(2).tolist() == [[1, 0], [0, 1]]
    assert gg.zeros_like(gg.ones(2, dtype=gg.float64)).dtype == gg.float64
    assert gg.ones_like(gg.ones(3)).shape == (3,)
    gg.manual_seed(3)
    a = gg.randn(4)
    gg.manual_seed(3)
    assert gg.randn(4).tolist() == a.tolist()
    assert 0 <= float(gg.rand(100).min()) and float(gg.rand(100).max()) < 1


def test_attributes_and_conversions() -> None:
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.shape == (2, 2) and x.ndim == 2 and x.size() == (2, 2) and x.size(1) == 2 and x.numel() == 4
    assert x.is_leaf and x.device == "cpu" and x.T.tolist() == [[1, 3], [2, 4]]
    assert x.sum().item() == 10.0 and x.double().dtype == gg.float64 and x.double().float().dtype == gg.float32
    assert x.to(gg.float64).dtype == gg.float64 and x.to("cpu") is x
    assert x.T.contiguous().is_contiguous() and not x.T.is_contiguous()
    c = x.clone()
    c[0, 0] = 9
    assert x[0, 0].item() == 1.0
    assert isinstance(x.numpy(), np.ndarray)


def test_numpy_of_a_tensor_requiring_grad_needs_detach() -> None:
    x = gg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_interop_without_copies() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gg.from_numpy(a)
    a[0, 0] = 100
    assert t[0, 0].item() == 100
    assert np.asarray(t) is not None and np.asarray(t)[0, 0] == 100
    via_dlpack = torch.from_dlpack(t)
    via_dlpack[0, 1] = -1
    assert a[0, 1] == -1
    back = gg.from_dlpack(torch.arange(3.0))
    assert back.tolist() == [0.0, 1.0, 2.0]
    assert gg.from_dlpack(np.arange(2.0)).tolist() == [0.0, 1.0]


def test_setitem_outside_autograd() -> None:
    x = gg.zeros(4)
    x[1:3] = 5
    x[gg.tensor([0])] = gg.tensor([2.0])
    assert x.tolist() == [2, 5, 5, 0]
    y = gg.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        y[0] = 1.0


def test_repr_is_readable() -> None:
    assert repr(gg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(gg.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(gg.ones(1, requires_grad=True) * 2)
    assert "dtype=float64" in repr(gg.ones(1, dtype=gg.float64))


def test_cuda_without_a_gpu_names_what_is_missing() -> None:
    if gg.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        gg.ones(2).to("cuda")


def test_unknown_device() -> None:
    with pytest.raises(RuntimeError, match="unknown device 'tpu'"):
        gg.zeros(2, device="tpu")
