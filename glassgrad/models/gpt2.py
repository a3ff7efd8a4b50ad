"""GPT-2: a decoder-only transformer with Hugging Face's module names, its initialisation, a KV cache
for generation, and a loader for Hugging Face checkpoints (``config.json`` + ``model.safetensors``).

    h₀ = wte[idx] + wpe[pos]                        (dropout embd_pdrop)
    hᵢ = hᵢ₋₁ + attn(ln_1(hᵢ₋₁));  hᵢ = hᵢ + mlp(ln_2(hᵢ))    pre-norm blocks, i = 1..n_layer
    logits = ln_f(h) · wteᵀ                          the output head tied to the token embedding

    attn(x) = c_proj(softmax(Q Kᵀ/√d + causal) V),  [Q K V] = c_attn(x) split into n_head heads of d
    mlp(x)  = c_proj(gelu_tanh(c_fc(x)))             gelu_new: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))

Parameters are named as in ``transformers.GPT2LMHeadModel`` (``transformer.h.0.attn.c_attn.weight``,
...), but the projections are ``nn.Linear`` layers with PyTorch's (out, in) weights: Hugging Face's
``Conv1D`` stores the same matrices as (in, out), so ``load_hf_gpt2`` transposes them on the way in
(and ``hf_state_dict`` / ``save_pretrained`` back on the way out, for transformers to read).

Initialisation as GPT-2: every Linear and Embedding weight ~ N(0, 0.02²), biases 0, LayerNorm 1/0, and
the residual projections (attn.c_proj, mlp.c_proj) ~ N(0, (0.02/√(2·n_layer))²).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..engine import creation
from ..engine.grad_mode import no_grad
from ..engine.ops import cat
from ..engine.tensor import Tensor
from ..nn import functional as F
from .hf_checkpoint import (
    CONFIG_NAME,
    config_from_dict,
    known_fields,
    positive_int_problems,
    read_config,
    read_weights,
    write_pretrained,
)
from .sampling import check_sampling, next_token

ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu": "none"}
PastKeyValues = list[tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class GPT2Config:
    """The hyperparameters, under the names of Hugging Face's ``GPT2Config`` (``block_size`` = n_positions).

    ``n_inner`` None means 4·n_embd. ``activation_function``: "gelu_new" (the tanh GELU GPT-2 uses),
    "gelu_pytorch_tanh" (the same) or "gelu" (exact erf GELU)."""

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    activation_function: str = "gelu_new"
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    resid_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    tie_word_embeddings: bool = True
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False

    def __post_init__(self) -> None:
        problems = positive_int_problems(self, ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"))
        if self.n_inner is not None and (not isinstance(self.n_inner, int) or self.n_inner < 1):
            problems.append(f"n_inner must be None or a positive integer, got {self.n_inner!r}")
        if not problems and self.n_embd % self.n_head:
            problems.append(f"n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.activation_function not in ACTIVATIONS:
            problems.append(
                f"activation_function must be one of {tuple(ACTIVATIONS)}, got {self.activation_function!r}"
            )
        for name in ("embd_pdrop", "attn_pdrop", "resid_pdrop"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value < 1.0:
                problems.append(f"{name} must be a probability in [0, 1), got {value!r}")
        if not isinstance(self.layer_norm_epsilon, int | float) or not self.layer_norm_epsilon > 0:
            problems.append(f"layer_norm_epsilon must be positive, got {self.layer_norm_epsilon!r}")
        if problems:
            raise ValueError("GPT2Config: " + "; ".join(problems))

    @property
    def block_size(self) -> int:
        """The longest sequence the position embedding covers (n_positions)."""
        return self.n_positions

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GPT2Config:
        """A config from a Hugging Face ``config.json``'s dict: the keys this model has are read (an absent key
        keeps its default, ``block_size`` is taken for n_positions), the others are ignored."""
        values = dict(values)
        if "block_size" in values and "n_positions" not in values:
            values["n_positions"] = values.pop("block_size")
        return cls(**known_fields(cls, values))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a Hugging Face ``config.json`` holds them (with model_type "gpt2")."""
        return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], **dataclasses.asdict(self)}


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: c_attn (n_embd → 3·n_embd) gives Q, K, V; each head attends over
    the keys at or before its position (plus the cached past ones) through F.scaled_dot_product_attention
    (dropout attn_pdrop on the weights while training); c_proj mixes the heads; dropout resid_pdrop."""

    def __init__(self, config: GPT2Config, layer_idx: int = 0) -> None:
        super().__init__()
        self.n_head, self.n_embd, self.head_dim = config.n_head, config.n_embd, config.head_dim
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_pdrop = float(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        scale = 1.0 / math.sqrt(self.head_dim) if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else scale

    def _heads(self, t: Tensor, b: int, length: int) -> Tensor:
        """(B, T, C) → (B, n_head, T, head_dim)."""
        return t.view(b, length, self.n_head, self.head_dim).transpose(1, 2)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """The attended (B, T, C) output and this layer's (keys, values), past ones included, each
        (B, n_head, T_past + T, head_dim)."""
        b, length, _ = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = self._heads(q, b, length), self._heads(k, b, length), self._heads(v, b, length)
        mask, causal = None, True
        if past is not None:
            k, v = cat([past[0], k], dim=2), cat([past[1], v], dim=2)
            causal = False
            if length > 1:  # query i sits at position T_past + i: keys up to there (bottom-right aligned)
                offset = k.shape[2] - length
                mask = np.tril(np.ones((length, k.shape[2]), dtype=bool), k=offset)
        dropout_p = self.attn_pdrop if self.training else 0.0
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal, scale=self.scale
        )
        y = y.transpose(1, 2).reshape(b, length, self.n_embd)
        return self.resid_dropout(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    """c_fc (n_embd → n_inner) → GELU → c_proj (n_inner → n_embd) → dropout resid_pdrop."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        inner = config.n_inner if config.n_inner is not None else 4 * config.n_embd
        self.c_fc = nn.Linear(config.n_embd, inner)
        self.act = nn.GELU(approximate=ACTIVATIONS[config.activation_function])
        self.c_proj = nn.Linear(inner, config.n_embd)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(·))."""

    def __init__(self, config: GPT2Config, layer_idx: int = 0) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        attended, present = self.attn(self.ln_1(x), past)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), present


def _check_ids(api: str, idx: Any) -> None:
    if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.dtype.kind not in "iu":
        raise TypeError(
            f"{api}: idx must be a (batch, time) integer tensor of token ids, got "
            + (f"a {idx.dtype} tensor of shape {idx.shape}" if isinstance(idx, Tensor) else type(idx).__name__)
        )
    if idx.shape[1] == 0:
        raise ValueError(f"{api}: idx of shape {idx.shape} holds no tokens; give at least one per row")


class GPT2Model(nn.Module):
    """The transformer body (Hugging Face's ``GPT2Model``): embeddings, ``h`` blocks, final ``ln_f``.

    ``forward(idx, past=None, use_cache=False, output_hidden_states=False)`` gives the (B, T, n_embd)
    hidden state after ln_f; with ``use_cache`` also ``present`` (per layer the (keys, values) to pass as
    ``past`` next time); with ``output_hidden_states`` also the list Hugging Face returns (the embeddings'
    output, each block's output, the last one after ln_f)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([Block(config, i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(
        self,
        idx: Tensor,
        past: PastKeyValues | None = None,
        use_cache: bool = False,
        output_hidden_states: bool = False,
    ) -> Any:
        _check_ids("GPT2Model", idx)
        if past is not None and len(past) != len(self.h):
            raise ValueError(f"GPT2Model: past holds {len(past)} layers' keys and values, the model has {len(self.h)}")
        start = 0 if past is None else past[0][0].shape[2]
        length = idx.shape[1]
        if start + length > self.config.n_positions:
            raise ValueError(
                f"GPT2Model: {start} cached + {length} new tokens exceed the block size n_positions="
                f"{self.config.n_positions}; crop the input (generate does)"
            )
        positions = creation.arange(start, start + length, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(positions))
        hidden, present = [x], []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if past is None else past[i])
            present.append(kv)
            hidden.append(x)
        x = self.ln_f(x)
        hidden[-1] = x
        out: tuple[Any, ...] = (x,)
        if use_cache:
            out += (present,)
        if output_hidden_states:
            out += (hidden,)
        return out[0] if len(out) == 1 else out


