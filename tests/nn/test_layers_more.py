"""Unfold/Fold, ConvTranspose2d, RMSNorm, ParameterList/ParameterDict, and the layers' dtype rules,
each against PyTorch: torch's module is built first, its state_dict is loaded into ours (so the
keys must be PyTorch's), and outputs, input gradients and every parameter gradient agree
(float64 to 1e-10, float32 to the oracle's tolerances). Bad inputs raise PyTorch's exception type."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn

from oracle import TOL, to_numpy

DTYPES = ["float32", "float64"]


def load_torch_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    """Copy ``theirs``'s state_dict into ``ours`` (strict: the keys must be the same, in the same order)."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: v.detach().numpy() for k, v in state.items()}, strict=True)


def check_against_torch(
    ours: nn.Module,
    theirs: torch.nn.Module,
    inputs: list[np.ndarray],
    dtype: str,
    **forward_kwargs: Any,
) -> gg.Tensor:
    """Same weights (torch's), same inputs: forward, input gradients and every parameter gradient agree."""
    theirs.to(getattr(torch, dtype))
    ours.to(getattr(gg, dtype))
    load_torch_weights(ours, theirs)
    xs = [gg.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in inputs]
    ts = [torch.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in inputs]
    out, expected = ours(*xs, **forward_kwargs), theirs(*ts, **forward_kwargs)
    assert out.dtype == getattr(gg, dtype) and tuple(out.shape) == tuple(expected.shape)
    fa, fr = TOL[dtype]["forward"]
    np.testing.assert_allclose(to_numpy(out), to_numpy(expected), atol=fa, rtol=fr, err_msg="forward")
    weights = np.random.default_rng(7).standard_normal(tuple(expected.shape))
    (out * gg.tensor(weights, dtype=getattr(gg, dtype))).sum().backward()
    (expected * torch.tensor(weights, dtype=getattr(torch, dtype))).sum().backward()
    ga, gr = TOL[dtype]["grad"]
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        np.testing.assert_allclose(to_numpy(x.grad), to_numpy(t.grad), atol=ga, rtol=gr, err_msg=f"grad of input {i}")
    twin_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(twin_params)
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(
            to_numpy(param.grad), to_numpy(twin_params[name].grad), atol=ga, rtol=gr, err_msg=f"grad of {name}"
        )
    return out


def raises_like_torch(ours: Callable[[], Any], theirs: Callable[[], Any], match: str) -> None:
    """PyTorch raises, and ours raises the same exception type with a message matching ``match``."""
    with pytest.raises(Exception) as torch_error:
        theirs()
    with pytest.raises(torch_error.type, match=match):
        ours()


# ------------------------------------------------------------------ unfold / fold
UNFOLD_OPTIONS = [
    {"kernel_size": 3},
    {"kernel_size": (2, 3), "dilation": (1, 2), "padding": (1, 0), "stride": (2, 1)},
    {"kernel_size": 2, "stride": 2, "padding": 1},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", UNFOLD_OPTIONS)
def test_unfold_and_fold_modules_match_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 6, 7))
    cols = check_against_torch(nn.Unfold(**options), torch.nn.Unfold(**options), [x], dtype)
    check_against_torch(nn.Fold((6, 7), **options), torch.nn.Fold((6, 7), **options), [to_numpy(cols)], dtype)


def test_unfold_and_fold_are_adjoint(rng: np.random.Generator) -> None:
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩: each one's backward is the other."""
    options = {"kernel_size": (3, 2), "dilation": (2, 1), "padding": (2, 1), "stride": (1, 2)}
    x = gg.tensor(rng.standard_normal((2, 3, 7, 6)))
    cols = F.unfold(x, **options)
    c = gg.tensor(rng.standard_normal(cols.shape))
    folded = F.fold(c, (7, 6), **options)
    assert math.isclose((cols * c).sum().item(), (x * folded).sum().item(), rel_tol=1e-12)


def test_unfold_fold_of_ones_counts_the_blocks_over_each_pixel() -> None:
    """fold(unfold(1)) is how many blocks cover each pixel, as in PyTorch's docs."""
    ones = gg.ones(1, 1, 4, 5, dtype=gg.float64)
    counts = F.fold(F.unfold(ones, 2), (4, 5), 2)
    expected = TF.fold(TF.unfold(torch.ones(1, 1, 4, 5, dtype=torch.float64), 2), (4, 5), 2)
    np.testing.assert_array_equal(to_numpy(counts), to_numpy(expected))
    assert to_numpy(counts)[0, 0, 1, 1] == 4


