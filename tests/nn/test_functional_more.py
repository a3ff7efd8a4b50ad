"""nn.functional additions (activations, pad modes, interpolate, pixel shuffle) and their modules:
options, special values, kink conventions and bad inputs, each case run in PyTorch too."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F

from oracle import compare_with_torch

NAN, INF = float("nan"), float("inf")
SPECIALS = [NAN, -INF, INF, -6.0, -3.0, -1.0, -0.0, 0.0, 1.0, 3.0, 6.0, 2.5, -2.5, 30.0, -30.0]

ACTIVATIONS = {
    "relu": (F.relu, TF.relu),
    "relu6": (F.relu6, TF.relu6),
    "hardtanh": (F.hardtanh, TF.hardtanh),
    "hardtanh_0_6": (lambda x: F.hardtanh(x, 0.0, 6.0), lambda x: TF.hardtanh(x, 0.0, 6.0)),
    "hardtanh_-3_3": (lambda x: F.hardtanh(x, -3.0, 3.0), lambda x: TF.hardtanh(x, -3.0, 3.0)),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "hardswish": (F.hardswish, TF.hardswish),
    "elu": (F.elu, TF.elu),
    "elu_0.5": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    "celu": (F.celu, TF.celu),
    "celu_2": (lambda x: F.celu(x, 2.0), lambda x: TF.celu(x, 2.0)),
    "selu": (F.selu, TF.selu),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "mish": (F.mish, TF.mish),
    "softsign": (F.softsign, TF.softsign),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid),
    "threshold": (lambda x: F.threshold(x, 1.0, -5.0), lambda x: TF.threshold(x, 1.0, -5.0)),
    "hardshrink": (F.hardshrink, TF.hardshrink),
    "hardshrink_1": (lambda x: F.hardshrink(x, 1.0), lambda x: TF.hardshrink(x, 1.0)),
    "softshrink": (F.softshrink, TF.softshrink),
    "softshrink_3": (lambda x: F.softshrink(x, 3.0), lambda x: TF.softshrink(x, 3.0)),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink),
    "prelu": (
        lambda x: F.prelu(x, gg.tensor([0.25], dtype=x.dtype)),
        lambda x: TF.prelu(x, torch.tensor([0.25], dtype=x.dtype)),
    ),
}


def _both(fn_gg, fn_t, values, dtype="float64", upstream=None):
    """Forward and backward of the same values in glassgrad and PyTorch (NaN-aware comparison)."""
    a = np.asarray(values, dtype=dtype)
    g = np.arange(1.0, a.size + 1).reshape(a.shape).astype(dtype) if upstream is None else upstream
    x = gg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y, yt = fn_gg(x), fn_t(t)
    y.backward(gg.tensor(g))
    yt.backward(torch.tensor(g))
    return y.detach().numpy(), yt.detach().numpy(), x.grad.numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_special_values_and_kinks_match_torch(name: str, dtype: str) -> None:
    """NaN, ±inf, ±0 and each kink (0, ±1, ±3, 6): same values and same gradient as PyTorch.

    Each value goes through PyTorch as a one-element tensor: PyTorch's CPU kernels run a vectorised
    loop over whole chunks and a scalar loop over the tail, and at NaN the two disagree for hardtanh,
    relu6, hardswish and the elu family (the vectorised loop gives 0 or NaN, the scalar loop, which is
    the kernel as written, passes g). glassgrad follows the scalar loop, for every position."""
    fn_gg, fn_t = ACTIVATIONS[name]
    tol = 1e-6 if dtype == "float32" else 1e-12
    y, _, gx, _ = _both(fn_gg, fn_t, SPECIALS, dtype=dtype)
    for i, v in enumerate(SPECIALS):
        _, yt, _, gt = _both(fn_gg, fn_t, [v], dtype=dtype, upstream=np.array([i + 1.0], dtype=dtype))
        np.testing.assert_allclose(y[i : i + 1], yt, rtol=tol, atol=tol, equal_nan=True, err_msg=f"forward at {v}")
        np.testing.assert_allclose(gx[i : i + 1], gt, rtol=tol, atol=tol, equal_nan=True, err_msg=f"gradient at {v}")


def test_nan_gradient_in_torch_depends_on_the_position_ours_does_not() -> None:
    """The reason the test above feeds PyTorch one element at a time (float64: chunks of 8)."""
    t = torch.full((20,), NAN, dtype=torch.float64, requires_grad=True)
    TF.hardtanh(t).sum().backward()
    assert t.grad[0].item() == 0.0 and t.grad[-1].item() == 1.0  # vectorised body vs scalar tail
    x = gg.full((20,), NAN, dtype=gg.float64, requires_grad=True)
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [1.0] * 20


def test_relu_passes_the_upstream_gradient_at_nan_like_torch() -> None:
    """PyTorch's threshold_backward zeroes the gradient only where x ≤ 0, so at NaN it passes g."""
    x = gg.tensor([NAN, -1.0, 0.0, 2.0], requires_grad=True)
    gg.nn.functional.relu(x).backward(gg.tensor([5.0, 6.0, 7.0, 8.0]))
    t = torch.tensor([NAN, -1.0, 0.0, 2.0], requires_grad=True)
    TF.relu(t).backward(torch.tensor([5.0, 6.0, 7.0, 8.0]))
    assert t.grad.tolist() == [5.0, 0.0, 0.0, 8.0]
    assert x.grad.tolist() == [5.0, 0.0, 0.0, 8.0]
    # and an infinite upstream gradient where x ≤ 0 gives 0, not NaN (a select, not a product)
    x = gg.tensor([-1.0, 1.0], requires_grad=True)
    t = torch.tensor([-1.0, 1.0], requires_grad=True)
    x.relu().backward(gg.tensor([INF, INF]))
    t.relu().backward(torch.tensor([INF, INF]))
    assert x.grad.tolist() == t.grad.tolist() == [0.0, INF]