class GPT2LMHeadModel(nn.Module):
    """GPT-2 with its language-model head: ``transformer`` (GPT2Model) then ``lm_head`` (no bias), whose
    weight is ``transformer.wte.weight`` itself when ``tie_word_embeddings`` (GPT-2's choice).

    ``model(idx)`` → logits (B, T, vocab_size); ``model(idx, past, use_cache=True)`` → (logits, present)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        if not isinstance(config, GPT2Config):
            raise TypeError(f"GPT2LMHeadModel: config must be a GPT2Config, got {type(config).__name__}")
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.init_weights()

    def init_weights(self) -> None:
        """GPT-2's initialisation (module docstring); then ties lm_head to wte."""
        std = self.config.initializer_range
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                residual = name.endswith("c_proj")
                nn.init.normal_(module.weight, 0.0, std / math.sqrt(2 * self.config.n_layer) if residual else std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx: Tensor, past: PastKeyValues | None = None, use_cache: bool = False) -> Any:
        if use_cache:
            hidden, present = self.transformer(idx, past, use_cache=True)
            return self.lm_head(hidden), present
        return self.lm_head(self.transformer(idx, past))

    def num_parameters(self) -> int:
        """The number of distinct parameters (the tied head counted once)."""
        return sum(p.numel() for p in self.parameters())

    @no_grad()
    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool = True,
    ) -> Tensor:
        """``idx`` (B, T) followed by ``max_new_tokens`` sampled tokens, (B, T + max_new_tokens).

        Each step: the logits of the last position divided by ``temperature`` (0: the most likely token,
        greedy), all but the ``top_k`` largest set to -inf, softmax, one draw from the engine's generator
        (``manual_seed`` makes it repeatable).

        The context is the last n_positions tokens at first; when it would outgrow n_positions the window
        jumps ahead to the last n_positions // 2 tokens. ``use_cache``: the keys and values of the context
        are kept (the KV cache), so a step runs the model on its one new token, and a jump recomputes half a
        window once; without it every step runs the whole context (the same tokens, the same logits).
        """
        _check_ids("generate", idx)
        check_sampling("generate", max_new_tokens, temperature, top_k)
        was_training = self.training
        self.eval()
        try:
            block = self.config.n_positions
            start = max(0, idx.shape[1] - block)  # the context is idx[:, start:]
            past: PastKeyValues | None = None
            for _ in range(int(max_new_tokens)):
                if idx.shape[1] - start > block:
                    start, past = idx.shape[1] - max(1, block // 2), None
                if past is None:
                    logits, past = self(idx[:, start:], use_cache=True)
                else:
                    logits, past = self(idx[:, -1:], past, use_cache=True)
                if not use_cache:
                    past = None
                step = next_token(logits[:, -1, :], temperature, top_k)
                idx = cat([idx, step.to(idx.device).view(-1, 1).to(idx.dtype)], dim=1)
        finally:
            self.train(was_training)
        return idx

    @classmethod
    def from_pretrained(cls, directory: str | Path, dtype: Any = None) -> GPT2LMHeadModel:
        """``load_hf_gpt2(directory, dtype)``."""
        return load_hf_gpt2(directory, dtype)

    def save_pretrained(self, directory: str | Path) -> None:
        """Write ``config.json`` and ``model.safetensors`` as transformers' save_pretrained does (Conv1D layout),
        so ``transformers.GPT2LMHeadModel.from_pretrained`` or ``load_hf_gpt2`` reads them."""
        write_pretrained(directory, self.config.to_dict(), self.hf_state_dict())

    def hf_state_dict(self) -> dict[str, Any]:
        """The weights as NumPy arrays under Hugging Face's layout (Conv1D weights as (in, out); no lm_head
        when tied), ready for ``safetensors.numpy.save_file``."""
        out = {}
        for key, value in self.state_dict().items():
            if key == "lm_head.weight" and self.config.tie_word_embeddings:
                continue
            array = np.asarray(value.cpu().array)
            out[key] = np.ascontiguousarray(array.T) if _is_conv1d(key) else array.copy()
        return out


GPT = GPT2LMHeadModel


# ---------------------------------------------------------------- Hugging Face checkpoints

CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")  # older transformers' causal-mask buffers


def _is_conv1d(key: str) -> bool:
    return key.endswith(CONV1D_SUFFIXES)


def read_hf_config(directory: str | Path) -> GPT2Config:
    """The GPT2Config of a Hugging Face model directory's ``config.json``."""
    values = read_config(directory, "load_hf_gpt2")
    path = Path(directory) / CONFIG_NAME
    model_type = values.get("model_type")
    if model_type not in (None, "gpt2"):
        raise ValueError(f"load_hf_gpt2: {path} describes a {model_type!r} model, not gpt2")
    if values.get("add_cross_attention"):
        raise ValueError(f"load_hf_gpt2: {path} asks for cross-attention, which this GPT-2 does not have")
    return config_from_dict(GPT2Config, values, path, "load_hf_gpt2")


def load_hf_gpt2(directory: str | Path, dtype: Any = None) -> GPT2LMHeadModel:
    """A GPT2LMHeadModel holding the weights of a Hugging Face GPT-2 directory: ``config.json`` and
    ``model.safetensors`` (or sharded safetensors) of a GPT2LMHeadModel (keys ``transformer.…``) or of a
    GPT2Model (keys without the prefix; the head is then the tied embedding).

    Conv1D weights, stored (in, out), are transposed into the Linear layout (out, in). ``dtype`` (default
    float32) is the dtype of the parameters. The model comes in eval mode (dropout off), as Hugging Face's
    ``from_pretrained`` gives it; call ``train()`` to fine-tune. Missing, unexpected or misshapen tensors raise before the
    model is returned, naming them."""
    directory = Path(directory)
    config = read_hf_config(directory)
    arrays = read_weights(directory, "load_hf_gpt2")
    state = {}
    for key, array in arrays.items():
        if key.endswith(IGNORED_SUFFIXES):
            continue
        name = key if key.startswith(("transformer.", "lm_head.")) else f"transformer.{key}"
        state[name] = np.ascontiguousarray(array.T) if _is_conv1d(name) and array.ndim == 2 else array
    model = GPT2LMHeadModel(config)
    if dtype is not None:
        model = model.to(dtype=dtype)
    own = model.state_dict()
    if config.tie_word_embeddings:
        head = state.pop("lm_head.weight", None)
        wte = state.get("transformer.wte.weight")
        if head is not None and wte is not None and not np.array_equal(head, wte):
            raise ValueError(
                f"load_hf_gpt2: {directory}'s config ties lm_head to wte but lm_head.weight differs from "
                "transformer.wte.weight"
            )
        own.pop("lm_head.weight")
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(unexpected)}"] if unexpected else []
        )
        raise ValueError(f"load_hf_gpt2: the tensors of {directory} do not fit its config.json: {'; '.join(parts)}")
    for key, target in own.items():
        if tuple(state[key].shape) != tuple(target.shape):
            stored, expected = _stored_shape(state[key].shape, key), _stored_shape(target.shape, key)
            layout = " (a Conv1D weight, stored (in, out))" if _is_conv1d(key) else ""
            raise ValueError(
                f"load_hf_gpt2: {directory}: tensor {key} has shape {stored}{layout}; its config.json asks for {expected}"
            )
    model.load_state_dict({k: state[k].astype(target.dtype, copy=False) for k, target in own.items()}, strict=False)
    return model.eval()


def _stored_shape(shape: tuple[int, ...], key: str) -> tuple[int, ...]:
    """A tensor's shape as the file stores it (Conv1D weights are (in, out), the transpose of ours)."""
    return tuple(reversed(shape)) if _is_conv1d(key) and len(shape) == 2 else tuple(shape)