def test_unfold_fold_unbatched_empty_and_bool() -> None:
    x = np.arange(3 * 4 * 4, dtype=np.float64).reshape(3, 4, 4)
    np.testing.assert_array_equal(to_numpy(F.unfold(gg.tensor(x), 2)), TF.unfold(torch.tensor(x), 2).numpy())
    c = np.arange(8 * 9, dtype=np.float64).reshape(8, 9)
    np.testing.assert_array_equal(to_numpy(F.fold(gg.tensor(c), 4, 2)), TF.fold(torch.tensor(c), 4, 2).numpy())
    assert F.unfold(gg.zeros(0, 3, 6, 7), 3).shape == tuple(TF.unfold(torch.zeros(0, 3, 6, 7), 3).shape)
    assert F.fold(gg.zeros(0, 12, 20), (5, 6), 2).shape == tuple(TF.fold(torch.zeros(0, 12, 20), (5, 6), 2).shape)
    b = np.random.default_rng(0).standard_normal((1, 4, 4)) > 0
    ours, theirs = F.fold(gg.tensor(b), 3, 2), TF.fold(torch.tensor(b), 3, 2)
    assert ours.dtype == gg.bool_ and theirs.dtype == torch.bool
    np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())
    bi = np.random.default_rng(1).standard_normal((1, 2, 3, 3)) > 0
    np.testing.assert_array_equal(to_numpy(F.unfold(gg.tensor(bi), 2)), TF.unfold(torch.tensor(bi), 2).numpy())


def test_unfold_fold_repr_as_torch() -> None:
    assert repr(nn.Unfold(2)) == repr(torch.nn.Unfold(2))
    assert repr(nn.Fold((4, 5), 2, stride=2)) == repr(torch.nn.Fold((4, 5), 2, stride=2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 8), r"unfold: input of spatial size \(6, 7\) .* gives \(-1, 0\)"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 0), "unfold: kernel_size must be at least 1"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2, stride=0), "unfold: stride must be at least 1"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2, padding=-1), "unfold: padding must be at least 0"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2, dilation=0), "unfold: dilation must be at least 1"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), (2, 2, 2)), "unfold: expected kernel_size to have 2 elements"),
        (lambda f, t: f.unfold(t(2, 3, 6, 7), 2.0), "unfold: kernel_size must be an int"),
        (lambda f, t: f.unfold(t(1, 2, 3, 6, 7), 2), r"unfold: expected a 3-D or 4-D .* got shape \(1, 2, 3, 6, 7\)"),
        (lambda f, t: f.unfold(t(2, 0, 6, 7), 2), r"unfold: .* non-zero dims"),
        (lambda f, t: f.unfold(t(6, 7), 2), r"unfold: expected a 3-D \(unbatched\) or 4-D input"),
        (
            lambda f, t: f.fold(t(2, 12, 20), (5, 7), 2),
            r"fold: .* give 4 \* 6 = 24 sliding blocks, but input.size\(2\)=20",
        ),
        (lambda f, t: f.fold(t(2, 13, 20), (5, 6), 2), r"fold: input.size\(1\)=13 must be divisible"),
        (lambda f, t: f.fold(t(1, 2, 12, 20), (5, 6), 2), r"fold: expected a 2-D or 3-D .* \(1, 2, 12, 20\)"),
        (lambda f, t: f.fold(t(2, 12, 20), (5, 6, 1), 2), "fold: expected output_size to have 2 elements"),
        (lambda f, t: f.fold(t(2, 12, 20), (5, 6), 2, stride=0), "fold: stride must be at least 1"),
    ],
)
def test_unfold_fold_bad_arguments_raise_like_torch(call, match: str) -> None:
    raises_like_torch(lambda: call(F, gg.zeros), lambda: call(TF, torch.zeros), match)


@pytest.mark.parametrize("fn", ["unfold", "fold"])
def test_unfold_fold_of_integers_are_not_implemented_as_in_torch(fn: str) -> None:
    shape, args = ((1, 1, 4, 4), (2,)) if fn == "unfold" else ((1, 4, 9), (4, 2))
    raises_like_torch(
        lambda: getattr(F, fn)(gg.zeros(*shape, dtype=gg.int64), *args),
        lambda: getattr(TF, fn)(torch.zeros(*shape, dtype=torch.int64), *args),
        f"{fn}: not implemented for integer input \\(int64\\)",
    )