def test_kink_conventions_spelled_out() -> None:
    """The gradient at each boundary, as PyTorch gives it (the table above checks against torch too)."""

    def grad(fn, values):
        x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
        fn(x).sum().backward()
        return x.grad.tolist()

    assert grad(lambda x: F.hardtanh(x, -1.0, 2.0), [-1.0, 2.0, 0.0, NAN]) == [0.0, 0.0, 1.0, 1.0]
    assert grad(F.relu6, [0.0, 6.0, 3.0, NAN]) == [0.0, 0.0, 1.0, 1.0]
    assert grad(F.hardswish, [-3.0, 3.0, NAN]) == [0.0, 1.0, 1.0]
    h = grad(F.hardsigmoid, [-3.0, 3.0, 0.0, NAN])
    assert h[0] == h[1] == h[3] == 0.0 and h[2] == pytest.approx(1 / 6)
    assert grad(lambda x: F.elu(x, 0.5), [0.0])[0] == pytest.approx(0.5)  # the x ≤ 0 branch at 0
    assert grad(F.selu, [0.0])[0] == pytest.approx(1.0507009873554805 * 1.6732632423543772)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
@pytest.mark.parametrize(
    "name",
    [
        "relu",
        "relu6",
        "hardtanh",
        "hardsigmoid",
        "hardswish",
        "elu",
        "celu",
        "selu",
        "mish",
        "logsigmoid",
        "threshold",
        "hardshrink",
        "softshrink",
    ],
)
def test_activation_integer_and_bool_inputs_like_torch(name: str, dtype: torch.dtype) -> None:
    """relu/relu6/hardtanh keep an integer dtype and refuse bool; the others refuse both (NotImplementedError)."""
    values = [-3, -1, 0, 2, 7] if dtype != torch.bool else [True, False]
    t = torch.tensor(values, dtype=dtype)
    x = gg.tensor(np.array(values, dtype=str(t.numpy().dtype)))
    fn_gg, fn_t = ACTIVATIONS[name]
    try:
        expected = fn_t(t)
    except Exception as err:  # the type is what we compare
        with pytest.raises(type(err), match=name.split("_")[0]):
            fn_gg(x)
        return
    got = fn_gg(x)
    assert str(got.dtype) == str(expected.numpy().dtype)
    assert got.tolist() == expected.tolist()


def test_softsign_on_integers_is_float_like_torch() -> None:
    t = TF.softsign(torch.arange(-2, 3))
    x = F.softsign(gg.arange(-2, 3))
    assert x.dtype == gg.float32 and t.dtype == torch.float32
    np.testing.assert_allclose(x.numpy(), t.numpy())


def test_activation_bad_options_like_torch() -> None:
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        TF.hardtanh(torch.zeros(2), 2.0, 1.0)
    with pytest.raises(ValueError, match=r"hardtanh: min_val cannot be greater than max_val.*min_val=2.0"):
        F.hardtanh(gg.zeros(2), 2.0, 1.0)
    assert (
        F.hardtanh(gg.tensor([0.0, 5.0]), 1.0, 1.0).tolist() == TF.hardtanh(torch.tensor([0.0, 5.0]), 1.0, 1.0).tolist()
    )
    with pytest.raises(RuntimeError, match="alpha cannot be 0"):
        TF.celu(torch.zeros(2), 0.0)
    with pytest.raises(RuntimeError, match="celu: .*alpha cannot be 0"):
        F.celu(gg.zeros(2), 0.0)
    with pytest.raises(AssertionError):
        torch.nn.Hardtanh(1.0, 1.0)
    with pytest.raises(AssertionError, match="Hardtanh"):
        nn.Hardtanh(1.0, 1.0)
    # negative alpha is allowed by both
    compare_with_torch(lambda a: F.celu(a, -1.5), lambda a: TF.celu(a, -1.5), [np.linspace(-2, 2, 9)])


def test_glu_like_torch() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 6, 4))
    for dim in (0, 1, -1, -2):
        compare_with_torch(lambda x, d=dim: F.glu(x, d), lambda x, d=dim: TF.glu(x, d), [a])
    for bad, dim in [((2, 3), -1), ((), -1), ((4, 3), 2), ((4, 3), -3)]:
        t_arr = torch.zeros(bad)
        with pytest.raises(Exception) as expected:  # the type is read from torch
            TF.glu(t_arr, dim)
        with pytest.raises(expected.type, match="glu"):
            F.glu(gg.zeros(bad), dim)


def test_softmin_options_like_torch() -> None:
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.softmin(torch.tensor(a))  # 3-d: the legacy dim is 0
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        got = F.softmin(gg.tensor(a))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)
    got = F.softmin(gg.tensor(a, dtype=gg.float32), 1, dtype=gg.float64)
    expected = TF.softmin(torch.tensor(a, dtype=torch.float32), 1, dtype=torch.float64)
    assert got.dtype == gg.float64 and expected.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)
    with pytest.raises(IndexError):
        TF.softmin(torch.zeros(2, 3), 3)
    with pytest.raises(IndexError, match="softmax"):
        F.softmin(gg.zeros(2, 3), 3)
    with pytest.raises(NotImplementedError):
        TF.softmin(torch.arange(3), 0)
    with pytest.raises(NotImplementedError, match="softmin"):
        F.softmin(gg.arange(3), 0)


