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
    x, y = gg.ones(2, dtype=getattr(gg, a)), gg.ones(2, dtype=getattr(gg, b))
    want = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert str((x + y).dtype) == str(want).replace("torch.", "")


@pytest.mark.parametrize(
    ("dtype", "scalar"), [("int64", 2.5), ("float32", 2.0), ("int64", 2), ("float32", 3), ("bool", 1)]
)
def test_scalar_promotion_matches_torch(dtype: str, scalar: float) -> None:
    ours = (gg.ones(2, dtype=getattr(gg, dtype)) * scalar).dtype
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
    assert "dtype=glassgrad.float64" in repr(gg.ones(1, dtype=gg.float64))


def test_cuda_without_a_gpu_names_what_is_missing() -> None:
    if gg.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        gg.ones(2).to("cuda")


def test_unknown_device() -> None:
    with pytest.raises(RuntimeError, match="unknown device 'tpu'"):
        gg.zeros(2, device="tpu")


def _raised(fn) -> type[Exception] | None:
    try:
        fn()
    except Exception as err:  # the type is what is compared
        return type(err)
    return None


def test_grad_assignment_is_checked_as_in_pytorch() -> None:
    for m in (gg, torch):
        x = m.ones(2, 3, requires_grad=True)
        x.grad = m.full((2, 3), 2.0)
        assert x.grad.tolist() == [[2.0] * 3] * 2
        x.grad = None
        assert x.grad is None
    assert _raised(lambda: setattr(gg.ones(2), "grad", 3)) is TypeError
    assert _raised(lambda: setattr(torch.ones(2), "grad", 3)) is TypeError
    for make in (lambda m: m.ones(3), lambda m: m.ones(2, dtype=m.float64)):
        assert _raised(lambda make=make: setattr(torch.ones(2), "grad", make(torch))) is RuntimeError
        x = gg.ones(2)
        with pytest.raises(RuntimeError, match=r"grad: attempting to assign"):
            x.grad = make(gg)
        assert x.grad is None
    w = gg.ones(2, 3, requires_grad=True)  # autograd still fills and accumulates .grad
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    assert w.grad.tolist() == [[6.0] * 3] * 2


def test_retain_grad_needs_requires_grad() -> None:
    for m in (gg, torch):
        leaf = m.ones(2, requires_grad=True)
        leaf.retain_grad()  # a leaf that requires grad keeps it anyway: accepted, nothing to do
        y = leaf * 2
        y.retain_grad()
        y.sum().backward()
        assert y.grad.tolist() == [1.0, 1.0]
    assert _raised(lambda: torch.ones(2).retain_grad()) is RuntimeError
    with pytest.raises(RuntimeError, match="retain_grad: .*requires_grad=False"):
        gg.ones(2).retain_grad()


def test_item_float_int_and_size_raise_what_pytorch_raises() -> None:
    for fn, want in (
        (lambda m: m.ones(2, 3).item(), RuntimeError),
        (lambda m: float(m.ones(2, 3)), ValueError),
        (lambda m: int(m.ones(2)), ValueError),
        (lambda m: m.ones(2, 3).size(-3), IndexError),
        (lambda m: m.tensor(1.0).size(0), IndexError),
    ):
        assert _raised(lambda fn=fn: fn(torch)) is want
        assert _raised(lambda fn=fn: fn(gg)) is want
    assert gg.ones(2, 3).size(-1) == torch.ones(2, 3).size(-1) == 3
    assert float(gg.ones(1, 1)) == float(torch.ones(1, 1)) == 1.0


def test_to_reads_strings_as_devices_and_checks_before_copying() -> None:
    x = gg.ones(2)
    assert _raised(lambda: torch.ones(2).to("float")) is RuntimeError
    with pytest.raises(RuntimeError, match=r"to: unknown device 'float'"):
        x.to("float")
    assert x.to(gg.ones(1, dtype=gg.float64)).dtype == gg.float64  # to(other): other's dtype and device
    assert x.to("cpu", gg.float64).dtype == gg.float64 and x.to(dtype=float).dtype == gg.float32
    assert _raised(lambda: torch.ones(2).type_as(3)) is TypeError
    with pytest.raises(TypeError, match="type_as: .*int"):
        x.type_as(3)
    assert x.type_as(gg.tensor([1])).dtype == gg.int64


def test_swapaxes_and_swapdims_match_torch() -> None:
    a = np.arange(24.0).reshape(2, 3, 4)
    for name in ("swapaxes", "swapdims"):
        ours, theirs = getattr(gg.tensor(a), name)(0, -1), getattr(torch.tensor(a), name)(0, -1)
        assert ours.shape == tuple(theirs.shape) and np.array_equal(ours.numpy(), theirs.numpy())
        with pytest.raises(IndexError, match=f"{name}: dim 3"):
            getattr(gg.tensor(a), name)(3, 0)