# ------------------------------------------------------------------ ConvTranspose2d
CONV_T_CASES = [
    {"kernel_size": 3},
    {"kernel_size": (3, 2), "stride": 2, "padding": 1, "output_padding": 1, "bias": False},
    {"kernel_size": 3, "stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2, "dilation": (1, 2)},
    {"kernel_size": 2, "output_padding": 1, "dilation": 2, "groups": 4},  # output_padding ≥ stride, < dilation
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CONV_T_CASES)
def test_conv_transpose2d_module_matches_torch(options: dict, dtype: str, rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 4, 5, 6))
    check_against_torch(nn.ConvTranspose2d(4, 8, **options), torch.nn.ConvTranspose2d(4, 8, **options), [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose2d_unbatched_matches_torch(dtype: str, rng: np.random.Generator) -> None:
    options = {"kernel_size": 3, "stride": 2, "padding": 1}
    x = rng.standard_normal((4, 5, 6))
    check_against_torch(nn.ConvTranspose2d(4, 6, **options), torch.nn.ConvTranspose2d(4, 6, **options), [x], dtype)


@pytest.mark.parametrize("output_size", [(9, 11), [10, 12], (2, 6, 10, 11), torch.Size([9, 12])])
def test_conv_transpose2d_output_size_picks_the_output_padding(output_size: Any, rng: np.random.Generator) -> None:
    options = {"kernel_size": 3, "stride": 2, "padding": 1}
    x = rng.standard_normal((2, 4, 5, 6))
    ours, theirs = nn.ConvTranspose2d(4, 6, **options), torch.nn.ConvTranspose2d(4, 6, **options)
    out = check_against_torch(ours, theirs, [x], "float64", output_size=output_size)
    assert out.shape[-2:] == tuple(output_size)[-2:]


@pytest.mark.parametrize("output_size", [(8, 11), (11, 11), (2, 11), (1, 2, 6, 10, 11)])
def test_conv_transpose2d_bad_output_size_raises_like_torch(output_size: tuple) -> None:
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    raises_like_torch(
        lambda: ours(gg.zeros(2, 4, 5, 6), output_size=output_size),
        lambda: theirs(torch.zeros(2, 4, 5, 6), output_size=output_size),
        r"ConvTranspose2d: (requested an output size of|for 4D input, output_size must have 2 or 4 elements)",
    )


def test_conv_transpose2d_weight_layout_init_and_repr_as_torch() -> None:
    torch.manual_seed(0)
    ours = nn.ConvTranspose2d(6, 8, (3, 5), groups=2)
    theirs = torch.nn.ConvTranspose2d(6, 8, (3, 5), groups=2)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (6, 4, 3, 5)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(4 * 3 * 5)  # fan_in = weight.shape[1] · kh · kw = out_channels / groups · kh · kw
    for ours_p, theirs_p in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        w, t = to_numpy(ours_p), theirs_p.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(t).max() <= bound
    w, t = to_numpy(ours.weight), theirs.weight.detach().numpy()  # 360 draws of U(±b) come close to b
    assert np.abs(w).max() > 0.95 * bound and np.abs(t).max() > 0.95 * bound
    assert abs(to_numpy(ours.weight).std() - bound / math.sqrt(3)) < 0.1 * bound  # U(±b) has std b/√3
    for args, kwargs in [
        ((6, 8, (3, 5)), {"groups": 2}),
        ((4, 6, 3), {"stride": 2, "output_padding": 1, "groups": 2, "dilation": 2, "bias": False}),
        ((4, 6, 3), {"padding": (1, 0)}),
    ]:
        assert repr(nn.ConvTranspose2d(*args, **kwargs)) == repr(torch.nn.ConvTranspose2d(*args, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"padding_mode": "reflect"}, "ConvTranspose2d: padding_mode must be 'zeros'"),
        ({"groups": 3}, r"ConvTranspose2d: in_channels \(4\) and out_channels \(6\) must be divisible by groups \(3\)"),
    ],
)
def test_conv_transpose2d_bad_arguments_raise_like_torch(kwargs: dict, match: str) -> None:
    raises_like_torch(
        lambda: nn.ConvTranspose2d(4, 6, 3, **kwargs), lambda: torch.nn.ConvTranspose2d(4, 6, 3, **kwargs), match
    )


def test_conv_transpose2d_string_padding_raises_like_torch() -> None:
    raises_like_torch(
        lambda: nn.ConvTranspose2d(2, 3, 3, padding="same")(gg.ones(1, 2, 5, 5)),
        lambda: torch.nn.ConvTranspose2d(2, 3, 3, padding="same")(torch.ones(1, 2, 5, 5)),
        "ConvTranspose2d: padding must be an int or a pair of ints, got 'same'",
    )