def test_normalize_options_and_zero_vectors_like_torch() -> None:
    a = np.random.default_rng(2).standard_normal((2, 3, 4))
    for kw in [{}, {"dim": 0}, {"p": 1.0}, {"p": INF, "dim": -1}, {"dim": (1, 2)}, {"p": 2, "dim": 2, "eps": 0.5}]:
        compare_with_torch(lambda x, k=kw: F.normalize(x, **k), lambda x, k=kw: TF.normalize(x, **k), [a])
    # a zero (or tiny) vector is divided by eps: forward 0, gradient g/eps
    for rows in (np.zeros((2, 3)), np.array([[1e-13, 0.0, 0.0]])):
        compare_with_torch(F.normalize, TF.normalize, [rows])
    with pytest.raises(IndexError):
        TF.normalize(torch.zeros(4))  # dim=1 on a 1-d tensor
    with pytest.raises(IndexError, match="norm"):
        F.normalize(gg.zeros(4))
    with pytest.raises(RuntimeError):
        TF.normalize(torch.arange(4).reshape(2, 2))
    with pytest.raises(RuntimeError, match="normalize"):
        F.normalize(gg.arange(4).reshape(2, 2))


def test_prelu_weight_gradient_and_bad_weights_like_torch() -> None:
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3, 4)), np.array([0.1, 0.2, 0.3])
    compare_with_torch(F.prelu, TF.prelu, [x, w])  # dL/da = Σ g·x over x ≤ 0, per channel
    compare_with_torch(F.prelu, TF.prelu, [np.array(-1.5), np.array(0.2)])  # 0-d input and weight
    for shape, wshape in [((2, 3, 4), (4,)), ((3,), (3,)), ((), (3,)), ((2, 3), (3, 1))]:
        _same_error(
            lambda s=shape, ws=wshape: F.prelu(gg.zeros(s), gg.ones(ws)),
            lambda s=shape, ws=wshape: TF.prelu(torch.zeros(s), torch.ones(ws)),
        )
    _same_error(lambda: F.prelu(gg.arange(3), gg.tensor([1])), lambda: TF.prelu(torch.arange(3), torch.tensor([1])))
    _same_error(lambda: F.softshrink(gg.zeros(3), -1.0), lambda: TF.softshrink(torch.zeros(3), -1.0))
    _same_error(
        lambda: F.prelu(gg.zeros(3, dtype=gg.float64), gg.ones(1)),
        lambda: TF.prelu(torch.zeros(3, dtype=torch.float64), torch.ones(1)),
    )
    got, expected = F.threshold(gg.arange(5), 2, -1), TF.threshold(torch.arange(5), 2, -1)
    assert got.tolist() == expected.tolist() and str(got.dtype) == "int64"


