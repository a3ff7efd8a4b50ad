"""Second derivatives of the layer ops: Linear, convolutions, fold/unfold, pooling, attention, beyond the op table.

These ops run kernels, so ``create_graph`` differentiates each one's ``decomposition`` (the same forward
in plain engine ops), and unfold's and fold's recorded backward is the other op. First: every
decomposition gives the forward's values, in float64, for every option. Then ``gradgradcheck`` and
PyTorch's ``torch.autograd.grad(..., create_graph=True)`` for the layers (nn.Linear, nn.Conv2d) and
options the op table does not cover, as tests/engine/test_double_backward.py does for the table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.engine.observers import observing
from glassgrad.engine.ops.attention import ScaledDotProductAttention
from glassgrad.engine.ops.conv import Conv2d, ConvTranspose2d
from glassgrad.engine.ops.linalg import Linear
from glassgrad.engine.ops.pooling import MaxPool2d, SeparablePool2d

import second_order
from op_case import OpCase
from oracle import to_numpy

RNG = np.random.default_rng(11)


def _draw(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    return [RNG.standard_normal(s) for s in shapes]


class _Calls:
    """Every call of a Function with a decomposition during a forward: (function, args, kwargs, result)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_forward(self, function, args, kwargs, result) -> None:
        if function.decomposition is not None:
            self.calls.append((function, args, kwargs, result))


# ------------------------------------------------------------------ decompositions give the forward's values
X4 = RNG.standard_normal((2, 4, 6, 7))
MASK_BOOL = RNG.random((3, 5)) > 0.3
MASK_BOOL[:, 0] = True  # every query sees a key (a fully hidden row: the next test)
DECOMPOSED: list[tuple[str, type, Callable, list[np.ndarray]]] = [
    ("linear_2d", Linear, F.linear, _draw((3, 4), (5, 4), (5,))),
    ("linear_3d", Linear, F.linear, _draw((2, 3, 4), (5, 4), (5,))),
    ("linear_1d_no_bias", Linear, F.linear, _draw((4,), (5, 4))),
    ("conv2d", Conv2d, F.conv2d, [X4, *_draw((6, 4, 3, 2), (6,))]),
    ("conv2d_no_bias", Conv2d, F.conv2d, [X4, *_draw((3, 4, 2, 2))]),
    (
        "conv2d_options",
        Conv2d,
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2),
        [X4, *_draw((6, 2, 3, 2), (6,))],
    ),
    ("conv2d_depthwise", Conv2d, lambda x, w: F.conv2d(x, w, groups=4, padding=1), [X4, *_draw((8, 1, 3, 3))]),
    ("conv2d_same", Conv2d, lambda x, w: F.conv2d(x, w, padding="same"), _draw((4, 5, 6), (2, 4, 2, 3))),
    ("conv1d", Conv2d, lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), _draw((2, 4, 9), (6, 4, 3), (6,))),
    ("conv_transpose2d", ConvTranspose2d, F.conv_transpose2d, _draw((2, 4, 4, 5), (4, 3, 3, 2), (3,))),
    (
        "conv_transpose2d_options",
        ConvTranspose2d,
        lambda x, w, b: F.conv_transpose2d(
            x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2)
        ),
        _draw((2, 4, 4, 5), (4, 3, 3, 2), (6,)),
    ),
    (
        "conv_transpose2d_window",  # output_padding ≥ stride: the cropped full output
        ConvTranspose2d,
        lambda x, w: F.conv_transpose2d(x, w, stride=1, padding=(0, 1), output_padding=(1, 2), dilation=(2, 3)),
        _draw((1, 2, 3, 4), (2, 3, 2, 2)),
    ),
    ("max_pool2d", MaxPool2d, lambda x: F.max_pool2d(x, 2), [X4]),
    (
        "max_pool2d_options",
        MaxPool2d,
        lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2), padding=1, dilation=2, ceil_mode=True),
        [X4],
    ),
    ("max_pool2d_ties", MaxPool2d, lambda x: F.max_pool2d(x, 3, stride=1), [np.round(X4)]),
    ("max_pool1d", MaxPool2d, lambda x: F.max_pool1d(x, 3, stride=2, padding=1), _draw((2, 3, 8))),
    ("avg_pool2d", SeparablePool2d, lambda x: F.avg_pool2d(x, 2), [X4]),
    (
        "avg_pool2d_options",
        SeparablePool2d,
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        [X4],
    ),
    ("avg_pool2d_divisor", SeparablePool2d, lambda x: F.avg_pool2d(x, 3, padding=1, divisor_override=4), [X4]),
    ("avg_pool1d", SeparablePool2d, lambda x: F.avg_pool1d(x, 3, stride=2, padding=1), _draw((2, 3, 8))),
    ("adaptive_avg_pool2d", SeparablePool2d, lambda x: F.adaptive_avg_pool2d(x, (4, 3)), [X4]),
    ("sdpa", ScaledDotProductAttention, F.scaled_dot_product_attention, _draw((2, 3, 4), (2, 5, 4), (2, 5, 3))),
    (
        "sdpa_causal_scale",
        ScaledDotProductAttention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        _draw((2, 2, 4, 3), (2, 2, 4, 3), (2, 2, 4, 2)),
    ),
    (
        "sdpa_causal_long_keys",
        ScaledDotProductAttention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        _draw((1, 3, 4), (1, 5, 4), (1, 5, 2)),
    ),
    (
        "sdpa_bool_mask",
        ScaledDotProductAttention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.tensor(MASK_BOOL)),
        _draw((2, 3, 4), (2, 5, 4), (2, 5, 3)),
    ),
    (
        "sdpa_float_mask",
        ScaledDotProductAttention,
        F.scaled_dot_product_attention,
        _draw((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), (2, 1, 3, 5)),
    ),
    (
        "sdpa_gqa_broadcast",
        ScaledDotProductAttention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        _draw((2, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)),
    ),
]