def test_conv_transpose2d_output_padding_past_stride_and_dilation_raises_like_torch() -> None:
    x, w = np.zeros((1, 2, 4, 4)), np.zeros((2, 1, 3, 3))
    raises_like_torch(
        lambda: F.conv_transpose2d(gg.tensor(x), gg.tensor(w), output_padding=1, dilation=(1, 2)),
        lambda: TF.conv_transpose2d(torch.tensor(x), torch.tensor(w), output_padding=1, dilation=(1, 2)),
        r"conv_transpose2d: output_padding \(1, 1\) must be smaller than either stride \(1, 1\) or dilation \(1, 2\)",
    )


# ------------------------------------------------------------------ RMSNorm
RMS_CASES = [
    ((4,), {}),
    ([3, 4], {"eps": 1e-3}),
    ((4,), {"elementwise_affine": False}),
    (4, {"eps": 0.5}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "options"), RMS_CASES)
def test_rms_norm_module_matches_torch(shape: Any, options: dict, dtype: str, rng: np.random.Generator) -> None:
    ours, theirs = nn.RMSNorm(shape, **options), torch.nn.RMSNorm(shape, **options)
    with torch.no_grad():  # a weight that is not all ones, so its gradient and its product both count
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 2.0, tuple(p.shape))))
    check_against_torch(ours, theirs, [rng.standard_normal((2, 3, 4))], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_default_eps_is_the_dtypes_machine_epsilon(dtype: str, rng: np.random.Generator) -> None:
    """Inputs so small that mean x² is near float32's eps: eps=None must be finfo(dtype).eps, as PyTorch."""
    x = rng.standard_normal((3, 5)) * 3e-4
    ours, theirs = nn.RMSNorm(5), torch.nn.RMSNorm(5)
    out = check_against_torch(ours, theirs, [x], dtype)
    eps = np.finfo(dtype).eps
    xd = x.astype(dtype)
    expected = xd / np.sqrt((xd * xd).mean(-1, keepdims=True) + eps)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize(("x_dtype", "w_dtype"), [("float64", "float32"), ("float32", "float64")])
def test_rms_norm_mixed_dtypes_give_the_inputs_dtype_as_torch(
    x_dtype: str, w_dtype: str, rng: np.random.Generator
) -> None:
    x, w = rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, 4)
    xg, wg = (
        gg.tensor(x, dtype=getattr(gg, x_dtype), requires_grad=True),
        gg.tensor(w, dtype=getattr(gg, w_dtype), requires_grad=True),
    )
    xt = torch.tensor(x, dtype=getattr(torch, x_dtype), requires_grad=True)
    wt = torch.tensor(w, dtype=getattr(torch, w_dtype), requires_grad=True)
    ours, theirs = F.rms_norm(xg, (4,), wg), TF.rms_norm(xt, (4,), wt)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") == x_dtype
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-6, atol=1e-6)
    g = rng.standard_normal((3, 4))
    (ours * gg.tensor(g, dtype=getattr(gg, x_dtype))).sum().backward()
    (theirs * torch.tensor(g, dtype=getattr(torch, x_dtype))).sum().backward()
    for a, b in ((xg, xt), (wg, wt)):
        assert str(a.grad.dtype) == str(b.grad.dtype).removeprefix("torch.")
        np.testing.assert_allclose(to_numpy(a.grad), to_numpy(b.grad), rtol=1e-5, atol=1e-5)


def test_rms_norm_init_state_dict_and_repr_as_torch() -> None:
    for args, kwargs in [((4,), {}), (([2, 3],), {"eps": 1e-5, "elementwise_affine": False}), ((5,), {"eps": 0.1})]:
        ours, theirs = nn.RMSNorm(*args, **kwargs), torch.nn.RMSNorm(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            np.testing.assert_array_equal(to_numpy(p), q.detach().numpy())
    assert nn.RMSNorm(3, dtype=gg.float64).weight.dtype == gg.float64


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f, t: f.rms_norm(t(2, 4), (5,)), r"rms_norm: given normalized_shape=\[5\], expected input .*\[2, 4\]"),
        (lambda f, t: f.rms_norm(t(2, 4), (4,), t(3)), r"rms_norm: expected weight .* shape \[3\] .* = \[4\]"),
        (lambda f, t: f.rms_norm(t(2, 4).long(), (4,)), "rms_norm: not implemented for input of dtype int64"),
    ],
)
def test_rms_norm_bad_arguments_raise_like_torch(call, match: str) -> None:
    raises_like_torch(lambda: call(F, gg.ones), lambda: call(TF, torch.ones), match)


