"""Drawing the next token from a language model's logits, as ``generate`` does step by step.

    temperature 0:  y = argmax_v z_v                                      (greedy)
    otherwise:      p = softmax(z / temperature) over the top_k largest z (the rest -inf; ties with the
                    k-th kept), y = the first v with Σ_{w ≤ v} p_w ≥ u,   u ~ U[0, 1) from the engine's
                    generator (``manual_seed`` makes the draws repeatable)

``GPT2LMHeadModel.generate`` and the char-lstm recipe's ``CharRNN.generate`` draw through ``next_token``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import random as engine_random
from ..engine.tensor import Tensor


def check_sampling(api: str, max_new_tokens: Any, temperature: Any, top_k: Any) -> None:
    """``generate``'s arguments: max_new_tokens an integer >= 0, temperature a number >= 0, top_k None or an
    integer >= 1 (bools refused); ValueError naming ``api`` otherwise."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int | np.integer) or max_new_tokens < 0:
        raise ValueError(f"{api}: max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not temperature >= 0:
        raise ValueError(f"{api}: temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1):
        raise ValueError(f"{api}: top_k must be None or an integer >= 1, got {top_k!r}")


def next_token(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """One int64 token id per row of (B, V) logits (on the cpu): argmax when ``temperature`` is 0, else a
    draw from softmax(logits / temperature) restricted to the ``top_k`` largest (ties with the k-th kept)."""
    z = np.asarray(logits.detach().cpu().array, dtype=np.float64)
    if temperature == 0:
        return Tensor(z.argmax(axis=-1).astype(np.int64))
    z = z / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = engine_random.cpu_generator().random((z.shape[0], 1))
    choice = (p.cumsum(axis=-1) < u).sum(axis=-1)  # inverse CDF
    return Tensor(np.minimum(choice, z.shape[-1] - 1).astype(np.int64))