def test_prelu_module_trains_its_slope_like_torch() -> None:
    ours, theirs = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(ours) == repr(theirs) and ours.weight.shape == tuple(theirs.weight.shape)
    a = np.random.default_rng(8).standard_normal((2, 3, 5)).astype(np.float32)
    ours(gg.tensor(a)).sum().backward()
    theirs(torch.tensor(a)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


MODULES = [
    (lambda m: m.ReLU6(), {}),
    (lambda m: m.Hardtanh(), {}),
    (lambda m: m.Hardtanh(-2.0, 3.0), {}),
    (lambda m: m.CELU(0.5), {}),
    (lambda m: m.SELU(), {}),
    (lambda m: m.Hardsigmoid(), {}),
    (lambda m: m.Hardswish(), {}),
    (lambda m: m.Mish(), {}),
    (lambda m: m.Softsign(), {}),
    (lambda m: m.LogSigmoid(), {}),
    (lambda m: m.Softmin(dim=1), {}),
    (lambda m: m.GLU(), {}),
    (lambda m: m.GLU(dim=1), {}),
    (lambda m: m.ReLU6(inplace=True), {}),
    (lambda m: m.SELU(inplace=True), {}),
    (lambda m: m.CELU(inplace=True), {}),
    (lambda m: m.Threshold(0.1, 20.0), {}),
    (lambda m: m.Threshold(0.1, 20.0, inplace=True), {}),
    (lambda m: m.Hardshrink(), {}),
    (lambda m: m.Hardshrink(0.3), {}),
    (lambda m: m.Softshrink(), {}),
    (lambda m: m.Softshrink(1.5), {}),
    (lambda m: m.Tanhshrink(), {}),
    (lambda m: m.PReLU(), {}),
]


@pytest.mark.parametrize("index", range(len(MODULES)))
def test_activation_modules_match_torch(index: int) -> None:
    make, _ = MODULES[index]
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    a = np.random.default_rng(index).uniform(-4, 4, (2, 4, 6))
    # PyTorch's inplace=True writes into its input, which a leaf that requires grad forbids: forward only;
    # float32, the dtype of PReLU's weight (neither library promotes it)
    compare_with_torch(ours, theirs, [a], dtype="float32", grad=not getattr(theirs, "inplace", False))


# ------------------------------------------------------------------ F.pad


def _same_error(fn_gg, fn_t):
    """Both raise, with the same exception type; ours names the op."""
    with pytest.raises(Exception) as expected:  # the type is read from torch
        fn_t()
    with pytest.raises(expected.type) as got:
        fn_gg()
    return str(got.value)


PAD_ERRORS = [
    ("reflect", (5,), (1, 2)),  # 1-d input: NotImplementedError
    ("reflect", (2, 5), (1, 2, 1, 1)),  # 2-d padding of a 2-d input
    ("replicate", (1, 1, 1, 2, 5), (1, 2, 1, 1)),  # 2-d padding of a 5-d input
    ("circular", (1, 1, 1, 1, 2, 5), (1, 1, 1, 1, 1, 1)),  # 6-d input
    ("reflect", (5,), (1, 2, 1, 1)),  # longer than 2 x ndim: RuntimeError
    ("reflect", (1, 2, 5), (5, 0)),  # reflect needs pad < n
    ("reflect", (1, 2, 5), (0, 11)),
    ("reflect", (1, 2, 3, 4), (1, 1, 3, 0)),
    ("reflect", (1, 1, 2, 5), (1, 1, 1, 1, 1, 1)),  # unbatched 3-d: C=1 is the depth here
    ("reflect", (1, 2, 5), (-3, -2)),  # output width 0
    ("replicate", (1, 2, 5), (-7, 1)),
    ("reflect", (1, 2, 0), (1, 1)),  # empty non-batch dims
    ("replicate", (1, 0, 4), (1, 1)),
    ("replicate", (0, 5), (1, 1)),
    ("circular", (1, 2, 5), (6, 0)),  # wraps more than once
    ("circular", (1, 2, 5), (0, 11)),
    ("circular", (1, 2, 0), (1, 1)),
    ("circular", (1, 2, 5), (-7, 1)),  # crops past the input
    ("reflect", (1, 2, 4), (1, 1, 1)),  # odd length
    ("constant", (1, 2, 4), (1, 1, 1)),
    ("constant", (1, 2, 4), (1, 1) * 4),
    ("foo", (1, 2, 4), (1, 1)),  # unknown mode: NotImplementedError
]


@pytest.mark.parametrize(("mode", "shape", "pad"), PAD_ERRORS)
def test_pad_bad_inputs_raise_like_torch(mode: str, shape: tuple[int, ...], pad: tuple[int, ...]) -> None:
    msg = _same_error(
        lambda: F.pad(gg.zeros(shape), pad, mode=mode), lambda: TF.pad(torch.zeros(shape), pad, mode=mode)
    )
    assert msg.startswith("pad:")


def test_pad_bad_arguments_like_torch() -> None:
    for mode in ("reflect", "replicate", "circular"):
        _same_error(
            lambda m=mode: F.pad(gg.zeros(1, 2, 3), (1, 1), m, 1.0),
            lambda m=mode: TF.pad(torch.zeros(1, 2, 3), (1, 1), m, 1.0),
        )
        _same_error(
            lambda m=mode: F.pad(gg.zeros(1, 2, 3), (1.0, 1), m),
            lambda m=mode: TF.pad(torch.zeros(1, 2, 3), (1.0, 1), m),
        )
    _same_error(lambda: F.pad(gg.zeros(1, 2, 3), 1), lambda: TF.pad(torch.zeros(1, 2, 3), 1))
    _same_error(lambda: F.pad([1.0, 2.0], (1, 1)), lambda: TF.pad([1.0, 2.0], (1, 1)))
    _same_error(lambda: F.pad([1.0, 2.0], (1, 1), "reflect"), lambda: TF.pad([1.0, 2.0], (1, 1), "reflect"))
    _same_error(lambda: F.pad(gg.zeros(3), (1.5, 1)), lambda: TF.pad(torch.zeros(3), (1.5, 1)))
    for mode in ("reflect", "replicate"):
        _same_error(
            lambda m=mode: F.pad(gg.ones(1, 2, 3, dtype=gg.bool), (1, 1), m),
            lambda m=mode: TF.pad(torch.ones(1, 2, 3, dtype=torch.bool), (1, 1), m),
        )


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_pad_options_dtypes_and_empty_batches_like_torch(mode: str) -> None:
    # value=0 (or None) is accepted by every mode; a list works as well as a tuple
    a = np.arange(24.0).reshape(2, 3, 4)
    for kw in ({}, {"value": 0.0}, {"value": None}):
        got = F.pad(gg.tensor(a), [1, 2], mode=mode, **kw)
        np.testing.assert_array_equal(got.numpy(), TF.pad(torch.tensor(a), [1, 2], mode=mode, **kw).numpy())
    # integer tensors keep their dtype (no gradient)
    i = np.arange(12, dtype=np.int32).reshape(1, 3, 4)
    got, expected = F.pad(gg.tensor(i), (2, 1), mode=mode), TF.pad(torch.tensor(i), (2, 1), mode=mode)
    assert str(got.dtype) == "int32" and expected.dtype == torch.int32
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    # an empty batch pads to an empty batch
    assert F.pad(gg.zeros(0, 2, 5), (1, 2), mode=mode).shape == tuple(
        TF.pad(torch.zeros(0, 2, 5), (1, 2), mode=mode).shape
    )


def test_pad_circular_of_bool_and_empty_channels_like_torch() -> None:
    b = np.array([[[True, False, False]]])
    np.testing.assert_array_equal(
        F.pad(gg.tensor(b), (1, 2), mode="circular").numpy(), TF.pad(torch.tensor(b), (1, 2), mode="circular").numpy()
    )
    for shape in [(0, 5), (1, 0, 4)]:
        assert F.pad(gg.zeros(shape), (1, 1), mode="circular").shape == tuple(
            TF.pad(torch.zeros(shape), (1, 1), mode="circular").shape
        )


def test_pad_gradients_accumulate_into_the_source_positions() -> None:
    """Hand-worked 1-d cases: each source position collects the gradient of every copy of it."""

    def grad(mode, pad, n=4):
        x = gg.arange(float(n)).reshape(1, 1, n).requires_grad_()
        y = F.pad(x, pad, mode=mode)
        y.backward(gg.ones(*y.shape))
        t = torch.arange(float(n)).reshape(1, 1, n).requires_grad_()
        TF.pad(t, pad, mode=mode).sum().backward()
        assert x.grad.tolist() == t.grad.tolist()
        return x.grad.reshape(-1).tolist(), y.detach().reshape(-1).tolist()

    # x = [0 1 2 3]; reflect (3, 2): [3 2 1 | 0 1 2 3 | 2 1]
    assert grad("reflect", (3, 2)) == ([1.0, 3.0, 3.0, 2.0], [3.0, 2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0])
    # replicate (3, 2): [0 0 0 | 0 1 2 3 | 3 3]
    assert grad("replicate", (3, 2)) == ([4.0, 1.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 3.0])
    # circular (4, 3): [0 1 2 3 | 0 1 2 3 | 0 1 2]
    assert grad("circular", (4, 3)) == ([3.0, 3.0, 3.0, 2.0], [0.0, 1.0, 2.0, 3.0] * 2 + [0.0, 1.0, 2.0])
    # negative widths crop: reflect (-1, 2) of [0 1 2 3] is [1 2 3 | 2 1]
    assert grad("reflect", (-1, 2)) == ([0.0, 2.0, 2.0, 1.0], [1.0, 2.0, 3.0, 2.0, 1.0])


def test_pad_backward_is_the_adjoint_with_a_random_upstream_gradient() -> None:
    """<pad(x), g> = <x, pad*(g)> for every mode, 2-d and 3-d, against PyTorch's gradient."""
    rng = np.random.default_rng(5)
    for mode in ("reflect", "replicate", "circular"):
        for shape, p in [((2, 3, 4, 5), (2, 1, 3, 2)), ((1, 2, 3, 4, 5), (1, 2, 2, 1, 2, 1))]:
            a = rng.standard_normal(shape)
            x, t = gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
            y, yt = F.pad(x, p, mode=mode), TF.pad(t, p, mode=mode)
            g = rng.standard_normal(y.shape)
            y.backward(gg.tensor(g))
            yt.backward(torch.tensor(g))
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
            assert np.sum(y.detach().numpy() * g) == pytest.approx(np.sum(a * x.grad.numpy()), rel=1e-12)


# ------------------------------------------------------------------ F.interpolate, Upsample, pixel shuffle

INTERP_ERRORS = [
    ((2, 3, 5), {"size": 4, "mode": "bilinear"}),  # NotImplementedError: 3-d input, 4-d mode
    ((2, 3, 4, 5), {"size": 4, "mode": "linear"}),
    ((2, 3, 5), {"size": 4, "mode": "bicubic"}),
    ((1, 2, 3, 4, 5), {"size": 4, "mode": "bilinear"}),
    ((3, 5), {"size": 4}),  # 2-d input
    ((1, 1, 1, 1, 1, 3), {"size": 4}),
    ((2, 3, 5), {"size": 4, "mode": "foo"}),
    ((2, 3, 5), {"size": 4, "align_corners": True}),  # ValueError: align_corners with nearest
    ((2, 3, 5), {"size": 4, "mode": "nearest-exact", "align_corners": False}),
    ((2, 3, 5), {"size": 4, "scale_factor": 2.0}),  # both
    ((2, 3, 5), {}),  # neither
    ((2, 3, 5), {"size": (4, 4)}),  # wrong number of spatial dims
    ((2, 3, 5), {"scale_factor": (2.0, 2.0)}),
    ((2, 3, 5), {"size": 4, "recompute_scale_factor": True}),
    ((2, 3, 5), {"size": 0}),  # RuntimeError: output size 0
    ((2, 3, 5), {"scale_factor": 0.1}),
    ((2, 3, 5), {"size": -2}),
    ((2, 3, 5), {"scale_factor": -2.0}),
    ((1, 2, 0), {"size": 7}),  # empty spatial input
    ((1, 0, 5), {"size": 7, "mode": "linear"}),  # empty channels
    ((2, 3, 4, 5), {"size": (None, 4)}),  # TypeError
    ((2, 3, 4, 5), {"size": 3, "antialias": True}),  # ValueError: antialias needs bilinear/bicubic
    ((2, 3, 5), {"size": 3, "mode": "area", "align_corners": False}),
    ((1, 2, 0), {"size": 3, "mode": "area"}),  # area: empty spatial input
    ((1, 2, 5), {"size": -1, "mode": "area"}),
]


@pytest.mark.parametrize(("shape", "kw"), INTERP_ERRORS)
def test_interpolate_bad_inputs_raise_like_torch(shape: tuple[int, ...], kw: dict) -> None:
    msg = _same_error(lambda: F.interpolate(gg.zeros(shape), **kw), lambda: TF.interpolate(torch.zeros(shape), **kw))
    assert msg.startswith("interpolate:")


def test_interpolate_dtypes_like_torch() -> None:
    u = np.arange(10, dtype=np.uint8).reshape(1, 2, 5)
    for mode in ("nearest", "nearest-exact"):
        got, expected = (
            F.interpolate(gg.tensor(u), size=7, mode=mode),
            TF.interpolate(torch.tensor(u), size=7, mode=mode),
        )
        assert str(got.dtype) == "uint8" and expected.dtype == torch.uint8
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    for dtype, mode in [(np.int64, "nearest"), (np.int64, "linear"), (np.bool_, "nearest"), (np.int64, "area")]:
        a = np.ones((1, 2, 5), dtype=dtype)
        _same_error(
            lambda a=a, m=mode: F.interpolate(gg.tensor(a), size=7, mode=m),
            lambda a=a, m=mode: TF.interpolate(torch.tensor(a), size=7, mode=m),
        )
    # float16 goes through float32 index arithmetic, as in PyTorch
    h = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float16)
    got = F.interpolate(gg.tensor(h), scale_factor=1.7, mode="bilinear")
    expected = TF.interpolate(torch.tensor(h), scale_factor=1.7, mode="bilinear")
    assert str(got.dtype) == "float16"
    np.testing.assert_allclose(got.numpy().astype(np.float32), expected.numpy().astype(np.float32), atol=2e-3)
    # an empty batch resamples to an empty batch; area allows empty channels and an output size of 0
    assert F.interpolate(gg.zeros(0, 2, 5), size=7).shape == tuple(TF.interpolate(torch.zeros(0, 2, 5), size=7).shape)
    for shape, size in [((1, 0, 5), 3), ((1, 2, 5), 0), ((0, 2, 5), 3)]:
        got = F.interpolate(gg.zeros(shape), size=size, mode="area")
        assert got.shape == tuple(TF.interpolate(torch.zeros(shape), size=size, mode="area").shape)