# ------------------------------------------------------------------ ParameterList / ParameterDict
def _repr_as_ours(module: torch.nn.Module) -> str:
    """PyTorch's repr with its dtype names as glassgrad writes them."""
    return repr(module).replace("torch.FloatTensor", "glassgrad.float32").replace("torch.", "glassgrad.")


def test_parameter_list_registers_like_torch() -> None:
    shapes = [(2, 3), (4,)]
    ours = nn.ParameterList([gg.ones(*shapes[0]), nn.Parameter(gg.zeros(*shapes[1])), "s", None])
    theirs = torch.nn.ParameterList([torch.ones(*shapes[0]), torch.nn.Parameter(torch.zeros(*shapes[1])), "s", None])
    assert len(ours) == len(theirs) == 4
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert isinstance(ours[0], nn.Parameter) and ours[0].requires_grad
    assert ours[2] == "s" and ours[3] is None and ours[-3] is ours[1]
    assert repr(ours) == _repr_as_ours(theirs)
    ours.append(gg.ones(5))
    ours.extend([gg.ones(1)])
    ours += [gg.ones(2, 2)]
    theirs.append(torch.ones(5))
    theirs.extend([torch.ones(1)])
    theirs += [torch.ones(2, 2)]
    assert len(ours) == len(theirs) == 7
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "4", "5", "6"]
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [type(v).__name__ for v in ours] == [type(v).__name__ for v in theirs]
    ours[1] = gg.full((3,), 2.0)
    theirs[1] = torch.full((3,), 2.0)
    assert ours.state_dict()["1"].shape == tuple(theirs.state_dict()["1"].shape) == (3,)
    sliced, theirs_sliced = ours[1:6:2], theirs[1:6:2]
    assert isinstance(sliced, nn.ParameterList) and len(sliced) == len(theirs_sliced) == 3
    assert sliced[0] is ours[1] and list(sliced.state_dict()) == list(theirs_sliced.state_dict())
    assert "0" not in dir(ours) and "append" in dir(ours)