@pytest.mark.parametrize(("function", "fn", "arrays"), [c[1:] for c in DECOMPOSED], ids=[c[0] for c in DECOMPOSED])
def test_decomposition_gives_the_forward_values(function: type, fn: Callable, arrays: list[np.ndarray]) -> None:
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    with observing(_Calls()) as seen:
        fn(*inputs)
    calls = [c for c in seen.calls if c[0] is function]
    assert calls, f"{function.__name__} did not run"
    for _, args, kwargs, result in calls:
        again = function.decomposition(*args, **kwargs)
        assert again.shape == result.shape and again.dtype == result.dtype == np.float64
        np.testing.assert_allclose(again.array, result.array, rtol=1e-12, atol=1e-12)


def test_decomposition_of_a_fully_hidden_row_is_zero_as_the_forward() -> None:
    q, k, v = (gg.tensor(a, requires_grad=True) for a in _draw((1, 2, 3), (1, 3, 3), (1, 3, 2)))
    mask = gg.tensor(np.array([[True, False, True], [False, False, False]]))
    with observing(_Calls()) as seen:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ((function, args, kwargs, _),) = seen.calls
    again = function.decomposition(*args, **kwargs)
    np.testing.assert_array_equal(out.array[0, 1], 0.0)  # no key to attend to: O = 0, as PyTorch's
    np.testing.assert_allclose(again.array, out.array, rtol=1e-12, atol=0)


