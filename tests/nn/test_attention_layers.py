"""nn.MultiheadAttention against torch.nn.MultiheadAttention: state_dict both ways, outputs, attention weights,
input, mask and parameter gradients (float64, 1e-10) across its options; initialisation; dropout in training
mode; PyTorch's errors for bad shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from attention_twin import compare, raises_like_torch, twins

import glassgrad as gg

E, H, L, S, N = 8, 2, 4, 5, 3


def _mha(**options):
    return twins(
        lambda: gg.nn.MultiheadAttention(E, H, **options), lambda: torch.nn.MultiheadAttention(E, H, **options)
    )


def _padding(n: int = N, s: int = S) -> np.ndarray:
    """A bool key padding mask hiding the last keys of all but the first sequence (no row fully hidden)."""
    mask = np.zeros((n, s), dtype=bool)
    for b in range(1, n):
        mask[b, s - b :] = True
    return mask


def _causal(n: int) -> np.ndarray:
    return np.triu(np.ones((n, n), dtype=bool), 1)


rng = np.random.default_rng(0)
CASES = {
    # self-attention (the packed projection), seq-first, bool 2-D attn_mask and bool key_padding_mask, averaged weights
    "self, bool masks, weights": (
        {},
        {"x": rng.standard_normal((S, N, E)), "mask": rng.random((S, S)) < 0.3, "pad": _padding()},
        lambda m, t: m(t["x"], t["x"], t["x"], attn_mask=t["mask"], key_padding_mask=t["pad"]),
    ),
    # kdim/vdim (separate projections), batch_first, bias_k/bias_v, a zero key, float 3-D attn_mask and float
    # key_padding_mask (both differentiated), per-head weights
    "kdim/vdim, bias_kv, zero_attn, float masks, per-head": (
        {"kdim": 3, "vdim": 6, "batch_first": True, "add_bias_kv": True, "add_zero_attn": True},
        {
            "q": rng.standard_normal((N, L, E)),
            "k": rng.standard_normal((N, S, 3)),
            "v": rng.standard_normal((N, S, 6)),
            "mask": rng.standard_normal((N * H, L, S)),
            "pad": rng.standard_normal((N, S)),
        },
        lambda m, t: m(
            t["q"], t["k"], t["v"], attn_mask=t["mask"], key_padding_mask=t["pad"], average_attn_weights=False
        ),
    ),
    # need_weights=False: F.scaled_dot_product_attention, causal hint with its mask (the fused causal kernel)
    "sdpa, is_causal": (
        {"batch_first": True},
        {"x": rng.standard_normal((N, L, E)), "mask": _causal(L)},
        lambda m, t: m(t["x"], t["x"], t["x"], attn_mask=t["mask"], need_weights=False, is_causal=True),
    ),
    # need_weights=False, cross attention with key is value, float 2-D mask and float padding (differentiated), no bias
    "sdpa, shared kv, masks, no bias": (
        {"bias": False},
        {
            "q": rng.standard_normal((L, N, E)),
            "kv": rng.standard_normal((S, N, E)),
            "mask": rng.standard_normal((L, S)),
            "pad": np.where(_padding(), -np.inf, 0.0),
        },
        lambda m, t: m(t["q"], t["kv"], t["kv"], attn_mask=t["mask"], key_padding_mask=t["pad"], need_weights=False),
    ),
    # unbatched (L, E) input, a 3-D (heads, L, S) bool mask, a 1-D padding mask, causal hint with weights
    "unbatched": (
        {"add_bias_kv": True},
        {
            "q": rng.standard_normal((L, E)),
            "k": rng.standard_normal((S, E)),
            "v": rng.standard_normal((S, E)),
            "mask": rng.random((H, L, S)) < 0.3,
            "pad": _padding(2)[1],
        },
        lambda m, t: m(t["q"], t["k"], t["v"], attn_mask=t["mask"], key_padding_mask=t["pad"]),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch(case: str) -> None:
    options, arrays, run = CASES[case]
    compare(*_mha(**options), arrays, run)


@pytest.mark.parametrize("need_weights", [True, False])
def test_a_fully_padded_sequence_as_pytorch(need_weights: bool) -> None:
    """Every key of one sequence is padding: PyTorch's explicit softmax (need_weights=True) gives NaN there,
    its scaled_dot_product_attention (need_weights=False) attention 0, i.e. the output projection's bias."""
    pad = _padding(s=L)
    pad[1] = True
    x = np.random.default_rng(3).standard_normal((N, L, E))
    run = lambda m, t: m(t["x"], t["x"], t["x"], key_padding_mask=t["pad"], need_weights=need_weights)  # noqa: E731
    out = compare(*_mha(batch_first=True), {"x": x, "pad": pad}, run)[0]
    assert np.isnan(out[1]).all() == need_weights and not np.isnan(out[[0, 2]]).any()