def _arange_source(fn_gg, fn_t, shape):
    """Which input pixel each output pixel reads (nearest modes): interpolate the pixel numbers."""
    a = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    return fn_gg(gg.tensor(a)).numpy(), fn_t(torch.tensor(a)).numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_interpolate_nearest_source_indices_exactly_as_torch(dtype: str) -> None:
    """Every size 1..40 to every size 1..60 and a set of scale factors, 3-d and 4-d input: the same pixel."""
    for mode in ("nearest", "nearest-exact"):
        for n_in in (1, 2, 3, 5, 7, 10, 13, 24, 40):
            cases = [{"size": n} for n in range(1, 61)]
            cases += [
                {"scale_factor": s} for s in (0.3, 0.5, 0.7, 1.1, 1.3, 1.5, 2.0, 2.3, 2.5, 3.0, 1 / 3, 2 / 3, 0.7)
            ]
            for kw in cases:
                if "scale_factor" in kw and int(n_in * kw["scale_factor"]) < 1:
                    continue
                for shape, kw2 in (((1, 1, n_in), kw), ((1, 1, n_in, 2), {k: (v, 1) for k, v in kw.items()})):
                    a = np.arange(math.prod(shape), dtype=dtype).reshape(shape)
                    got = F.interpolate(gg.tensor(a), mode=mode, **kw2).numpy()
                    expected = TF.interpolate(torch.tensor(a), mode=mode, **kw2).numpy()
                    np.testing.assert_array_equal(got, expected, err_msg=f"{mode} {shape} {kw2}")


