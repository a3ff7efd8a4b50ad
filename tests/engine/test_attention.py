"""F.scaled_dot_product_attention against PyTorch's, through every variant; gradcheck; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels

import second_order
from oracle import compare_with_torch

VARIANTS = [v.name for v in kernels.list("attention", "cpu")]


def _qkv(shape_q: tuple[int, ...], lk: int | None = None, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lk = lk or shape_q[-2]
    kv = (*shape_q[:-2], lk, shape_q[-1])
    return [rng.standard_normal(shape_q), rng.standard_normal(kv), rng.standard_normal(kv)]


CONFIGS = [
    ("plain", (2, 3, 17, 8), None, {}),
    ("causal", (2, 2, 33, 16), None, {"is_causal": True}),
    ("cross lengths", (1, 2, 9, 8), 20, {}),
    ("scale", (2, 1, 12, 8), None, {"scale": 0.7}),
    ("3-d input", (4, 10, 8), None, {}),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "shape", "lk", "options"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_matches_torch(variant: str, dtype: str, name: str, shape, lk, options) -> None:
    with kernels.use("attention", variant, "cpu"), kernels.use("attention_backward", variant, "cpu"):
        compare_with_torch(
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **options),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **options),
            _qkv(shape, lk),
            dtype=dtype,
            # float32: the fused kernel sums in another order than PyTorch's math path
            tol_scale=10.0 if dtype == "float32" else 1.0,
        )


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_masks_match_torch(variant: str, kind: str) -> None:
    rng = np.random.default_rng(4)
    if kind == "bool":
        mask = rng.random((1, 1, 15, 21)) < 0.7
        mask[..., 0] = True  # no fully hidden row
    else:
        mask = rng.standard_normal((2, 1, 1, 21))
    with kernels.use("attention", variant, "cpu"), kernels.use("attention_backward", variant, "cpu"):
        compare_with_torch(
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gg.tensor(mask)),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
            _qkv((2, 3, 15, 8), 21, seed=5),
            dtype="float64",
        )


def _hidden_rows(kind: str) -> np.ndarray:
    """A mask with query rows that see no key: one row of one head (bool: all False, float: all -inf),
    or, for "padding", every key of the second batch item ((B, 1, 1, Lk), 70 keys: two of flash's key tiles)."""
    rng = np.random.default_rng(9)
    if kind == "padding":
        keep = rng.random((2, 1, 1, 70)) < 0.7
        keep[1] = False
        return keep
    keep = rng.random((2, 3, 5, 7)) < 0.6
    keep[..., 0] = True
    keep[0, 1, 2] = False
    return keep if kind == "bool" else np.where(keep, rng.standard_normal(keep.shape), -np.inf)


HIDDEN_ROWS = [  # (mask kind, dtype): float32 takes flash's vectorised exp; a float mask also gets dL/dM
    ("bool", "float32"),
    ("float", "float64"),
    ("padding", "float64"),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("kind", "dtype"), HIDDEN_ROWS, ids=[k for k, _ in HIDDEN_ROWS])
def test_rows_with_every_key_hidden_are_zero_as_in_torch(variant: str, kind: str, dtype: str) -> None:
    mask = _hidden_rows(kind)
    with kernels.use("attention", variant, "cpu"), kernels.use("attention_backward", variant, "cpu"):
        compare_with_torch(
            lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
            lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
            [*_qkv((2, 3, 5, 8), mask.shape[-1], seed=10), mask],
            dtype=dtype,
            tol_scale=10.0 if dtype == "float32" else 1.0,
        )


def test_second_derivatives_with_a_row_that_sees_no_key_match_torch() -> None:
    """create_graph differentiates the decomposition: 0 on the hidden row, no NaN, as PyTorch."""
    mask = _hidden_rows("bool")[0, 1, :, :4]  # 3-d inputs: PyTorch's math path, which it differentiates twice
    arrays = _qkv((1, 5, 3), 4, seed=11)
    rng = np.random.default_rng(12)
    v, u = rng.standard_normal((1, 5, 3)), [rng.standard_normal(a.shape) for a in arrays]
    ours = second_order.second_derivatives(
        gg, lambda q, k, v_: F.scaled_dot_product_attention(q, k, v_, attn_mask=gg.tensor(mask)), arrays, v, u
    )
    theirs = second_order.second_derivatives(
        torch, lambda q, k, v_: TF.scaled_dot_product_attention(q, k, v_, attn_mask=torch.tensor(mask)), arrays, v, u
    )
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert np.isfinite(a).all(), f"d/d(input {i})"
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8, err_msg=f"d/d(input {i}) of vᵀJ·u")


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradcheck(variant: str) -> None:
    q, k, v = (gg.tensor(a, requires_grad=True) for a in _qkv((2, 1, 5, 4), 7, seed=6))
    with kernels.use("attention", variant, "cpu"), kernels.use("attention_backward", variant, "cpu"):
        assert gg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [q, k, v])
        q2, k2, v2 = (gg.tensor(a, requires_grad=True) for a in _qkv((1, 2, 6, 4), seed=7))
        assert gg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q2, k2, v2])


