"""BERT (Devlin et al. 2018) with Hugging Face's module names, so a ``transformers`` checkpoint loads unchanged.

    embeddings:  x = LayerNorm(word[ids] + position[0..L-1] + token_type[segments]);  dropout
    each layer (post-norm):
        a = LayerNorm(x + dropout(Wₒ · MultiHead(x, key mask) + bₒ))          attention.self / attention.output
        x = LayerNorm(a + dropout(W₂ · act(W₁ a + b₁) + b₂))                    intermediate / output
    pooler:      tanh(W_p · x[:, 0] + b_p)                                        (the [CLS] position)
    classifier:  logits = W_c · dropout(pooler) + b_c                            (BertForSequenceClassification)

MultiHead runs ``F.scaled_dot_product_attention`` per head with a boolean key mask built from
``attention_mask`` (1 = a real token, 0 = padding) and ``dropout_p`` = attention_probs_dropout_prob while
training. ``act`` is GELU with erf (``hidden_act="gelu"``), as BERT's checkpoints use.

``from_pretrained(directory)`` reads a Hugging Face directory: ``config.json`` and ``model.safetensors`` (or
a sharded ``model.safetensors.index.json``), through glassgrad's checked safetensors reader. Key prefixes are
matched to the model ("bert." for BertForSequenceClassification and BertForPreTraining checkpoints, none for
BertModel), the old ``LayerNorm.gamma/beta`` names read as ``weight/bias``, the pre-training heads (``cls.*``)
and position-id buffers are skipped. A missing pooler or classifier is newly initialised (a warning names
it, as transformers does); any other missing, unexpected or mis-shaped key raises ``CheckpointError``.
``save_pretrained(directory)`` writes the same two files, readable by ``transformers``.

For fine-tuning on real text, ``load_hf_tokenizer(directory)`` reads the checkpoint's WordPiece tokenizer
(``tokenizer.json``, or ``vocab.txt``) through the ``tokenizers`` package, and ``encode_texts(tokenizer,
texts, pairs)`` gives the three (B, L) inputs as the checkpoint was trained with: [CLS] a [SEP] (b [SEP]),
segment ids 0/1, padded with [PAD] to the batch's longest and cut to ``max_length``:

    model = BertForSequenceClassification.from_pretrained("bert-base-uncased/", num_labels=2)
    tokenizer = load_hf_tokenizer("bert-base-uncased/")
    input_ids, attention_mask, token_type_ids = encode_texts(tokenizer, ["a fine film", "dull"])
    logits = model(input_ids, attention_mask, token_type_ids)
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .. import nn
from ..engine import creation, dtypes
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from ..nn import functional as F
from ..safe_archive import CheckpointError
from .hf_checkpoint import (
    CONFIG_NAME,
    config_from_dict,
    known_fields,
    listing,
    positive_int_problems,
    read_config,
    read_json_object,
    read_weights,
    write_pretrained,
)

ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


@dataclass(frozen=True)
class BertConfig:
    """The fields of a Hugging Face BERT ``config.json`` that shape the model (defaults: bert-base-uncased).

    ``num_labels`` is the classifier's width (``len(id2label)`` in the JSON); ``classifier_dropout`` None
    means hidden_dropout_prob, as in transformers.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    num_labels: int = 2
    classifier_dropout: float | None = None

    def __post_init__(self) -> None:
        sizes = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
        problems = positive_int_problems(self, (*sizes, "max_position_embeddings", "type_vocab_size", "num_labels"))
        if not problems and self.hidden_size % self.num_attention_heads:
            problems.append(
                f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads {self.num_attention_heads}"
            )
        if self.hidden_act not in ACTIVATIONS:
            problems.append(f"hidden_act must be one of {sorted(ACTIVATIONS)}, got {self.hidden_act!r}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            value = getattr(self, name)
            if value is None and name == "classifier_dropout":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                problems.append(f"{name} must be a probability in [0, 1], got {value!r}")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                problems.append(f"{name} must be a positive number, got {value!r}")
        vocab = self.vocab_size if isinstance(self.vocab_size, int) else 0
        if self.pad_token_id is not None and (
            isinstance(self.pad_token_id, bool)
            or not isinstance(self.pad_token_id, int)
            or not 0 <= self.pad_token_id < vocab
        ):
            problems.append(
                f"pad_token_id must be an id in [0, vocab_size={self.vocab_size}), got {self.pad_token_id!r}"
            )
        if problems:
            raise ValueError("BertConfig: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BertConfig:
        """From a parsed ``config.json``: known fields are taken, ``id2label`` sets num_labels, the rest
        (architectures, transformers_version, ...) is ignored. Only absolute position embeddings exist here."""
        if values.get("model_type", "bert") != "bert":
            raise ValueError(f"BertConfig: model_type is {values['model_type']!r}, not 'bert'")
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(
                f"BertConfig: position_embedding_type {values['position_embedding_type']!r} is not supported "
                "(only 'absolute')"
            )
        taken = known_fields(cls, values)
        if "num_labels" not in taken and isinstance(values.get("id2label"), dict):
            taken["num_labels"] = len(values["id2label"])
        return cls(**taken)

    @classmethod
    def from_json_file(cls, path: str | Path, api: str = "BertConfig") -> BertConfig:
        """From a ``config.json`` file; CheckpointError (naming ``api``) when it is not a BERT config."""
        return config_from_dict(cls, read_json_object(Path(path), api), Path(path), api)

    def to_dict(self) -> dict[str, Any]:
        """The JSON transformers reads back (model_type, id2label for num_labels)."""
        values = dataclasses.asdict(self)
        labels = values.pop("num_labels")
        values["id2label"] = {str(i): f"LABEL_{i}" for i in range(labels)}
        values["label2id"] = {f"LABEL_{i}": i for i in range(labels)}
        return {"model_type": "bert", "position_embedding_type": "absolute", **values}


class BertModelOutput(NamedTuple):
    """``last_hidden_state`` (B, L, hidden) and ``pooler_output`` (B, hidden), or None without a pooler."""

    last_hidden_state: Tensor
    pooler_output: Tensor | None


class BertEmbeddings(nn.Module):
    """LayerNorm(word[ids] + position[0..L-1] + token_type[segments]), then dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        positions = creation.arange(input_ids.shape[1], device=input_ids.device)  # int64
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(token_type_ids)
        )
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """softmax(Q Kᵀ / √d + mask) V per head, Q = x W_qᵀ + b_q (likewise K, V), heads of d = hidden/heads."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_prob = config.attention_probs_dropout_prob

    def _heads(self, x: Tensor) -> Tensor:
        """(B, L, hidden) → (B, heads, L, d)."""
        b, length, _ = x.shape
        return x.reshape(b, length, self.num_attention_heads, self.attention_head_size).transpose(1, 2)

    def forward(self, hidden_states: Tensor, key_mask: Tensor | None) -> Tensor:
        q, k, v = (self._heads(layer(hidden_states)) for layer in (self.query, self.key, self.value))
        dropout_p = self.dropout_prob if self.training else 0.0
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=dropout_p)
        b, _, length, _ = context.shape
        return context.transpose(1, 2).reshape(b, length, self.num_attention_heads * self.attention_head_size)


class BertSelfOutput(nn.Module):
    """LayerNorm(dropout(W h + b) + residual), W from ``in_features`` (default hidden) to hidden."""

    def __init__(self, config: BertConfig, in_features: int | None = None) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size if in_features is None else in_features, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    """The attention sub-block: ``self`` (the heads) and ``output`` (projection, residual, LayerNorm)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: Tensor, key_mask: Tensor | None) -> Tensor:
        return self.output(self.self(hidden_states, key_mask), hidden_states)


class BertIntermediate(nn.Module):
    """act(W₁ x + b₁), widening hidden → intermediate."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.hidden_act = config.hidden_act

    def forward(self, hidden_states: Tensor) -> Tensor:
        return ACTIVATIONS[self.hidden_act](self.dense(hidden_states))


class BertOutput(BertSelfOutput):
    """LayerNorm(dropout(W₂ h + b₂) + residual), narrowing intermediate → hidden."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config, config.intermediate_size)


class BertLayer(nn.Module):
    """One post-norm encoder block: attention sub-block, then the feed-forward sub-block."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, key_mask: Tensor | None) -> Tensor:
        attended = self.attention(hidden_states, key_mask)
        return self.output(self.intermediate(attended), attended)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states: Tensor, key_mask: Tensor | None) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, key_mask)
        return hidden_states