# ------------------------------------------------------------------ second derivatives against PyTorch
SECOND: list[OpCase] = [
    OpCase("linear_no_bias", F.linear, TF.linear, (((2, 3, 4), (5, 4)),)),
    *[
        OpCase(
            f"conv2d_{name}",
            lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw),
            lambda x, w, b, kw=kw: TF.conv2d(x, w, b, **kw),
            (((1, 2, 4, 4), (2, 2 // kw.get("groups", 1), 2, 3), (2,)),),
        )
        for name, kw in [
            ("stride", {"stride": 2}),
            ("padding", {"padding": (1, 2)}),
            ("groups", {"groups": 2}),
            ("dilation", {"dilation": (2, 1)}),
        ]
    ],
    OpCase(
        "conv_transpose2d_no_bias",
        lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        lambda x, w: TF.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        (((1, 2, 3, 3), (2, 2, 2, 2)),),
    ),
    OpCase("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), (((1, 2, 4, 5),),)),
    OpCase(
        "max_pool2d_options",
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True),
        lambda x: TF.max_pool2d(x, 3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True),
        (((1, 2, 5, 6),),),
    ),
    OpCase("max_pool1d", lambda x: F.max_pool1d(x, 2, stride=1), lambda x: TF.max_pool1d(x, 2, stride=1), (((2, 5),),)),
    OpCase(
        "avg_pool2d",
        lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        lambda x: TF.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        (((1, 2, 5, 6),),),
    ),
    OpCase(
        "avg_pool1d", lambda x: F.avg_pool1d(x, 3, padding=1), lambda x: TF.avg_pool1d(x, 3, padding=1), (((2, 7),),)
    ),
    OpCase(
        "adaptive_avg_pool2d",
        lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
        lambda x: TF.adaptive_avg_pool2d(x, (2, 3)),
        (((1, 2, 5, 7),),),
    ),
    OpCase(
        "sdpa_causal",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
        (((2, 3, 2), (2, 3, 2), (2, 3, 2)),),
    ),
    OpCase(
        "sdpa_causal_heads_scale",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7),
        (((1, 2, 3, 2), (1, 2, 4, 2), (1, 2, 4, 3)),),
    ),
    OpCase(
        "sdpa_bool_mask",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.tensor(MASK_BOOL[:2, :4])),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(MASK_BOOL[:2, :4])),
        (((1, 2, 3), (1, 4, 3), (1, 4, 2)),),
    ),
    OpCase(
        "unfold_over_conv_geometry",
        lambda x: F.unfold(x, 2, dilation=2, padding=1, stride=2),
        lambda x: TF.unfold(x, 2, dilation=2, padding=1, stride=2),
        (((1, 2, 4, 5),),),
    ),
]


def _random_like(op: OpCase, shapes: tuple) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes]
    with torch.no_grad():
        out_shape = tuple(op.theirs(*[torch.tensor(a) for a in arrays]).shape)
    return arrays, rng.standard_normal(out_shape), [rng.standard_normal(a.shape) for a in arrays]


def _assert_second_derivatives_match(ours: list, theirs: list, name: str) -> None:
    assert ours is not None and theirs is not None
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8, err_msg=f"{name}: d/d(input {i}) of vᵀJ·u")


@pytest.mark.parametrize("op", SECOND, ids=[op.name for op in SECOND])
def test_second_derivatives_match_torch(op: OpCase) -> None:
    arrays, v, u = _random_like(op, op.shapes[0])
    theirs = second_order.second_derivatives(torch, op.theirs, arrays, v, u)
    ours = second_order.second_derivatives(gg, op.ours, arrays, v, u)
    _assert_second_derivatives_match(ours, theirs, op.name)