def test_parameter_dict_registers_like_torch() -> None:
    ours = nn.ParameterDict({"b": nn.Parameter(gg.ones(2)), "a": gg.zeros(3)})
    theirs = torch.nn.ParameterDict({"b": torch.nn.Parameter(torch.ones(2)), "a": torch.zeros(3)})
    assert list(ours) == list(theirs) == ["a", "b"]  # a plain dict goes in sorted, as PyTorch
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == _repr_as_ours(theirs)
    pairs = [("z", gg.ones(1)), ("y", gg.ones(2))]
    ours.update(pairs)
    theirs.update([("z", torch.ones(1)), ("y", torch.ones(2))])
    ours["obj"], theirs["obj"] = 3, 3
    assert list(ours.keys()) == list(theirs.keys()) == ["a", "b", "z", "y", "obj"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a", "b", "z", "y"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert "a" in ours and "q" not in ours and len(ours) == len(theirs) == 5
    assert ours.get("q") is None and ours.get("obj") == 3 and ours["obj"] == 3
    assert ours.setdefault("w", gg.ones(4)) is ours["w"] and isinstance(ours["w"], nn.Parameter)
    theirs.setdefault("w", torch.ones(4))
    assert ours.pop("z").shape == (1,) and theirs.pop("z").shape == (1,)
    assert ours.popitem()[0] == theirs.popitem()[0] == "w"
    del ours["b"]
    del theirs["b"]
    assert list(ours) == list(theirs) == ["a", "y", "obj"]
    assert list(reversed(ours)) == list(reversed(theirs))
    merged = ours | {"m": gg.ones(1)}
    assert list(merged) == list(theirs | {"m": torch.ones(1)}) and merged["a"] is ours["a"]
    assert list(ours.copy().state_dict()) == list(theirs.copy().state_dict())
    assert list(ours.fromkeys(["p", "q"])) == list(theirs.fromkeys(["p", "q"]))
    ours.clear()
    theirs.clear()
    assert len(ours) == len(theirs) == 0 and list(ours.parameters()) == []


def test_parameter_containers_nested_train_and_load_like_torch(rng: np.random.Generator) -> None:
    class Ours(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ws = nn.ParameterList([gg.ones(3, 3), gg.ones(3, 3)])
            self.bs = nn.ParameterDict({"first": gg.zeros(3), "second": gg.zeros(3)})

        def forward(self, x: gg.Tensor) -> gg.Tensor:
            for w, name in zip(self.ws, ("first", "second"), strict=True):
                x = (x @ w + self.bs[name]).tanh()
            return x

    class Theirs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ws = torch.nn.ParameterList([torch.randn(3, 3), torch.randn(3, 3)])
            self.bs = torch.nn.ParameterDict({"first": torch.randn(3), "second": torch.randn(3)})

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for w, name in zip(self.ws, ("first", "second"), strict=True):
                x = (x @ w + self.bs[name]).tanh()
            return x

    ours, theirs = Ours(), Theirs()
    assert list(theirs.state_dict()) == ["ws.0", "ws.1", "bs.first", "bs.second"]
    for dtype in DTYPES:
        ours.zero_grad()
        theirs.zero_grad()
        check_against_torch(ours, theirs, [rng.standard_normal((4, 3))], dtype)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda nn_, t: nn_.ParameterList([t(1)])[3], "ParameterList: index 3 is out of range"),
        (lambda nn_, t: nn_.ParameterList([t(1)])["0"], "cannot be interpreted as an integer"),
        (lambda nn_, t: nn_.ParameterList().extend(t(3)), "ParameterList.extend should be called with an iterable"),
        (lambda nn_, t: nn_.ParameterList().extend(3), "ParameterList.extend should be called with an iterable"),
        (lambda nn_, t: nn_.ParameterList()(t(1)), "ParameterList should not be called"),
        (lambda nn_, t: nn_.ParameterList().append(t(1).long()), "floating point"),
        (lambda nn_, t: nn_.ParameterDict()["x"], "'ParameterDict' object has no attribute 'x'"),
        (lambda nn_, t: nn_.ParameterDict({1: t(1)}), r"not a string \(type is 'int'\)|keys must be strings"),
        (lambda nn_, t: nn_.ParameterDict({"a.b": t(1)}), r"can.t contain \"\.\"|without \"\.\""),
        (lambda nn_, t: nn_.ParameterDict({"a": t(1)}).__setitem__("a", 3), "cannot assign 'int' as parameter 'a'"),
        (lambda nn_, t: nn_.ParameterDict().update(5), "update should be called with an iterable"),
        (lambda nn_, t: nn_.ParameterDict().update([("x", t(1), 3)]), "element #0 has length 3; 2 is required"),
        (lambda nn_, t: nn_.ParameterDict().update([5]), "element #0 should be Iterable"),
        (lambda nn_, t: nn_.ParameterDict().pop("zz"), "has no attribute 'zz'"),
        (lambda nn_, t: nn_.ParameterDict()(t(1)), "ParameterDict should not be called"),
    ],
)
def test_parameter_containers_bad_use_raises_like_torch(call, match: str) -> None:
    raises_like_torch(lambda: call(nn, gg.ones), lambda: call(torch.nn, torch.ones), match)


def test_parameter_containers_failed_assignment_changes_nothing() -> None:
    d = nn.ParameterDict({"a": gg.ones(1)})
    with pytest.raises(TypeError):
        d[1] = gg.ones(1)
    with pytest.raises(KeyError):
        d["a.b"] = gg.ones(1)
    assert list(d) == ["a"] and list(d.state_dict()) == ["a"]
    p = nn.ParameterList([gg.ones(1)])
    with pytest.raises(RuntimeError):
        p.append(gg.ones(1, dtype=gg.int64))
    assert len(p) == 1 and list(p.state_dict()) == ["0"]


# ------------------------------------------------------------------ dtypes: no promotion in the layers
def _t(lib: Any, shape: tuple[int, ...], dtype: str) -> Any:
    return lib.ones(*shape, dtype=getattr(lib, dtype))


