"""F.scaled_dot_product_attention with dropout_p > 0: the mask's statistics and scaling, reproducibility
under gg.manual_seed, and forward and gradients against the explicit PyTorch composition
softmax(QKᵀ·s + M) ⊙ D/(1 − p) V with the same mask D."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.engine import random


def _drawn_keep(seed: int, shape: tuple[int, ...], p: float) -> np.ndarray:
    """The keep mask the engine draws for attention weights of ``shape`` right after manual_seed(seed)."""
    gg.manual_seed(seed)
    return random.cpu_generator().random(shape) >= p


def test_weights_are_dropped_with_probability_p_and_kept_ones_scaled() -> None:
    # V = identity makes the output the dropped weights themselves
    n, lq, lk, p = 4, 40, 48, 0.3
    rng = np.random.default_rng(0)
    q, k = gg.tensor(rng.standard_normal((n, lq, lk))), gg.tensor(rng.standard_normal((n, lk, lk)))
    v = gg.tensor(np.broadcast_to(np.eye(lk), (n, lk, lk)).copy())
    weights = F.scaled_dot_product_attention(q, k, v).numpy()
    gg.manual_seed(7)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
    kept = dropped != 0
    # fraction dropped within 5 standard deviations of p
    assert abs((1 - kept.mean()) - p) < 5 * np.sqrt(p * (1 - p) / kept.size)
    np.testing.assert_allclose(dropped[kept], weights[kept] / (1 - p), rtol=1e-12)
    # the same seed draws the same mask, another seed another one
    gg.manual_seed(7)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy(), dropped)
    gg.manual_seed(8)
    assert not np.array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy(), dropped)
    # p = 1 drops everything, as PyTorch
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().any()
    assert not torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(t.numpy()) for t in (q, k, v)), dropout_p=1.0
    ).any()


@pytest.mark.parametrize("case", ["float mask with grad, 4-d", "bool mask", "causal", "rows that see no key"])
def test_forward_and_gradients_match_the_composition_with_the_same_mask(case: str) -> None:
    rng = np.random.default_rng(1)
    b, h, lq, lk, d, p, scale = 2, 3, 5, 7, 4, 0.4, None
    arrays = [
        rng.standard_normal((b, h, lq, d)),
        rng.standard_normal((b, h, lk, d)),
        rng.standard_normal((b, h, lk, d)),
    ]
    mask = None
    if case.startswith("float"):
        mask, scale = rng.standard_normal((b, 1, lq, lk)), 0.8
    elif case == "bool mask":
        mask = rng.random((lq, lk)) < 0.7
        mask[:, 0] = True
    elif case == "rows that see no key":  # a float -inf row and a fully padded batch item: weights 0 there
        mask, scale = np.where(rng.random((b, 1, lq, lk)) < 0.7, 0.0, -np.inf), 0.8
        mask[0, 0, 1], mask[1] = -np.inf, -np.inf
    if case == "causal":
        lk = lq
        arrays = [a[..., :lq, :] for a in arrays]
    kwargs = {"is_causal": case == "causal", "scale": scale}
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    mask_g = None if mask is None else gg.tensor(mask, requires_grad=mask.dtype != bool)
    mask_t = None if mask is None else torch.tensor(mask, requires_grad=mask.dtype != bool)

    gg.manual_seed(3)
    out = F.scaled_dot_product_attention(*ours, attn_mask=mask_g, dropout_p=p, **kwargs)
    keep = torch.tensor(_drawn_keep(3, (b * h, lq, lk), p).reshape(b, h, lq, lk))

    qt, kt, vt = theirs
    scores = qt @ kt.transpose(-1, -2) * (scale if scale is not None else d**-0.5)
    if mask_t is not None:
        scores = scores.masked_fill(~mask_t, -torch.inf) if mask_t.dtype == torch.bool else scores + mask_t
    if kwargs["is_causal"]:
        scores = scores.masked_fill(~torch.ones(lq, lk, dtype=torch.bool).tril(), -torch.inf)
    # PyTorch's math attention takes its softmax as _safe_softmax: 0 on a row of -inf scores
    want = (torch._safe_softmax(scores, -1) * keep / (1 - p)) @ vt
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), atol=1e-12, rtol=1e-10)
    if mask is not None and mask.dtype != bool:  # PyTorch's own dropout attention agrees on the hidden rows
        hidden = np.isneginf(mask).all(axis=-1).repeat(h, axis=1)
        theirs_out = torch.nn.functional.scaled_dot_product_attention(
            *(t.detach() for t in theirs), attn_mask=mask_t.detach(), dropout_p=p, scale=scale
        )
        assert not theirs_out.numpy()[hidden].any() and not out.detach().numpy()[hidden].any()

    g = rng.standard_normal(want.shape)
    out.backward(gg.tensor(g))
    want.backward(torch.tensor(g))
    pairs = list(zip(ours, theirs, strict=True))
    if mask_g is not None and mask_g.requires_grad:
        pairs.append((mask_g, mask_t))
    for a, t in pairs:
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10, rtol=1e-10)
