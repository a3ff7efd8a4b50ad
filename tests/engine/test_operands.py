"""engine/ops/operands.py's argument parsers: float_operands, int_tuple ("int or tuple of ints") and
conv_padding (ints, "same", "valid"), and the ops and layers that use them, against PyTorch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn
from glassgrad.engine.ops.operands import conv_padding, float_operands, int_tuple


# ---------------------------------------------------------------- float_operands
def test_float_operands_promotes_to_one_float_dtype_and_passes_none() -> None:
    x, w, none = float_operands("op", gg.tensor([1, 2]), gg.ones(2, dtype=gg.float64), None)
    assert x.dtype == w.dtype == gg.float64 and none is None
    (only,) = float_operands("op", gg.tensor([1, 2]))
    assert only.dtype == gg.float32  # integers alone become the default float, as PyTorch's float ops


# ---------------------------------------------------------------- int_tuple
@pytest.mark.parametrize(
    ("value", "n", "want"),
    [(3, 2, (3, 3)), ((2,), 2, (2, 2)), ([1, 4], 2, (1, 4)), (np.int64(5), 1, (5,)), ((2, 3, 4), 3, (2, 3, 4))],
)
def test_int_tuple_spreads_an_int_or_a_single_entry(value: Any, n: int, want: tuple[int, ...]) -> None:
    assert int_tuple("op", "stride", value, n, 1) == want
    assert all(type(v) is int for v in int_tuple("op", "stride", value, n, 1))


def test_int_tuple_errors_name_the_op_and_value() -> None:
    with pytest.raises(TypeError, match=r"op: stride must be an int or a pair of ints, got 1.5"):
        int_tuple("op", "stride", 1.5, 2, 1)
    with pytest.raises(TypeError, match=r"op: stride must be an int or a pair of ints, got \(1, True\)"):
        int_tuple("op", "stride", (1, True), 2, 1)
    with pytest.raises(TypeError, match=r"op: padding must be an int or a 1-tuple, got 'same'"):
        int_tuple("op", "padding", "same", 1, 0)
    with pytest.raises(RuntimeError, match=r"op: expected stride to have 2 elements .*got \(1, 1, 1\)"):
        int_tuple("op", "stride", (1, 1, 1), 2, 1)
    with pytest.raises(RuntimeError, match=r"op: stride must be an int or a pair of ints ≥ 1, got \(1, 0\)"):
        int_tuple("op", "stride", (1, 0), 2, 1)
    with pytest.raises(RuntimeError, match=r"op: stride must be an int ≥ 1 or a 1-tuple, got \(1, 2\)"):
        int_tuple("op", "stride", (1, 2), 1, 1)
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be an int or a pair of ints ≥ 1, got 0"):
        int_tuple("Conv2d", "kernel_size", 0, 2, 1, error=ValueError)
    with pytest.raises(RuntimeError, match="expected kernel_size to have 2 elements"):
        int_tuple("unfold", "kernel_size", (2,), 2, one_for_all=False)


def _x4() -> tuple[gg.Tensor, torch.Tensor]:
    data = np.random.default_rng(0).standard_normal((1, 2, 7, 7))
    return gg.tensor(data), torch.tensor(data)


def _w4() -> tuple[gg.Tensor, torch.Tensor]:
    data = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
    return gg.tensor(data), torch.tensor(data)


def _x3() -> tuple[gg.Tensor, torch.Tensor]:
    data = np.random.default_rng(2).standard_normal((1, 2, 9))
    return gg.tensor(data), torch.tensor(data)


def _w3(k: int = 3) -> tuple[gg.Tensor, torch.Tensor]:
    data = np.random.default_rng(3).standard_normal((3, 2, k))
    return gg.tensor(data), torch.tensor(data)


# (id, call(f, x4, w4, x3, w3)): f is glassgrad's or PyTorch's functional module
PARSED_CALLS: list[tuple[str, Callable[..., Any]]] = [
    ("conv2d stride 1.5", lambda f, x, w, x1, w1: f.conv2d(x, w, stride=1.5)),
    ("conv2d stride True", lambda f, x, w, x1, w1: f.conv2d(x, w, stride=True)),
    ("conv2d stride str", lambda f, x, w, x1, w1: f.conv2d(x, w, stride="1")),
    ("conv2d stride 3 values", lambda f, x, w, x1, w1: f.conv2d(x, w, stride=(1, 1, 1))),
    ("conv2d stride 0", lambda f, x, w, x1, w1: f.conv2d(x, w, stride=0)),
    ("conv2d padding -1", lambda f, x, w, x1, w1: f.conv2d(x, w, padding=-1)),
    ("conv2d padding 1.5", lambda f, x, w, x1, w1: f.conv2d(x, w, padding=1.5)),
    ("conv2d padding 'full'", lambda f, x, w, x1, w1: f.conv2d(x, w, padding="full")),
    ("conv2d same strided", lambda f, x, w, x1, w1: f.conv2d(x, w, padding="same", stride=2)),
    ("conv2d dilation 0", lambda f, x, w, x1, w1: f.conv2d(x, w, dilation=0)),
    ("conv1d stride 2 values", lambda f, x, w, x1, w1: f.conv1d(x1, w1, stride=(1, 1))),
    ("conv1d stride 0", lambda f, x, w, x1, w1: f.conv1d(x1, w1, stride=0)),
    ("conv1d stride 1.5", lambda f, x, w, x1, w1: f.conv1d(x1, w1, stride=1.5)),
    ("conv1d same strided", lambda f, x, w, x1, w1: f.conv1d(x1, w1, padding="same", stride=2)),
    ("conv_transpose2d stride 0", lambda f, x, w, x1, w1: f.conv_transpose2d(x, w.transpose(0, 1), stride=0)),
    ("conv_transpose2d stride 1.5", lambda f, x, w, x1, w1: f.conv_transpose2d(x, w.transpose(0, 1), stride=1.5)),
    ("conv_transpose2d 'same'", lambda f, x, w, x1, w1: f.conv_transpose2d(x, w.transpose(0, 1), padding="same")),
    ("max_pool2d kernel 0", lambda f, x, w, x1, w1: f.max_pool2d(x, 0)),
    ("max_pool2d kernel 1.5", lambda f, x, w, x1, w1: f.max_pool2d(x, 1.5)),
    ("max_pool2d kernel 3 values", lambda f, x, w, x1, w1: f.max_pool2d(x, (2, 2, 2))),
    ("max_pool2d stride 0", lambda f, x, w, x1, w1: f.max_pool2d(x, 2, 0)),
    ("max_pool2d padding -1", lambda f, x, w, x1, w1: f.max_pool2d(x, 2, padding=-1)),
    ("max_pool2d dilation 0", lambda f, x, w, x1, w1: f.max_pool2d(x, 2, dilation=0)),
    ("avg_pool2d kernel 1.5", lambda f, x, w, x1, w1: f.avg_pool2d(x, 1.5)),
    ("avg_pool2d kernel 3 values", lambda f, x, w, x1, w1: f.avg_pool2d(x, (2, 2, 2))),
    ("max_pool1d kernel 2 values", lambda f, x, w, x1, w1: f.max_pool1d(x1, (2, 2))),
    ("max_pool1d kernel 1.5", lambda f, x, w, x1, w1: f.max_pool1d(x1, 1.5)),
    ("max_pool1d kernel 0", lambda f, x, w, x1, w1: f.max_pool1d(x1, 0)),
    ("avg_pool1d kernel 2 values", lambda f, x, w, x1, w1: f.avg_pool1d(x1, (2, 2))),
    ("unfold kernel 1.5", lambda f, x, w, x1, w1: f.unfold(x, 1.5)),
    ("unfold kernel True", lambda f, x, w, x1, w1: f.unfold(x, True)),
    ("unfold kernel 1 value", lambda f, x, w, x1, w1: f.unfold(x, (2,))),
    ("unfold kernel 3 values", lambda f, x, w, x1, w1: f.unfold(x, (2, 2, 2))),
    ("unfold kernel 0", lambda f, x, w, x1, w1: f.unfold(x, 0)),
    ("unfold padding -1", lambda f, x, w, x1, w1: f.unfold(x, 2, padding=-1)),
    ("fold output 1 value", lambda f, x, w, x1, w1: f.fold(x.reshape(1, 2, 49)[:, :, :16].repeat(1, 2, 1), (5,), 2)),
]


def _raised(call: Callable[[], Any]) -> BaseException | None:
    try:
        call()
    except Exception as err:  # the test compares whatever each library raises
        return err
    return None


@pytest.mark.parametrize(("name", "call"), PARSED_CALLS, ids=[c[0] for c in PARSED_CALLS])
def test_bad_int_or_tuple_arguments_raise_what_pytorch_raises(name: str, call: Callable[..., Any]) -> None:
    (x, tx), (w, tw), (x1, tx1), (w1, tw1) = _x4(), _w4(), _x3(), _w3()
    theirs = _raised(lambda: call(TF, tx, tw, tx1, tw1))
    ours = _raised(lambda: call(F, x, w, x1, w1))
    assert theirs is not None, f"{name}: PyTorch accepts it"
    assert isinstance(ours, type(theirs)), f"{name}: ours {ours!r} vs PyTorch {theirs!r}"
    op = name.split()[0]
    assert str(ours).startswith(f"{op}: "), ours


@pytest.mark.parametrize(
    "call",
    [
        lambda f, x, w, x1, w1: f.conv2d(x, w, stride=(2,)),  # one entry stands for both dims
        lambda f, x, w, x1, w1: f.conv2d(x, w, padding=[1], dilation=np.int64(2)),
        lambda f, x, w, x1, w1: f.max_pool2d(x, (2,), stride=[1, 2]),
        lambda f, x, w, x1, w1: f.avg_pool2d(x, 3, (2,), padding=(1,)),
        lambda f, x, w, x1, w1: f.max_pool1d(x1, (3,), 2, padding=1),
        lambda f, x, w, x1, w1: f.conv1d(x1, w1, stride=(2,), padding=(1,), dilation=(2,)),
        lambda f, x, w, x1, w1: f.conv_transpose2d(x, w.transpose(0, 1), stride=(2,), output_padding=1),
    ],
)
def test_int_or_tuple_arguments_parse_as_pytorch(call: Callable[..., Any]) -> None:
    (x, tx), (w, tw), (x1, tx1), (w1, tw1) = _x4(), _w4(), _x3(), _w3()
    ours, theirs = call(F, x, w, x1, w1), call(TF, tx, tw, tx1, tw1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- conv_padding ("same", "valid", ints)
@pytest.mark.parametrize(
    ("padding", "kernel", "dilation", "want"),
    [
        (1, (3, 3), (1, 1), ((1, 1), (1, 1))),
        ("valid", (3, 5), (1, 1), ((0, 0), (0, 0))),
        ("same", (3, 4), (1, 1), ((1, 1), (1, 2))),  # an odd total: the extra zero goes after
        ("same", (4,), (3,), ((4,), (5,))),
    ],
)
def test_conv_padding_before_and_after(padding: Any, kernel: tuple, dilation: tuple, want: tuple) -> None:
    assert conv_padding("conv2d", padding, kernel, dilation, (1,) * len(kernel)) == want


def test_conv_padding_errors() -> None:
    with pytest.raises(RuntimeError, match=r"conv2d: padding must be 'same', 'valid' or ints, got 'full'"):
        conv_padding("conv2d", "full", (3, 3), (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' is not supported for strided convolutions"):
        conv_padding("Conv2d", "same", (3, 3), (1, 1), (2, 1), error=ValueError)


@pytest.mark.parametrize(("kernel", "dilation"), [(3, 1), (4, 1), ((2, 5), (3, 1)), ((4, 3), 2)])
def test_same_padding_matches_pytorch_in_f_and_in_layers(kernel: Any, dilation: Any) -> None:
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 3, 9, 8))
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    weight = rng.standard_normal((4, 3, kh, kw))
    x, w = gg.tensor(data, requires_grad=True), gg.tensor(weight, requires_grad=True)
    tx, tw = torch.tensor(data, requires_grad=True), torch.tensor(weight, requires_grad=True)
    ours, theirs = (
        F.conv2d(x, w, padding="same", dilation=dilation),
        TF.conv2d(tx, tw, padding="same", dilation=dilation),
    )
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-10)

    layer = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation, dtype=gg.float64)
    twin = torch.nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(torch.tensor(layer.weight.detach().numpy()))
        twin.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    np.testing.assert_allclose(
        layer(gg.tensor(data)).detach().numpy(), twin(torch.tensor(data)).detach().numpy(), rtol=1e-10, atol=1e-10
    )
    assert repr(layer) == repr(twin)


@pytest.mark.parametrize("kernel", [2, 3, 4])
def test_conv1d_same_and_valid_padding_match_pytorch(kernel: int) -> None:
    (x1, tx1), (w1, tw1) = _x3(), _w3(kernel)
    for padding in ("same", "valid"):
        ours, theirs = F.conv1d(x1, w1, padding=padding, dilation=2), TF.conv1d(tx1, tw1, padding=padding, dilation=2)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
        layer = nn.Conv1d(2, 3, kernel, padding=padding, dtype=gg.float64)
        assert layer(x1[0]).shape == tuple(torch.nn.Conv1d(2, 3, kernel, padding=padding)(tx1[0].float()).shape)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda m: m.Conv2d(1, 1, 3, padding="full"), ValueError),
        (lambda m: m.Conv2d(1, 1, 3, padding="same", stride=2), ValueError),
        (lambda m: m.Conv1d(1, 1, 3, padding="same", stride=(2,)), ValueError),
    ],
)
def test_layer_padding_strings_are_checked_at_construction_as_pytorch(
    build: Callable[[Any], Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        build(torch.nn)
    with pytest.raises(error, match=r"Conv[12]d: "):
        build(nn)


def test_layer_int_tuples_are_checked_at_construction() -> None:
    """PyTorch's layers store these and fail only at forward; ours refuse them when the layer is made."""
    with pytest.raises(ValueError, match=r"Conv2d: expected kernel_size to have 2 elements"):
        nn.Conv2d(1, 1, (3, 3, 3))
    with pytest.raises(ValueError, match=r"Conv1d: stride must be an int ≥ 1 or a 1-tuple, got 0"):
        nn.Conv1d(1, 1, 3, stride=0)
    with pytest.raises(TypeError, match=r"ConvTranspose2d: padding must be an int or a pair of ints, got 'same'"):
        nn.ConvTranspose2d(1, 1, 3, padding="same")
    assert nn.Conv2d(1, 1, (3,), stride=[2]).kernel_size == (3, 3)