def test_interpolate_options_like_torch() -> None:
    rng = np.random.default_rng(3)
    a3, a4 = rng.standard_normal((2, 3, 5)), rng.standard_normal((1, 2, 4, 5))
    cases = [
        (a3, {"scale_factor": 1.7, "mode": "linear", "recompute_scale_factor": True}),
        (a3, {"scale_factor": 1.7, "mode": "linear", "recompute_scale_factor": False}),
        (a3, {"scale_factor": 1.1, "mode": "linear"}),  # out = in: a copy, whatever the scale
        (a3, {"size": [9], "mode": "linear", "align_corners": True}),
        (a3, {"size": 1, "mode": "linear", "align_corners": True}),  # one output: pixel 0
        (a3, {"size": 1, "mode": "linear"}),
        (a4, {"scale_factor": (2.0, 1.3), "mode": "bicubic", "align_corners": False}),
        (a4, {"scale_factor": 1.3, "mode": "bicubic", "recompute_scale_factor": True}),
        (a4, {"size": (1, 1), "mode": "bicubic", "align_corners": True}),
        (a4, {"size": (9, 2), "mode": "bilinear", "align_corners": True}),
        (a4, {"size": 6}),
        (a4, {"scale_factor": 3}),
    ]
    for a, kw in cases:
        compare_with_torch(lambda x, kw=kw: F.interpolate(x, **kw), lambda x, kw=kw: TF.interpolate(x, **kw), [a])


