"""nn.TransformerEncoderLayer/Encoder/DecoderLayer/Decoder/Transformer against PyTorch's: state_dict keys both
ways, outputs, input and parameter gradients (float64, 1e-10) across norm_first, activations, batch_first,
bias and the masks; the deep-copied layers; generate_square_subsequent_mask; dropout in training mode;
PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from attention_twin import compare, raises_like_torch, twins

import glassgrad as gg
import glassgrad.nn.functional as F

# PyTorch's TransformerEncoder warns that it cannot take its nested-tensor fast path for these configurations
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")

E, H, FF, S, T, N = 8, 2, 12, 5, 4, 2
rng = np.random.default_rng(0)


def _padding(n: int, s: int) -> np.ndarray:
    mask = np.zeros((n, s), dtype=bool)
    mask[1:, s - 1] = True
    return mask


def _causal(n: int) -> np.ndarray:
    return np.triu(np.full((n, n), -np.inf), 1)


def _for(lib, options: dict) -> dict:
    """Options with (glassgrad's, PyTorch's) pairs, such as a callable activation, resolved for ``lib``."""
    return {k: (v[0] if lib is gg else v[1]) if isinstance(v, tuple) else v for k, v in options.items()}


CASES = {
    # post-norm, relu, seq-first, bool src_mask and bool padding
    "encoder layer": (
        lambda lib, **o: lib.nn.TransformerEncoderLayer(E, H, FF, **o),
        {},
        {"x": rng.standard_normal((S, N, E)), "mask": rng.random((S, S)) < 0.3, "pad": _padding(N, S)},
        lambda m, t: m(t["x"], src_mask=t["mask"], src_key_padding_mask=t["pad"]),
    ),
    # pre-norm, gelu, batch_first, no bias, a float mask (differentiated) and the causal hint
    "encoder layer, norm_first gelu batch_first no bias": (
        lambda lib, **o: lib.nn.TransformerEncoderLayer(E, H, FF, **o),
        {"norm_first": True, "activation": "gelu", "batch_first": True, "bias": False, "layer_norm_eps": 1e-3},
        {"x": rng.standard_normal((N, S, E)), "mask": _causal(S)},
        lambda m, t: m(t["x"], src_mask=t["mask"], is_causal=True),
    ),
    # decoder layer: every mask (float causal tgt_mask and float tgt padding, bool memory masks), pre-norm,
    # a callable activation
    "decoder layer": (
        lambda lib, **o: lib.nn.TransformerDecoderLayer(E, H, FF, **o),
        {"norm_first": True, "activation": (F.gelu, TF.gelu)},
        {
            "tgt": rng.standard_normal((T, N, E)),
            "mem": rng.standard_normal((S, N, E)),
            "tgt_mask": _causal(T),
            "mem_mask": rng.random((T, S)) < 0.3,
            "tgt_pad": np.where(_padding(N, T), -np.inf, 0.0),
            "mem_pad": _padding(N, S),
        },
        lambda m, t: m(
            t["tgt"],
            t["mem"],
            tgt_mask=t["tgt_mask"],
            memory_mask=t["mem_mask"],
            tgt_key_padding_mask=t["tgt_pad"],
            memory_key_padding_mask=t["mem_pad"],
        ),
    ),
    # encoder stack: the causal mask detected (is_causal=None), bool padding, a final norm, unbatched input
    "encoder, unbatched": (
        lambda lib, **o: lib.nn.TransformerEncoder(
            lib.nn.TransformerEncoderLayer(E, H, FF), 2, lib.nn.LayerNorm(E), **o
        ),
        {"enable_nested_tensor": False},
        {"x": rng.standard_normal((S, E)), "mask": _causal(S)},
        lambda m, t: m(t["x"], mask=t["mask"]),
    ),
    # the whole Transformer, batch_first: src/tgt/memory padding, a causal tgt_mask with its hint
    "transformer": (
        lambda lib, **o: lib.nn.Transformer(E, H, 2, 1, FF, **o),
        {"batch_first": True},
        {
            "src": rng.standard_normal((N, S, E)),
            "tgt": rng.standard_normal((N, T, E)),
            "tgt_mask": _causal(T),
            "src_pad": _padding(N, S),
            "tgt_pad": np.where(_padding(N, T), -np.inf, 0.0),
        },
        lambda m, t: m(
            t["src"],
            t["tgt"],
            tgt_mask=t["tgt_mask"],
            src_key_padding_mask=t["src_pad"],
            tgt_key_padding_mask=t["tgt_pad"],
            memory_key_padding_mask=t["src_pad"],
            tgt_is_causal=True,
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch(case: str) -> None:
    make, options, arrays, run = CASES[case]
    ours, theirs = twins(lambda: make(gg, **_for(gg, options)), lambda: make(torch, **_for(torch, options)))
    compare(ours, theirs, arrays, run)


def test_state_dict_keys_and_deep_copied_layers() -> None:
    model = gg.nn.Transformer(E, H, 2, 2, FF)
    assert list(model.state_dict()) == list(torch.nn.Transformer(E, H, 2, 2, FF).state_dict())
    layer = gg.nn.TransformerEncoderLayer(E, H, FF)
    encoder = gg.nn.TransformerEncoder(layer, 3)
    first, last = encoder.layers[0].linear1.weight, encoder.layers[2].linear1.weight
    assert first is not last and first is not layer.linear1.weight
    np.testing.assert_array_equal(first.detach().numpy(), layer.linear1.weight.detach().numpy())
    with gg.no_grad():
        first.mul_(2.0)
    assert not np.array_equal(first.detach().numpy(), last.detach().numpy())


def test_generate_square_subsequent_mask() -> None:
    ours, theirs = (
        gg.nn.Transformer.generate_square_subsequent_mask(4),
        torch.nn.Transformer.generate_square_subsequent_mask(4),
    )
    assert ours.dtype == gg.float32 and ours.shape == (4, 4)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert gg.nn.Transformer.generate_square_subsequent_mask(3, dtype=gg.float64).dtype == gg.float64


def test_dropout_in_training_mode() -> None:
    layer = gg.nn.TransformerEncoderLayer(E, H, FF, dropout=0.5).to(gg.float64)
    x = gg.tensor(rng.standard_normal((S, N, E)))
    with gg.no_grad():
        layer.eval()
        eval_out = layer(x).numpy()
        layer.train()
        gg.manual_seed(1)
        train_out = layer(x).numpy()
        gg.manual_seed(1)
        again = layer(x).numpy()
        layer.eval()
        eval_again = layer(x).numpy()
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_array_equal(train_out, again)
    np.testing.assert_array_equal(eval_again, eval_out)


def test_bad_arguments_raise_what_pytorch_raises() -> None:
    def both(make, call=None):
        if call is None:
            return (lambda: make(gg)), (lambda: make(torch))
        ours, theirs = make(gg), make(torch)
        return (lambda: call(ours, gg)), (lambda: call(theirs, torch))

    raises_like_torch(*both(lambda lib: lib.nn.TransformerEncoderLayer(E, H, activation="tanh")), "relu/gelu")
    model = lambda lib: lib.nn.Transformer(E, H, 1, 1, FF)  # noqa: E731
    raises_like_torch(
        *both(model, lambda m, lib: m(lib.zeros(S, N, E), lib.zeros(T, N + 1, E))), "batch number of src and tgt"
    )
    raises_like_torch(*both(model, lambda m, lib: m(lib.zeros(S, N, E), lib.zeros(T, N, 6))), "d_model")