@pytest.mark.parametrize("op", SECOND, ids=[op.name for op in SECOND])
def test_gradgradcheck(op: OpCase) -> None:
    arrays, _, _ = _random_like(op, op.shapes[0])
    inputs = [gg.tensor(a, requires_grad=True) for a in arrays]
    assert gg.gradgradcheck(op.ours, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


# ------------------------------------------------------------------ the layers: nn.Linear and nn.Conv2d
def _layer_pair(kind: str) -> tuple[gg.nn.Module, torch.nn.Module, np.ndarray]:
    """A glassgrad layer and PyTorch's, in float64, with the same parameters, and an input for them."""
    if kind == "linear":
        ours, theirs, x = gg.nn.Linear(4, 3, dtype=gg.float64), torch.nn.Linear(4, 3, dtype=torch.float64), (2, 4)
    else:
        options = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
        ours = gg.nn.Conv2d(4, 2, (2, 3), **options, dtype=gg.float64)
        theirs = torch.nn.Conv2d(4, 2, (2, 3), **options, dtype=torch.float64)
        x = (1, 4, 4, 5)
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.array[...] = RNG.standard_normal(p.shape)
            q.copy_(torch.tensor(p.array))
    return ours, theirs, RNG.standard_normal(x)


def _layer_second_derivatives(lib, layer, x: np.ndarray, v: np.ndarray, u: list[np.ndarray]) -> list[np.ndarray]:
    """d/d(x, parameters, v) of Σ u ⊙ (vᵀ ∂layer(x)/∂(x, parameters)), the first derivative with create_graph."""
    tensor = gg.tensor if lib is gg else torch.tensor
    auto = gg.autograd if lib is gg else torch.autograd
    xs = [tensor(x, requires_grad=True), *layer.parameters()]
    vt = tensor(v, requires_grad=True)
    gs = auto.grad(layer(xs[0]), xs, vt, create_graph=True)
    s = sum((g * tensor(ui)).sum() for g, ui in zip(gs, u, strict=True))
    return [
        np.zeros(t.shape) if d is None else to_numpy(d)
        for d, t in zip(auto.grad(s, [*xs, vt], allow_unused=True), [*xs, vt], strict=True)
    ]


@pytest.mark.parametrize("kind", ["linear", "conv2d"])
def test_layer_second_derivatives_match_torch(kind: str) -> None:
    ours, theirs, x = _layer_pair(kind)
    with torch.no_grad():
        v = RNG.standard_normal(tuple(theirs(torch.tensor(x)).shape))
    u = [RNG.standard_normal(x.shape), *(RNG.standard_normal(p.shape) for p in ours.parameters())]
    _assert_second_derivatives_match(
        _layer_second_derivatives(gg, ours, x, v, u), _layer_second_derivatives(torch, theirs, x, v, u), kind
    )


@pytest.mark.parametrize("kind", ["linear", "conv2d"])
def test_layer_gradgradcheck(kind: str) -> None:
    layer, _, x = _layer_pair(kind)
    inputs = [gg.tensor(x, requires_grad=True), *layer.parameters()]
    assert gg.gradgradcheck(lambda x, *parameters: layer(x), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_unfold_third_derivative() -> None:
    """unfold's recorded backward is fold and fold's is unfold, so every order records a graph. For
    f(x) = Σ w ⊙ unfold(x)³, differentiating ⟨∇f, e⟩ along e and then in x gives 6·fold(w ⊙ unfold(e)²)."""
    x, w, e = RNG.standard_normal((1, 2, 4, 4)), RNG.standard_normal((1, 8, 9)), RNG.standard_normal((1, 2, 4, 4))

    def third(lib, unfold):
        tensor = gg.tensor if lib is gg else torch.tensor
        auto = gg.autograd if lib is gg else torch.autograd
        xt = tensor(x, requires_grad=True)
        f = (tensor(w) * unfold(xt, 2) ** 3).sum()
        (g,) = auto.grad(f, [xt], create_graph=True)
        (h,) = auto.grad((g * tensor(e)).sum(), [xt], create_graph=True)
        (t,) = auto.grad((h * tensor(e)).sum(), [xt])
        return to_numpy(t)

    by_hand = 6 * TF.fold(torch.tensor(w) * TF.unfold(torch.tensor(e), 2) ** 2, (4, 4), 2).numpy()
    np.testing.assert_allclose(third(gg, F.unfold), by_hand, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(third(torch, TF.unfold), by_hand, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "computed"])
def test_self_attention_one_tensor_as_query_key_and_value(leaf: bool) -> None:
    """q = k = v = one tensor: the decomposition's three inputs are one vertex, and each must get only the
    gradient through its own use (the recorded first derivative equals PyTorch's, and so does the second)."""
    x, v = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 4))

    def derivatives(lib, attention):
        tensor = gg.tensor if lib is gg else torch.tensor
        auto = gg.autograd if lib is gg else torch.autograd
        xt = tensor(x, requires_grad=True)
        y = xt if leaf else xt * 1.0
        (g,) = auto.grad(attention(y, y, y), [xt], tensor(v), create_graph=True)
        (h,) = auto.grad((g**2).sum(), [xt])
        return to_numpy(g), to_numpy(h)

    ours = derivatives(gg, F.scaled_dot_product_attention)
    theirs = derivatives(torch, TF.scaled_dot_product_attention)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8)