MIXED_DTYPE_CALLS = [
    ("conv2d", lambda f, lib: f.conv2d(_t(lib, (1, 2, 5, 5), "float64"), _t(lib, (3, 2, 3, 3), "float32"))),
    ("conv2d", lambda f, lib: f.conv2d(_t(lib, (1, 2, 5, 5), "float32"), _t(lib, (3, 2, 3, 3), "float64"))),
    (
        "conv2d",
        lambda f, lib: f.conv2d(
            _t(lib, (1, 2, 5, 5), "float32"), _t(lib, (3, 2, 3, 3), "float32"), _t(lib, (3,), "float64")
        ),
    ),
    ("conv2d", lambda f, lib: f.conv2d(_t(lib, (1, 2, 5, 5), "int64"), _t(lib, (3, 2, 3, 3), "float32"))),
    ("conv1d", lambda f, lib: f.conv1d(_t(lib, (1, 2, 5), "float64"), _t(lib, (3, 2, 3), "float32"))),
    ("conv1d", lambda f, lib: f.conv1d(_t(lib, (1, 2, 5), "int64"), _t(lib, (3, 2, 3), "float32"))),
    (
        "conv_transpose2d",
        lambda f, lib: f.conv_transpose2d(_t(lib, (1, 2, 5, 5), "int64"), _t(lib, (2, 3, 3, 3), "float32")),
    ),
    (
        "conv_transpose2d",
        lambda f, lib: f.conv_transpose2d(_t(lib, (1, 2, 5, 5), "float64"), _t(lib, (2, 3, 3, 3), "float32")),
    ),
    ("layer_norm", lambda f, lib: f.layer_norm(_t(lib, (2, 4), "float64"), (4,), _t(lib, (4,), "float32"))),
    ("layer_norm", lambda f, lib: f.layer_norm(_t(lib, (2, 4), "float32"), (4,), _t(lib, (4,), "float64"))),
    ("layer_norm", lambda f, lib: f.layer_norm(_t(lib, (2, 4), "int64"), (4,), _t(lib, (4,), "float32"))),
    ("group_norm", lambda f, lib: f.group_norm(_t(lib, (2, 4), "float64"), 2, _t(lib, (4,), "float32"))),
    (
        "batch_norm",
        lambda f, lib: f.batch_norm(_t(lib, (2, 4), "float64"), _t(lib, (4,), "float32"), _t(lib, (4,), "float32")),
    ),
    ("linear", lambda f, lib: f.linear(_t(lib, (2, 4), "float64"), _t(lib, (3, 4), "float32"))),
    ("linear", lambda f, lib: f.linear(_t(lib, (5, 2, 4), "float32"), _t(lib, (3, 4), "float64"))),
    (
        "linear",
        lambda f, lib: f.linear(_t(lib, (2, 4), "float32"), _t(lib, (3, 4), "float32"), _t(lib, (3,), "float64")),
    ),
    ("linear", lambda f, lib: f.linear(_t(lib, (2, 4), "int64"), _t(lib, (3, 4), "float32"))),
]


@pytest.mark.parametrize(
    ("op", "call"), MIXED_DTYPE_CALLS, ids=[f"{op}-{i}" for i, (op, _) in enumerate(MIXED_DTYPE_CALLS)]
)
def test_functional_layers_refuse_mixed_dtypes_like_torch(op: str, call) -> None:
    """PyTorch raises RuntimeError instead of promoting; ours names the op, the tensors and their dtypes."""
    raises_like_torch(
        lambda: call(F, gg),
        lambda: call(TF, torch),
        rf"^{op}: expected input, \w+.* to have the same dtype, but got input \w+, \w+ \w+",
    )


INTEGER_CALLS = [
    ("conv2d", lambda f, lib: f.conv2d(_t(lib, (1, 2, 5, 5), "bool"), _t(lib, (3, 2, 3, 3), "bool"))),
    ("layer_norm", lambda f, lib: f.layer_norm(_t(lib, (2, 4), "int64"), (4,))),
    ("group_norm", lambda f, lib: f.group_norm(_t(lib, (2, 4), "int32"), 2)),
    ("batch_norm", lambda f, lib: f.batch_norm(_t(lib, (2, 4), "int64"), None, None, training=True)),
    ("rms_norm", lambda f, lib: f.rms_norm(_t(lib, (2, 4), "int64"), (4,))),
]


@pytest.mark.parametrize(("op", "call"), INTEGER_CALLS, ids=[op for op, _ in INTEGER_CALLS])
def test_functional_layers_of_integers_are_not_implemented_like_torch(op: str, call) -> None:
    raises_like_torch(lambda: call(F, gg), lambda: call(TF, torch), rf"^{op}: not implemented for \w+")


def test_integer_convolution_is_refused_where_torch_computes_it_on_cpu() -> None:
    """A documented difference: PyTorch's CPU kernel convolves int64 with int64; glassgrad's kernels are
    floating point only and say so (as PyTorch itself does for bool, and on CUDA)."""
    x, w = np.arange(2 * 5 * 5).reshape(1, 2, 5, 5), np.ones((3, 2, 3, 3), dtype=np.int64)
    assert TF.conv2d(torch.tensor(x), torch.tensor(w)).dtype == torch.int64
    with pytest.raises(NotImplementedError, match=r"conv2d: not implemented for int64 tensors \(floating point only\)"):
        F.conv2d(gg.tensor(x), gg.tensor(w))
    with pytest.raises(NotImplementedError, match="conv_transpose2d: not implemented for int64"):
        F.conv_transpose2d(gg.tensor(x), gg.tensor(np.ones((2, 3, 3, 3), dtype=np.int64)))