class BertPooler(nn.Module):
    """tanh(W x[:, 0] + b): the [CLS] position's final state."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.dense(hidden_states[:, 0]).tanh()


class BertPreTrainedModel(nn.Module):
    """What the BERT models share: transformers' initialisation, from_pretrained and save_pretrained.

    ``base_prefix`` is where the encoder's keys sit inside this model ("" for BertModel, "bert." for the
    models with a head); keys under ``head_prefixes`` may be absent from a checkpoint (newly initialised).
    """

    base_prefix = ""
    head_prefixes: tuple[str, ...] = ()

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__}: config must be a BertConfig, got {type(config).__name__}")
        self.config = config

    def init_weights(self, root: nn.Module | None = None) -> None:
        """transformers' init of ``root``'s modules (default all): Linear and Embedding weights
        ~ N(0, initializer_range), biases 0, the padding row 0, LayerNorm γ = 1, β = 0."""
        std = self.config.initializer_range
        with no_grad():
            for module in (root or self).modules():
                if isinstance(module, nn.Linear | nn.Embedding):
                    nn.init.normal_(module.weight, 0.0, std)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
                if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                    module.weight[module.padding_idx] = 0
                if isinstance(module, nn.LayerNorm):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

    @classmethod
    def from_pretrained(cls, directory: str | Path, dtype: Any = None, **overrides: Any) -> BertPreTrainedModel:
        """The model of a Hugging Face directory (config.json + model.safetensors), weights loaded.

        ``overrides`` replace config fields (``num_labels=3`` for a new classification head on
        bert-base-uncased, ``hidden_dropout_prob=0.0``); ``dtype`` casts the model (default float32).
        """
        api = f"{cls.__name__}.from_pretrained"
        root = Path(directory)
        config = config_from_dict(BertConfig, read_config(root, api), root / CONFIG_NAME, api)
        if overrides:
            try:
                config = dataclasses.replace(config, **overrides)
            except TypeError as err:
                raise TypeError(f"{api}: {err}") from None
        state = read_weights(root, api)
        model = cls(config)
        if dtype is not None:
            model.to(dtype=dtype)
        model.load_hf_state_dict(state, source=str(root), api=api)
        return model.eval()

    def load_hf_state_dict(self, state: dict[str, Any], source: str = "state_dict", api: str = "") -> list[str]:
        """Load a transformers-style state dict (any of the BERT prefixes); returns the keys newly initialised.

        Every check runs before a value is written: unexpected keys, missing encoder keys, shapes.
        """
        api = api or f"{type(self).__name__}.load_hf_state_dict"
        own = self._state_tensors()
        renamed = _rename_keys(state, self.base_prefix, set(own))
        unexpected = sorted(k for k in renamed if k not in own)
        missing = [k for k in own if k not in renamed]
        fresh = [k for k in missing if k.startswith(self.head_prefixes)]
        absent = [k for k in missing if k not in fresh]
        problems = []
        if absent:
            problems.append(f"missing keys {_few(absent)}")
        if unexpected:
            problems.append(f"unexpected keys {_few(unexpected)}")
        for key, value in renamed.items():
            if key in own and tuple(np.shape(value)) != own[key].shape:
                problems.append(
                    f"{key} has shape {tuple(np.shape(value))} in {source}, the model's is {own[key].shape}"
                )
        if problems:
            raise CheckpointError(
                f"{api}: {source} does not fit {type(self).__name__} ({self.config.num_hidden_layers} layers, hidden "
                f"{self.config.hidden_size}, {self.config.num_labels} labels): " + "; ".join(problems)
            )
        if fresh:
            warnings.warn(
                f"{api}: {source} has no {_few(fresh)}; newly initialised (train them before use)", stacklevel=3
            )
        self.load_state_dict(renamed, strict=False)
        return fresh

    def save_pretrained(self, directory: str | Path) -> None:
        """Write config.json and model.safetensors (float tensors as they are) for transformers or from_pretrained."""
        arrays = {k: np.ascontiguousarray(t.cpu().numpy()) for k, t in self.state_dict().items()}
        write_pretrained(directory, self.config.to_dict() | {"architectures": [type(self).__name__]}, arrays)


class BertModel(BertPreTrainedModel):
    """The encoder: ``forward(input_ids, attention_mask=None, token_type_ids=None) -> BertModelOutput``.

    input_ids (B, L) integer ids with L ≤ max_position_embeddings; attention_mask (B, L) 1 for tokens,
    0 for padding (default all 1); token_type_ids (B, L) segment ids (default 0).
    """

    head_prefixes = ("pooler.",)

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(
        self, input_ids: Tensor, attention_mask: Any = None, token_type_ids: Tensor | None = None
    ) -> BertModelOutput:
        api = f"{type(self).__name__}.forward"
        _check_ids(api, "input_ids", input_ids, self.config.vocab_size, None)
        batch, length = input_ids.shape
        if length > self.config.max_position_embeddings:
            raise ValueError(
                f"{api}: input_ids has {length} positions, more than max_position_embeddings "
                f"{self.config.max_position_embeddings}"
            )
        if token_type_ids is None:
            token_type_ids = creation.zeros(batch, length, dtype=dtypes.int64, device=input_ids.device)
        else:
            _check_ids(api, "token_type_ids", token_type_ids, self.config.type_vocab_size, input_ids.shape)
        key_mask = None if attention_mask is None else _key_mask(api, attention_mask, input_ids)
        hidden = self.encoder(self.embeddings(input_ids, token_type_ids), key_mask)
        return BertModelOutput(hidden, None if self.pooler is None else self.pooler(hidden))


class BertForSequenceClassification(BertPreTrainedModel):
    """``bert`` → pooler output → dropout → ``classifier`` (hidden → num_labels): ``forward(...) -> logits``."""

    base_prefix = "bert."
    head_prefixes = ("classifier.", "bert.pooler.")

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        p = config.hidden_dropout_prob if config.classifier_dropout is None else config.classifier_dropout
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights(self.classifier)  # (self.bert initialised itself)

    def forward(self, input_ids: Tensor, attention_mask: Any = None, token_type_ids: Tensor | None = None) -> Tensor:
        pooled = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).pooler_output
        return self.classifier(self.dropout(pooled))


def load_hf_tokenizer(directory: str | Path) -> Any:
    """The ``tokenizers.Tokenizer`` of a Hugging Face BERT directory: its ``tokenizer.json``, else a WordPiece
    tokenizer from ``vocab.txt`` (lower-casing unless tokenizer_config.json says ``do_lower_case: false``)."""
    import tokenizers

    root = Path(directory)
    if (root / "tokenizer.json").is_file():
        return tokenizers.Tokenizer.from_file(str(root / "tokenizer.json"))
    if (root / "vocab.txt").is_file():
        settings = root / "tokenizer_config.json"
        lower = (
            json.loads(settings.read_text(encoding="utf-8")).get("do_lower_case", True) if settings.is_file() else True
        )
        return tokenizers.BertWordPieceTokenizer(str(root / "vocab.txt"), lowercase=lower)
    where = f"it holds {listing(root)}" if root.is_dir() else "it is not a directory"
    raise FileNotFoundError(f"load_hf_tokenizer: {root} has no tokenizer.json or vocab.txt ({where})")


def encode_texts(
    tokenizer: Any, texts: Sequence[str], pairs: Sequence[str] | None = None, max_length: int = 512
) -> tuple[Tensor, Tensor, Tensor]:
    """(input_ids, attention_mask, token_type_ids), each (B, L) int64: every text (with its pair) encoded by
    a ``tokenizers.Tokenizer`` with its special tokens, cut to ``max_length`` (the longer of a pair first) and
    padded with [PAD] to the longest. The tokenizer's own padding and truncation settings are left as found."""
    texts = list(texts)
    if pairs is not None and len(pairs) != len(texts):
        raise ValueError(f"encode_texts: {len(texts)} texts but {len(pairs)} pairs")
    pad_id = tokenizer.token_to_id("[PAD]")
    if pad_id is None:
        raise ValueError("encode_texts: the tokenizer has no [PAD] token")
    padding, truncation = tokenizer.padding, tokenizer.truncation
    tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
    tokenizer.enable_truncation(max_length)
    try:
        encodings = tokenizer.encode_batch(texts if pairs is None else list(zip(texts, pairs, strict=True)))
    finally:
        tokenizer.no_padding() if padding is None else tokenizer.enable_padding(**padding)
        tokenizer.no_truncation() if truncation is None else tokenizer.enable_truncation(**truncation)
    return tuple(  # type: ignore[return-value]
        creation.tensor(np.array([getattr(e, field) for e in encodings], dtype=np.int64))
        for field in ("ids", "attention_mask", "type_ids")
    )


