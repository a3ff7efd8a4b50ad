"""glassgrad.models.bert against transformers: tiny random BertModel / BertForSequenceClassification saved with
save_pretrained, loaded with from_pretrained, hidden states, pooler output and logits compared (float32,
1e-5) with padding masks and segment ids; one training step's gradients in float64; the loader's errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from safetensors.numpy import load_file, save_file

import glassgrad as gg
from glassgrad.models.bert import (
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    encode_texts,
    load_hf_tokenizer,
)
from glassgrad.safe_archive import CheckpointError

HF_CONFIG = dict(
    vocab_size=53,
    hidden_size=24,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=40,
    max_position_embeddings=20,
    type_vocab_size=2,
    num_labels=3,
)


def _batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids (3, 9) with the padded places holding [PAD] = 0, a 1/0 mask padding two rows, segments 0 then 1."""
    ids = np.random.default_rng(5).integers(1, HF_CONFIG["vocab_size"], (3, 9))
    mask = np.ones((3, 9), dtype=np.int64)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    ids[mask == 0] = 0
    segments = np.zeros((3, 9), dtype=np.int64)
    segments[:, 4:] = 1
    return ids, mask, segments


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The HF twins (eval mode) and the directories they were saved to."""
    torch.manual_seed(0)
    config = transformers.BertConfig(**HF_CONFIG)
    encoder = transformers.BertModel(config).eval()
    classifier = transformers.BertForSequenceClassification(config).eval()
    root = tmp_path_factory.mktemp("bert")
    encoder.save_pretrained(root / "encoder")
    classifier.save_pretrained(root / "classifier")
    return {"encoder": encoder, "classifier": classifier, "root": root}


def _torch_inputs(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.tensor(a) for a in arrays]


def test_bert_model_matches_transformers_with_padding_and_segments(saved) -> None:
    ids, mask, segments = _batch()
    with torch.no_grad():
        want = saved["encoder"](*_torch_inputs(ids, mask, segments))
    model = BertModel.from_pretrained(saved["root"] / "encoder")
    assert not model.training
    got = model(gg.tensor(ids), attention_mask=gg.tensor(mask), token_type_ids=gg.tensor(segments))
    assert got.last_hidden_state.dtype == np.float32
    np.testing.assert_allclose(got.last_hidden_state.detach().numpy(), want.last_hidden_state.numpy(), atol=1e-5)
    np.testing.assert_allclose(got.pooler_output.detach().numpy(), want.pooler_output.numpy(), atol=1e-5)
    # defaults: no mask = every token attended, no segments = all 0
    with torch.no_grad():
        plain = saved["encoder"](torch.tensor(ids))
    hidden, pooled = model(gg.tensor(ids))
    np.testing.assert_allclose(hidden.detach().numpy(), plain.last_hidden_state.numpy(), atol=1e-5)
    np.testing.assert_allclose(pooled.detach().numpy(), plain.pooler_output.numpy(), atol=1e-5)


def test_classifier_logits_match_and_encoder_loads_from_its_checkpoint(saved) -> None:
    ids, mask, segments = _batch()
    hf = saved["classifier"]
    with torch.no_grad():
        want = hf(*_torch_inputs(ids, mask, segments)).logits.numpy()
        want_hidden = hf.bert(*_torch_inputs(ids, mask, segments)).last_hidden_state.numpy()
    model = BertForSequenceClassification.from_pretrained(saved["root"] / "classifier")
    assert model.config.num_labels == 3 and model.state_dict().keys() == hf.state_dict().keys()
    logits = model(gg.tensor(ids), attention_mask=gg.tensor(mask), token_type_ids=gg.tensor(segments))
    np.testing.assert_allclose(logits.detach().numpy(), want, atol=1e-5)
    encoder = BertModel.from_pretrained(saved["root"] / "classifier")  # "bert." stripped, classifier left out
    hidden = encoder(gg.tensor(ids), gg.tensor(mask), gg.tensor(segments)).last_hidden_state
    np.testing.assert_allclose(hidden.detach().numpy(), want_hidden, atol=1e-5)


def test_pretraining_style_checkpoint_and_new_head(saved, tmp_path: Path) -> None:
    """bert-base-uncased's layout: "bert." keys, LayerNorm.gamma/beta, cls.* heads, a position_ids buffer."""
    source = saved["root"] / "encoder"
    arrays = load_file(str(source / "model.safetensors"))
    legacy = {"bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
              for k, v in arrays.items()}  # fmt: skip
    legacy["cls.predictions.bias"] = np.zeros(HF_CONFIG["vocab_size"], np.float32)
    legacy["bert.embeddings.position_ids"] = np.arange(HF_CONFIG["max_position_embeddings"])[None]
    (tmp_path / "config.json").write_text((source / "config.json").read_text())
    save_file(legacy, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    ids, mask, segments = _batch()
    with torch.no_grad():
        want = saved["encoder"](*_torch_inputs(ids, mask, segments)).pooler_output.numpy()
    pooled = BertModel.from_pretrained(tmp_path)(gg.tensor(ids), gg.tensor(mask), gg.tensor(segments))[1]
    np.testing.assert_allclose(pooled.detach().numpy(), want, atol=1e-5)
    with pytest.warns(UserWarning, match=r"classifier\.weight, classifier\.bias; newly initialised"):
        model = BertForSequenceClassification.from_pretrained(tmp_path, num_labels=4, classifier_dropout=0.2)
    assert model.classifier.weight.shape == (4, HF_CONFIG["hidden_size"]) and model.dropout.p == 0.2
    assert float(model.classifier.bias.abs().max().item()) == 0.0
    std = float(model.classifier.weight.std().item())
    assert 0.005 < std < 0.04  # N(0, initializer_range = 0.02)


def test_one_training_step_gradients_match_in_float64(saved) -> None:
    torch.manual_seed(1)
    config = transformers.BertConfig(**HF_CONFIG, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    hf = transformers.BertForSequenceClassification(config).double().train()
    ours = BertForSequenceClassification(
        BertConfig(**HF_CONFIG, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    )
    ours.double().load_hf_state_dict({k: v.detach().numpy() for k, v in hf.state_dict().items()})
    ids, mask, segments = _batch()
    labels = np.array([2, 0, 1])
    logits = hf(*_torch_inputs(ids, mask, segments)).logits
    torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).backward()
    ours.train()
    mine = ours(gg.tensor(ids), attention_mask=gg.tensor(mask), token_type_ids=gg.tensor(segments))
    gg.nn.functional.cross_entropy(mine, gg.tensor(labels)).backward()
    np.testing.assert_allclose(mine.detach().numpy(), logits.detach().numpy(), rtol=0, atol=1e-12)
    theirs = dict(hf.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), theirs[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_init_and_save_pretrained_round_trip_through_transformers(tmp_path: Path) -> None:
    config = BertConfig(**HF_CONFIG)
    model = BertForSequenceClassification(config)
    state = model.state_dict()
    assert float(state["bert.encoder.layer.0.attention.self.query.bias"].abs().max().item()) == 0.0
    assert np.all(state["bert.embeddings.LayerNorm.weight"].numpy() == 1.0)
    assert np.all(state["bert.embeddings.word_embeddings.weight"].numpy()[config.pad_token_id] == 0.0)
    assert 0.015 < float(state["bert.encoder.layer.1.output.dense.weight"].std().item()) < 0.025
    model.save_pretrained(tmp_path)
    hf = transformers.BertForSequenceClassification.from_pretrained(tmp_path).eval()
    ids, mask, segments = _batch()
    with torch.no_grad():
        want = hf(*_torch_inputs(ids, mask, segments)).logits.numpy()
    got = model.eval()(gg.tensor(ids), gg.tensor(mask), gg.tensor(segments))
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-5)


def _copy(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in ("config.json", "model.safetensors"):
        (target / name).write_bytes((source / name).read_bytes())
    return target


def test_loader_errors_name_the_problem(saved, tmp_path: Path) -> None:
    source = saved["root"] / "encoder"
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        BertModel.from_pretrained(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        BertModel.from_pretrained(tmp_path)
    no_weights = tmp_path / "pickled"
    no_weights.mkdir()
    (no_weights / "config.json").write_text((source / "config.json").read_text())
    (no_weights / "pytorch_model.bin").write_bytes(b"\x80")
    with pytest.raises(FileNotFoundError, match="no model.safetensors .pytorch_model.bin is there.*never pickle"):
        BertModel.from_pretrained(no_weights)

    wider = _copy(source, tmp_path / "wider")
    values = json.loads((wider / "config.json").read_text())
    (wider / "config.json").write_text(json.dumps(values | {"hidden_size": 32}))
    with pytest.raises(CheckpointError, match=r"embeddings\.word_embeddings\.weight has shape \(53, 24\).*\(53, 32\)"):
        BertModel.from_pretrained(wider)
    deeper = _copy(source, tmp_path / "deeper")
    (deeper / "config.json").write_text(json.dumps(values | {"num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match=r"missing keys encoder\.layer\.2\.attention\.self\.query\.weight"):
        BertModel.from_pretrained(deeper)
    shallower = _copy(source, tmp_path / "shallower")
    (shallower / "config.json").write_text(json.dumps(values | {"num_hidden_layers": 1}))
    with pytest.raises(CheckpointError, match=r"unexpected keys encoder\.layer\.1\."):
        BertModel.from_pretrained(shallower)
    other = _copy(source, tmp_path / "gpt")
    (other / "config.json").write_text(json.dumps(values | {"model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="model_type is 'gpt2', not 'bert'"):
        BertModel.from_pretrained(other)
    broken = _copy(source, tmp_path / "broken")
    (broken / "config.json").write_text("{")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        BertModel.from_pretrained(broken)
    (broken / "config.json").write_text((source / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"\x10\x00")
    with pytest.raises(CheckpointError, match="too short for a safetensors file"):
        BertModel.from_pretrained(broken)
    with pytest.raises(TypeError, match="unexpected keyword argument 'hidden_sise'"):
        BertModel.from_pretrained(source, hidden_sise=8)


def test_bad_config_and_inputs_raise_naming_the_api() -> None:
    with pytest.raises(ValueError, match="hidden_size 10 is not a multiple of num_attention_heads 4"):
        BertConfig(hidden_size=10, num_attention_heads=4)
    with pytest.raises(ValueError, match="hidden_act must be one of"):
        BertConfig(hidden_act="mish")
    model = BertModel(BertConfig(**{k: v for k, v in HF_CONFIG.items() if k != "num_labels"}))
    ids = gg.tensor(_batch()[0])
    with pytest.raises(TypeError, match="BertModel.forward: input_ids must be an integer Tensor"):
        model(ids.float())
    with pytest.raises(ValueError, match="more than max_position_embeddings 20"):
        model(gg.zeros(1, 21, dtype=gg.int64))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(3, 8\), input_ids \(3, 9\)"):
        model(ids, attention_mask=gg.ones(3, 8))
    with pytest.raises(IndexError, match=r"token_type_ids holds values outside \[0, 2\)"):
        model(ids, token_type_ids=gg.full((3, 9), 2, dtype=gg.int64))


def test_wordpiece_tokenizer_encodes_as_transformers(tmp_path: Path) -> None:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "a", "dog"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    hf = transformers.BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})
    hf.save_pretrained(tmp_path / "saved")
    texts, pairs = ["The cats sat", "a dog on the mat mats", "dog"], ["the dog", "cat", "a cat sat on a mat"]
    for directory in (tmp_path / "saved", tmp_path):  # tokenizer.json; vocab.txt alone
        tokenizer = load_hf_tokenizer(directory)
        settings = (tokenizer.padding, tokenizer.truncation)
        for second, length in ((None, 512), (pairs, 7)):
            want = hf(texts, second, padding=True, truncation=True, max_length=length)
            got = encode_texts(tokenizer, texts, second, max_length=length)
            for tensor, key in zip(got, ("input_ids", "attention_mask", "token_type_ids"), strict=True):
                assert tensor.dtype == np.int64 and tensor.tolist() == want[key], (directory, key)
        assert (tokenizer.padding, tokenizer.truncation) == settings
    with pytest.raises(FileNotFoundError, match="no tokenizer.json or vocab.txt"):
        load_hf_tokenizer(tmp_path / "saved" / "absent")


def test_dropout_only_while_training() -> None:
    config = BertConfig(**HF_CONFIG, hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.3)
    model = BertForSequenceClassification(config)
    ids, mask, _ = (gg.tensor(a) for a in _batch())
    first, second = model(ids, mask), model(ids, mask)
    assert not np.allclose(first.detach().numpy(), second.detach().numpy())
    gg.manual_seed(7)
    again = model(ids, mask)
    gg.manual_seed(7)
    np.testing.assert_array_equal(model(ids, mask).detach().numpy(), again.detach().numpy())
    model.eval()
    np.testing.assert_array_equal(model(ids, mask).detach().numpy(), model(ids, mask).detach().numpy())