def test_integer_linear_computes_in_integers_like_torch() -> None:
    x, w, b = np.arange(8).reshape(2, 4), np.arange(12).reshape(3, 4) - 5, np.array([1, -2, 3])
    ours = F.linear(gg.tensor(x), gg.tensor(w), gg.tensor(b))
    theirs = TF.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    assert ours.dtype == gg.int64 and theirs.dtype == torch.int64
    np.testing.assert_array_equal(to_numpy(ours), theirs.numpy())


MODULE_CALLS = [
    ("Conv2d", lambda lib: lib.nn.Conv2d(2, 3, 3), (1, 2, 5, 5), "float64"),
    ("Conv2d", lambda lib: lib.nn.Conv2d(2, 3, 3, bias=False), (1, 2, 5, 5), "int64"),
    ("Conv1d", lambda lib: lib.nn.Conv1d(2, 3, 3), (1, 2, 5), "float64"),
    ("ConvTranspose2d", lambda lib: lib.nn.ConvTranspose2d(2, 3, 3), (1, 2, 5, 5), "float64"),
    ("Linear", lambda lib: lib.nn.Linear(4, 3), (2, 4), "float64"),
    ("Linear", lambda lib: lib.nn.Linear(4, 3, bias=False), (2, 4), "int64"),
    ("LayerNorm", lambda lib: lib.nn.LayerNorm(4), (2, 4), "float64"),
    ("LayerNorm", lambda lib: lib.nn.LayerNorm(4), (2, 4), "int64"),
    ("GroupNorm", lambda lib: lib.nn.GroupNorm(2, 4), (2, 4), "float64"),
    ("BatchNorm1d", lambda lib: lib.nn.BatchNorm1d(4), (2, 4), "float64"),
]


@pytest.mark.parametrize(("name", "make", "shape", "dtype"), MODULE_CALLS, ids=[f"{m[0]}-{m[3]}" for m in MODULE_CALLS])
def test_layer_modules_refuse_inputs_of_another_dtype_like_torch(name: str, make, shape: tuple, dtype: str) -> None:
    """The message names the module the user called, not the functional op underneath."""
    ours, theirs = make(gg), make(torch)
    raises_like_torch(
        lambda: ours(_t(gg, shape, dtype)),
        lambda: theirs(_t(torch, shape, dtype)),
        rf"^{name}: expected input, weight.* to have the same dtype, but got input {dtype}, weight float32",
    )


def test_batch_norm_refusing_a_dtype_leaves_its_statistics_alone() -> None:
    bn = nn.BatchNorm1d(4)
    with pytest.raises(RuntimeError, match="BatchNorm1d: expected input"):
        bn(gg.ones(3, 4, dtype=gg.float64))
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(to_numpy(bn.running_mean), np.zeros(4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_with_a_1d_weight_matches_torch(dtype: str, rng: np.random.Generator) -> None:
    from oracle import compare_with_torch

    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    compare_with_torch(F.linear, TF.linear, arrays, dtype)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f, t: f.linear(t(()), t(3, 1)), r"linear: both arguments need to be at least 1-D, but they are 0-D"),
        (lambda f, t: f.linear(t(2, 4), t(3, 5)), r"linear: input of shape \(2, 4\) and weight of shape \(3, 5\)"),
        (lambda f, t: f.linear(t(5, 2, 4), t(3, 5)), r"linear: input of shape \(5, 2, 4\) and weight"),
        (
            lambda f, t: f.linear(t(2, 4), t(1, 3, 4)),
            r"linear: input of shape \(2, 4\) and weight of shape \(1, 3, 4\)",
        ),
        (lambda f, t: f.linear(t(2, 4), t(3, 4), t(2)), r"linear: bias of shape \(2,\) does not broadcast .* \(2, 3\)"),
        (lambda f, t: f.linear([[1.0] * 4], t(3, 4)), "linear: input must be a Tensor, got list"),
    ],
)
def test_linear_bad_arguments_raise_like_torch(call, match: str) -> None:
    raises_like_torch(lambda: call(F, gg.ones), lambda: call(TF, torch.ones), match)