def _check_ids(api: str, name: str, ids: Any, limit: int, shape: tuple[int, ...] | None) -> None:
    """A (B, L) integer tensor (of ``shape`` when given) with values in [0, limit)."""
    if not isinstance(ids, Tensor) or ids.dtype.kind not in "iu":
        kind = ids.dtype if isinstance(ids, Tensor) else type(ids).__name__
        raise TypeError(f"{api}: {name} must be an integer Tensor of shape (batch, length), got {kind}")
    if ids.ndim != 2 or (shape is not None and ids.shape != shape):
        want = "(batch, length)" if shape is None else f"{shape}, input_ids' shape"
        raise ValueError(f"{api}: {name} must have shape {want}, got {ids.shape}")
    if ids.numel() and not (0 <= int(ids.min().item()) and int(ids.max().item()) < limit):
        raise IndexError(
            f"{api}: {name} holds values outside [0, {limit}): min {int(ids.min().item())}, max {int(ids.max().item())}"
        )


def _key_mask(api: str, attention_mask: Any, input_ids: Tensor) -> Tensor:
    """attention_mask (B, L) of 1/0 → a (B, 1, 1, L) bool mask, True where a key is a real token."""
    mask = attention_mask if isinstance(attention_mask, Tensor) else creation.tensor(np.asarray(attention_mask))
    if mask.shape != input_ids.shape:
        raise ValueError(f"{api}: attention_mask has shape {mask.shape}, input_ids {input_ids.shape}; they must match")
    keep = mask if mask.dtype == np.bool_ else mask.ne(0)
    return keep.to(input_ids.device).reshape(mask.shape[0], 1, 1, mask.shape[1])


def _few(keys: list[str]) -> str:
    return ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")


def _rename_keys(state: dict[str, Any], base_prefix: str, own: set[str]) -> dict[str, Any]:
    """transformers' keys as this model's: old LayerNorm.gamma/beta names, the "bert." prefix added or
    dropped, the pre-training heads (cls.*) and position/token-type id buffers left out; a BertModel also
    leaves out a classification checkpoint's classifier."""
    renamed = {}
    for key, value in state.items():
        if key.endswith("LayerNorm.gamma"):
            key = key.removesuffix("gamma") + "weight"
        elif key.endswith("LayerNorm.beta"):
            key = key.removesuffix("beta") + "bias"
        if key.startswith("cls.") or key.endswith(("embeddings.position_ids", "embeddings.token_type_ids")):
            continue
        if base_prefix:
            if not key.startswith(base_prefix) and base_prefix + key in own:
                key = base_prefix + key
        elif key.startswith("bert."):
            key = key.removeprefix("bert.")
        elif key.startswith("classifier."):
            continue
        renamed[key] = value
    return renamed