def test_inplace_ops_broadcast_into_self_only() -> None:
    for m in (gg, torch):
        x = m.ones(2, 3)
        x.add_(m.ones(3)).mul_(m.full((2, 1), 2.0)).sub_(1.0)
        assert x.tolist() == [[3.0] * 3] * 2
    for fn in (lambda m, x: x.mul_(m.ones(4)), lambda m, x: x.add_(m.ones(2, 2, 3)), lambda m, x: x.copy_(m.ones(4))):
        assert _raised(lambda fn=fn: fn(torch, torch.zeros(2, 3))) is RuntimeError
        x = gg.zeros(2, 3)
        assert _raised(lambda fn=fn, x=x: fn(gg, x)) is RuntimeError
        assert x.tolist() == [[0.0] * 3] * 2
    with pytest.raises(RuntimeError, match=r"mul_: .*\(2, 3\) and \(4,\)"):
        gg.zeros(2, 3).mul_(gg.ones(4))


def test_masked_fill_in_place_matches_torch() -> None:
    a = np.arange(6.0).reshape(2, 3)
    mask = np.array([True, False, True])
    t = torch.tensor(a).masked_fill_(torch.tensor(mask), -1.0)
    x = gg.tensor(a)
    assert x.masked_fill_(gg.tensor(mask), -1.0) is x and np.array_equal(x.numpy(), t.numpy())
    w = gg.tensor(a, requires_grad=True)  # on a non-leaf, recorded: the filled places get no gradient
    tw = torch.tensor(a, requires_grad=True)
    for m, leaf in ((gg, w), (torch, tw)):
        y = leaf * 2
        y.masked_fill_(m.tensor(mask), 0.0)
        y.sum().backward()
    assert np.array_equal(w.grad.numpy(), tw.grad.numpy())
    assert _raised(lambda: torch.ones(2, 3).masked_fill_(torch.ones(3), 1.0)) is RuntimeError
    with pytest.raises(RuntimeError, match="masked_fill_: .*bool"):
        gg.ones(2, 3).masked_fill_(gg.ones(3), 1.0)


def test_setitem_values_are_checked_before_writing() -> None:
    for m in (gg, torch):
        x = m.zeros(2, 3)
        x[0] = m.ones(1, 3)  # leading 1s of the value are dropped, as in PyTorch and NumPy
        x[m.tensor([1])] = 2.0
        assert x.tolist() == [[1.0] * 3, [2.0] * 3]
    for index, value in ((0, lambda m: m.ones(2, 1, 3)), (lambda m: m.tensor([0, 1]), lambda m: m.ones(3, 3))):
        for m in (torch, gg):
            x = m.zeros(2, 3)
            i = index(m) if callable(index) else index
            assert _raised(lambda x=x, i=i, m=m, value=value: x.__setitem__(i, value(m))) is RuntimeError
            assert x.tolist() == [[0.0] * 3] * 2
    for bad in (None, b"a"):
        assert _raised(lambda bad=bad: torch.zeros(2).__setitem__(0, bad)) is TypeError
        with pytest.raises(TypeError, match="setitem: can't assign a"):
            gg.zeros(2)[0] = bad
    with pytest.raises(TypeError, match="fill_: can't assign a str"):
        gg.zeros(2).fill_("a")


def test_manual_seed_takes_what_pytorch_takes() -> None:
    for seed in ("3", 2.5, True, -1, 2**64 - 1):
        torch.manual_seed(seed)
        gg.manual_seed(seed)
        assert gg.initial_seed() == torch.initial_seed()
    for seed in ("x", None, 2**64):
        theirs = _raised(lambda seed=seed: torch.manual_seed(seed))
        assert theirs is not None and _raised(lambda seed=seed: gg.manual_seed(seed)) is theirs
    gg.manual_seed(0)


def test_normal_and_uniform_check_their_arguments() -> None:
    for fn, want in (
        (lambda m: m.zeros(2).normal_(0.0, float("nan")), RuntimeError),
        (lambda m: m.zeros(2).uniform_(0.0, float("inf")), RuntimeError),
        (lambda m: m.zeros(2).uniform_("a", 1.0), TypeError),
        (lambda m: m.zeros(2, dtype=m.int64).normal_(), NotImplementedError),
        (lambda m: m.zeros(2, dtype=m.int64).uniform_(), NotImplementedError),
    ):
        assert _raised(lambda fn=fn: fn(torch)) is want
        assert _raised(lambda fn=fn: fn(gg)) is want
    x = gg.zeros(1000).uniform_(2.0, 2.0)  # an empty range [a, a) is accepted, as PyTorch
    assert x.tolist() == [2.0] * 1000
    assert float(gg.zeros(1000).normal_(5.0, 0.0).mean()) == 5.0