def test_non_contiguous_inputs() -> None:
    base = [gg.tensor(a, requires_grad=True) for a in _qkv((2, 9, 3, 8), seed=8)]  # (B, L, H, D)
    out = F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in base), is_causal=True)
    tb = [torch.tensor(t.detach().numpy(), requires_grad=True) for t in base]
    want = TF.scaled_dot_product_attention(*(t.transpose(1, 2) for t in tb), is_causal=True)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), atol=1e-10)
    out.sum().backward()
    want.sum().backward()
    for a, b in zip(base, tb, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((2, 4, 8), (2, 4, 6), (2, 4, 6)), {}, "head dims differ"),
        (((2, 4, 8), (3, 4, 8), (3, 4, 8)), {}, "batch dims differ"),
        (((2, 4, 8), (2, 5, 8), (2, 6, 8)), {}, "key and value lengths differ"),
        (
            ((2, 4, 8), (2, 5, 8), (2, 5, 8)),
            {"attn_mask": np.ones((3, 4, 5), dtype=bool)},
            "attn_mask of shape \\(3, 4, 5\\)",
        ),
        (((2, 4, 8), (2, 5, 8), (2, 5, 8)), {"is_causal": True, "attn_mask": np.ones((4, 5), dtype=bool)}, "not both"),
    ],
)
def test_bad_inputs(args, kwargs, message: str) -> None:
    tensors = [gg.zeros(*s) for s in args]
    if "attn_mask" in kwargs:
        kwargs = {**kwargs, "attn_mask": gg.tensor(kwargs["attn_mask"])}
    with pytest.raises((RuntimeError, ValueError), match=message):
        F.scaled_dot_product_attention(*tensors, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "x"}, r"argument 'scale' must be float, not str"),
        ({"dropout_p": "a"}, r"argument 'dropout_p' must be float, not str"),
        ({"dropout_p": None}, r"argument 'dropout_p' must be float, not NoneType"),
        ({"dropout_p": 1.5}, r"dropout probability has to be between 0 and 1, but got 1.5"),
        ({"is_causal": "a"}, r"argument 'is_causal' must be bool, not str"),
    ],
)
def test_bad_scalar_arguments_raise_what_pytorch_raises(kwargs, message: str) -> None:
    with pytest.raises(Exception) as theirs:  # the type is read from torch
        TF.scaled_dot_product_attention(*(torch.ones(1, 2, 4) for _ in range(3)), **kwargs)
    with pytest.raises(theirs.type, match="scaled_dot_product_attention: " + message):
        F.scaled_dot_product_attention(*(gg.ones(1, 2, 4) for _ in range(3)), **kwargs)


def test_scale_accepts_any_number() -> None:
    q = np.random.default_rng(3).standard_normal((1, 2, 4))
    for scale in (1, 0.5, np.float32(2.0), True):
        ours = F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(q), gg.tensor(q), scale=scale)
        theirs = TF.scaled_dot_product_attention(*(torch.tensor(q) for _ in range(3)), scale=scale)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