def test_initialisation_as_pytorch() -> None:
    gg.manual_seed(0)
    m = gg.nn.MultiheadAttention(E, H, add_bias_kv=True)
    t = torch.nn.MultiheadAttention(E, H, add_bias_kv=True)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        k: tuple(v.shape) for k, v in t.state_dict().items()
    }
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()
    w = m.in_proj_weight.detach().numpy()
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ of (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(m.out_proj.weight.detach().numpy()).max() <= 1 / np.sqrt(E)  # Linear's init
    assert m.bias_k.shape == (1, 1, E) and m.bias_k.detach().numpy().std() > 0
    separate = gg.nn.MultiheadAttention(E, H, kdim=3, vdim=6, bias=False)
    assert separate.in_proj_weight is None and separate.in_proj_bias is None and separate.out_proj.bias is None
    assert [n for n, _ in separate.named_parameters()] == [
        n for n, _ in torch.nn.MultiheadAttention(E, H, kdim=3, vdim=6, bias=False).named_parameters()
    ]


def test_dropout_in_training_mode() -> None:
    p = 0.5
    m = gg.nn.MultiheadAttention(E, H, dropout=p).to(gg.float64)
    x = gg.tensor(np.random.default_rng(1).standard_normal((30, 4, E)))
    m.eval()
    with gg.no_grad():
        out_eval, weights_eval = m(x, x, x, average_attn_weights=False)
    m.train()
    gg.manual_seed(5)
    with gg.no_grad():
        out_train, weights = m(x, x, x, average_attn_weights=False)
    kept = weights.numpy() != 0
    assert abs((1 - kept.mean()) - p) < 5 * np.sqrt(p * (1 - p) / kept.size)
    np.testing.assert_allclose(weights.numpy()[kept], weights_eval.numpy()[kept] / (1 - p), rtol=1e-12)
    assert not np.allclose(out_train.numpy(), out_eval.numpy())
    # the fused path (need_weights=False) draws the same mask from the same seed
    gg.manual_seed(5)
    with gg.no_grad():
        out_sdpa, none = m(x, x, x, need_weights=False)
    assert none is None
    np.testing.assert_allclose(out_sdpa.numpy(), out_train.numpy(), atol=1e-12)


BAD = [
    ("4-d query", {}, ((1, L, N, E), (S, N, E), (S, N, E)), {}, "query should be unbatched 2D or batched 3D"),
    ("2-d key with 3-d query", {}, ((L, N, E), (S, E), (S, E)), {}, "expected `key` and `value` to be 3-D"),
    ("embed dim", {}, ((L, N, 6), (S, N, 6), (S, N, 6)), {}, "expecting embedding dimension of 8, but got 6"),
    ("key vs value", {}, ((L, N, E), (S, N, E), (S + 1, N, E)), {}, "does not match value"),
    ("key batch", {}, ((L, N, E), (S, N + 1, E), (S, N + 1, E)), {}, "expected key of shape"),
    ("kdim", {}, ((L, N, E), (S, N, 3), (S, N, 3)), {}, "expected key of shape"),
    ("vdim", {"vdim": 6}, ((L, N, E), (S, N, E), (S, N, 5)), {}, "expected value of shape"),
    ("2-d attn_mask", {}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": (L, L)}, "2D attn_mask is"),
    ("3-d attn_mask", {}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": (N, L, S)}, "3D attn_mask is"),
    ("1-d attn_mask", {}, ((L, N, E), (S, N, E), (S, N, E)), {"attn_mask": (S,)}, "2-D or 3-D"),
    ("unbatched 3-d attn_mask", {}, ((L, E), (S, E), (S, E)), {"attn_mask": (1, L, S)}, "Expected `attn_mask` shape"),
    ("padding rank", {}, ((L, N, E), (S, N, E), (S, N, E)), {"key_padding_mask": (S,)}, "`key_padding_mask` to be"),
    ("padding shape", {}, ((L, N, E), (S, N, E), (S, N, E)), {"key_padding_mask": (N, S + 1)}, "key_padd"),
    ("causal without mask", {}, ((L, N, E), (S, N, E), (S, N, E)), {"is_causal": True}, "Need attn_mask"),
]


@pytest.mark.parametrize(("name", "options", "shapes", "masks", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_shapes_raise_what_pytorch_raises(name, options, shapes, masks, match) -> None:
    ours, theirs = gg.nn.MultiheadAttention(E, H, **options), torch.nn.MultiheadAttention(E, H, **options)

    def call(module, lib):
        args = [lib.zeros(*s, dtype=lib.float32) for s in shapes]
        kwargs = {k: (lib.zeros(*v, dtype=lib.bool) if isinstance(v, tuple) else v) for k, v in masks.items()}
        return lambda: module(*args, **kwargs)

    raises_like_torch(call(ours, gg), call(theirs, torch), match)


def test_bad_constructor_arguments_raise_what_pytorch_raises() -> None:
    raises_like_torch(lambda: gg.nn.MultiheadAttention(6, 4), lambda: torch.nn.MultiheadAttention(6, 4), "divisible")
    raises_like_torch(
        lambda: gg.nn.MultiheadAttention(0, 2), lambda: torch.nn.MultiheadAttention(0, 2), "greater than 0"
    )