def test_interpolate_backward_is_the_adjoint_with_a_random_upstream_gradient() -> None:
    rng = np.random.default_rng(4)
    for shape, kw in [
        ((2, 3, 5), {"size": 11, "mode": "linear"}),
        ((1, 2, 4, 5), {"size": (7, 3), "mode": "bilinear", "align_corners": True}),
        ((1, 2, 4, 5), {"scale_factor": 2.5, "mode": "bicubic"}),  # border taps clamp: they add up at the edge
        ((1, 2, 4, 5), {"size": (9, 11)}),
        ((1, 1, 2, 3, 4), {"size": (3, 5, 2), "mode": "trilinear"}),
    ]:
        a = rng.standard_normal(shape)
        x, t = gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = F.interpolate(x, **kw), TF.interpolate(t, **kw)
        g = rng.standard_normal(y.shape)
        y.backward(gg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert np.sum(y.detach().numpy() * g) == pytest.approx(np.sum(a * x.grad.numpy()), rel=1e-10)


def test_interpolate_nearest_gradient_is_the_adjoint_even_where_torch_is_not() -> None:
    """3 pixels by scale 1.3 give 3 outputs; PyTorch's forward reads [x0, x0, x1] (scale 1/1.3) but its
    backward uses the older index formula, which copies when out = in, so its gradient is not the
    adjoint of its forward. glassgrad's backward is the adjoint: x0 gets two gradients, x2 none."""
    t = torch.tensor([[[10.0, 20.0, 30.0]]], requires_grad=True)
    yt = TF.interpolate(t, scale_factor=1.3)
    yt.backward(torch.tensor([[[1.0, 2.0, 4.0]]]))
    x = gg.tensor([[[10.0, 20.0, 30.0]]], requires_grad=True)
    y = F.interpolate(x, scale_factor=1.3)
    y.backward(gg.tensor([[[1.0, 2.0, 4.0]]]))
    assert y.tolist() == yt.tolist() == [[[10.0, 10.0, 20.0]]]
    assert t.grad.tolist() == [[[1.0, 2.0, 4.0]]]  # PyTorch: not the adjoint
    assert x.grad.tolist() == [[[3.0, 4.0, 0.0]]]  # Σ over the outputs that read each pixel


def test_antialias_like_torch_and_where_torch_slips() -> None:
    rng = np.random.default_rng(10)
    a = rng.standard_normal((2, 2, 9, 12))
    for mode in ("bilinear", "bicubic"):
        for kw in [{"size": (4, 5)}, {"scale_factor": 0.3}, {"size": (13, 5), "align_corners": True}]:
            compare_with_torch(
                lambda x, m=mode, kw=kw: F.interpolate(x, mode=m, antialias=True, **kw),
                lambda x, m=mode, kw=kw: TF.interpolate(x, mode=m, antialias=True, **kw),
                [a],
            )
    # (1) a dim that keeps its size under a scale factor is copied by PyTorch's forward but filtered by its
    # backward, so PyTorch's gradient is not the adjoint there; ours is
    a = rng.standard_normal((1, 1, 3, 17))
    g = rng.standard_normal((1, 1, 3, 34))
    t, x = torch.tensor(a, requires_grad=True), gg.tensor(a, requires_grad=True)
    yt = TF.interpolate(t, scale_factor=(1.3, 2.0), mode="bilinear", antialias=True)
    y = F.interpolate(x, scale_factor=(1.3, 2.0), mode="bilinear", antialias=True)
    yt.backward(torch.tensor(g))
    y.backward(gg.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    assert np.sum(y.detach().numpy() * g) == pytest.approx(np.sum(a * x.grad.numpy()), rel=1e-12)
    assert abs(np.sum(yt.detach().numpy() * g) - np.sum(a * t.grad.numpy())) > 1e-3
    # (2) PyTorch's antialiased kernel repeats one row when the output is one pixel wide and the height
    # changes; resizing one dim at a time (each correct in PyTorch) gives the right answer, which is ours
    a = np.arange(28.0).reshape(1, 1, 4, 7) ** 2
    two_steps = TF.interpolate(
        TF.interpolate(torch.tensor(a), size=(2, 7), mode="bilinear", antialias=True),
        size=(2, 1),
        mode="bilinear",
        antialias=True,
    )
    direct = TF.interpolate(torch.tensor(a), size=(2, 1), mode="bilinear", antialias=True)
    ours = F.interpolate(gg.tensor(a), size=(2, 1), mode="bilinear", antialias=True)
    np.testing.assert_allclose(ours.numpy(), two_steps.numpy(), rtol=1e-12)
    assert direct[0, 0, 0, 0] == direct[0, 0, 1, 0]  # the repeated row
    assert ours[0, 0, 0, 0].item() < ours[0, 0, 1, 0].item()


def test_interpolate_special_values_like_torch() -> None:
    a = np.array([[[1.0, NAN, 3.0, INF, -2.0]]])
    for kw in [
        {"size": 9, "mode": "linear"},
        {"size": 5, "mode": "linear"},
        {"size": 3},
        {"size": 8, "mode": "nearest-exact"},
        {"size": 3, "mode": "area"},  # area: inf stays inf (no 0·inf from the padded taps)
        {"size": 2, "mode": "area"},
    ]:
        got = F.interpolate(gg.tensor(a), **kw).numpy()
        expected = TF.interpolate(torch.tensor(a), **kw).numpy()
        np.testing.assert_allclose(got, expected, equal_nan=True, rtol=1e-12)


UPSAMPLE_MODULES = [
    lambda m: m.Upsample(scale_factor=2),
    lambda m: m.Upsample(scale_factor=(2, 1.5), mode="nearest"),
    lambda m: m.Upsample(size=(5, 7), mode="bilinear"),
    lambda m: m.Upsample(size=(5, 7), mode="bilinear", align_corners=True),
    lambda m: m.Upsample(scale_factor=1.5, mode="bicubic", recompute_scale_factor=True),
    lambda m: m.Upsample(size=6, mode="nearest-exact"),
    lambda m: m.UpsamplingNearest2d(scale_factor=2),
    lambda m: m.UpsamplingBilinear2d(size=(3, 9)),
    lambda m: m.PixelShuffle(2),
    lambda m: m.PixelUnshuffle(2),
]


@pytest.mark.parametrize("index", range(len(UPSAMPLE_MODULES)))
def test_upsampling_modules_match_torch(index: int) -> None:
    ours, theirs = UPSAMPLE_MODULES[index](nn), UPSAMPLE_MODULES[index](torch.nn)
    assert repr(ours) == repr(theirs)
    a = np.random.default_rng(index).standard_normal((2, 4, 4, 6))
    compare_with_torch(ours, theirs, [a])


def test_upsample_without_size_or_scale_raises_like_torch() -> None:
    _same_error(lambda: nn.Upsample()(gg.zeros(1, 2, 3)), lambda: torch.nn.Upsample()(torch.zeros(1, 2, 3)))


def test_deprecated_upsample_functions_warn_and_match_torch() -> None:
    a = np.random.default_rng(6).standard_normal((1, 2, 3, 4))
    for name, kw in [
        ("upsample", {"scale_factor": 2, "mode": "bilinear"}),
        ("upsample_nearest", {"size": 5}),
        ("upsample_bilinear", {"size": (5, 6)}),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(TF, name)(torch.tensor(a), **kw)
        with pytest.warns(UserWarning, match="deprecated"):
            got = getattr(F, name)(gg.tensor(a), **kw)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


def test_pixel_shuffle_layout_and_bad_inputs_like_torch() -> None:
    a = np.arange(2 * 8 * 2 * 3, dtype=np.float64).reshape(2, 8, 2, 3)
    np.testing.assert_array_equal(
        F.pixel_shuffle(gg.tensor(a), 2).numpy(), TF.pixel_shuffle(torch.tensor(a), 2).numpy()
    )
    back = F.pixel_unshuffle(F.pixel_shuffle(gg.tensor(a), 2), 2)
    np.testing.assert_array_equal(back.numpy(), a)
    for fn, t_fn, shape, r in [
        (F.pixel_shuffle, TF.pixel_shuffle, (5, 2, 2), 2),  # 5 channels not divisible by 4
        (F.pixel_shuffle, TF.pixel_shuffle, (4, 2), 2),  # fewer than 3 dims
        (F.pixel_shuffle, TF.pixel_shuffle, (4, 2, 2), 0),
        (F.pixel_unshuffle, TF.pixel_unshuffle, (1, 3, 4), 2),  # height 3 not divisible
        (F.pixel_unshuffle, TF.pixel_unshuffle, (1, 4, 3), 2),  # width 3
        (F.pixel_unshuffle, TF.pixel_unshuffle, (1, 4, 4), -1),
    ]:
        msg = _same_error(
            lambda fn=fn, s=shape, r=r: fn(gg.zeros(s), r), lambda t_fn=t_fn, s=shape, r=r: t_fn(torch.zeros(s), r)
        )
        assert msg.startswith(fn.__name__)
    assert gg.pixel_shuffle is F.pixel_shuffle and hasattr(torch, "pixel_shuffle")


def test_torch_level_names_and_tensor_methods() -> None:
    """torch.celu/selu/threshold/hardshrink/prelu/pixel_shuffle and Tensor.hardshrink/prelu exist here too."""
    a = np.random.default_rng(9).standard_normal((2, 3, 4))
    x, t = gg.tensor(a), torch.tensor(a)
    for name in ("celu", "selu"):
        np.testing.assert_allclose(getattr(gg, name)(x).numpy(), getattr(torch, name)(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.threshold(x, 0.1, 2.0).numpy(), torch.threshold(t, 0.1, 2.0).numpy())
    np.testing.assert_allclose(x.hardshrink(0.3).numpy(), t.hardshrink(0.3).numpy())
    w = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(x.prelu(gg.tensor(w)).numpy(), t.prelu(torch.tensor(w)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.pixel_unshuffle(x, 1).numpy(), torch.pixel_unshuffle(t, 1).numpy())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, f: f.leaky_relu(m.ones(2), "a"), r"leaky_relu: argument 'negative_slope' must be Number, not str"),
        (lambda m, f: m.nn.LeakyReLU("a")(m.ones(2)), r"LeakyReLU: argument 'negative_slope' must be Number, not str"),
        (lambda m, f: f.elu(m.ones(2), "a"), r"elu: argument 'alpha' must be Number, not str"),
        (lambda m, f: f.softplus(m.ones(2), beta="a"), r"softplus: argument 'beta' must be Number, not str"),
        (lambda m, f: f.threshold(m.ones(2), "a", 0.0), r"threshold: argument 'threshold' must be Number, not str"),
        (lambda m, f: f.softshrink(m.ones(2), "a"), r"softshrink: argument 'lambd' must be Number, not str"),
        (lambda m, f: f.gelu(m.ones(2), approximate="fast"), r"gelu: .*'none' or 'tanh', got 'fast'"),
        (lambda m, f: f.gelu(m.ones(2), approximate=None), r"gelu: argument 'approximate' must be str, not NoneType"),
        (lambda m, f: f.normalize(m.ones(2, 3), dim=3), r"normalize: dim 3 is out of range"),
        (lambda m, f: f.one_hot(m.tensor([-1, 0])), r"one_hot: class values must be non-negative, got -1"),
    ],
)
def test_bad_scalar_arguments_raise_what_pytorch_raises(call, message: str) -> None:
    with pytest.raises(Exception) as theirs:  # the type is read from torch
        call(torch, TF)
    with pytest.raises(theirs.type, match=message):
        call(gg, F)


def test_gelu_module_refuses_a_bad_approximate_at_once() -> None:
    """PyTorch's GELU("fast") fails at the first call; ours at construction, with the same type."""
    with pytest.raises(RuntimeError):
        torch.nn.GELU("fast")(torch.ones(2))
    with pytest.raises(RuntimeError, match="GELU: .*'fast'"):
        nn.GELU("fast")
