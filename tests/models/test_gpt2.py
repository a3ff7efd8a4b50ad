"""glassgrad.models.gpt2 against transformers' GPT2LMHeadModel: a tiny random model saved with
save_pretrained (config.json + model.safetensors) and loaded into glassgrad; logits, hidden states,
KV-cache generation, HF's greedy generate and one training step's gradients compared."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from transformers import GPT2Config as HFConfig
from transformers import GPT2LMHeadModel as HFModel

import glassgrad as gg
from glassgrad.models.gpt2 import GPT2Config, GPT2LMHeadModel, load_hf_gpt2

VOCAB, BLOCK = 53, 24


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    """A tiny random GPT-2 (weights N(0, 0.3²) so logits are far from ties) saved to a directory."""
    torch.manual_seed(0)
    config = HFConfig(
        vocab_size=VOCAB,
        n_positions=BLOCK,
        n_embd=16,
        n_layer=2,
        n_head=2,
        initializer_range=0.3,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        resid_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
    )
    model = HFModel(config).eval()
    directory = tmp_path_factory.mktemp("gpt2")
    model.save_pretrained(directory)
    return model, directory


def ids(batch, length, seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (batch, length))


def test_logits_and_hidden_states_match_transformers(hf):
    model, directory = hf
    x = ids(2, 9)
    for dtype, tol in ((torch.float32, 1e-5), (torch.float64, 1e-10)):
        twin = model.to(dtype)
        ours = load_hf_gpt2(directory, dtype=gg.float32 if dtype == torch.float32 else gg.float64)
        assert not ours.training
        with torch.no_grad():
            expected = twin(torch.tensor(x), output_hidden_states=True)
        with gg.no_grad():
            logits = ours(gg.tensor(x))
            hidden, states = ours.transformer(gg.tensor(x), output_hidden_states=True)
        assert logits.dtype == (np.float32 if dtype == torch.float32 else np.float64)
        np.testing.assert_allclose(logits.numpy(), expected.logits.numpy(), rtol=tol, atol=tol)
        assert len(states) == len(expected.hidden_states) == 3
        for a, b in zip(states, expected.hidden_states, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(hidden.numpy(), expected.hidden_states[-1].numpy(), rtol=tol, atol=tol)
    model.float()


def test_gpt2model_checkpoint_and_hf_state_dict_round_trip(hf, tmp_path):
    """A GPT2Model's keys (no "transformer." prefix) load too; hf_state_dict gives the file's tensors back;
    save_pretrained writes what transformers loads."""
    model, directory = hf
    model.transformer.save_pretrained(tmp_path)
    assert not any(k.startswith("transformer.") for k in load_file(tmp_path / "model.safetensors"))
    ours = load_hf_gpt2(tmp_path)
    with torch.no_grad():
        expected = model(torch.tensor(ids(1, 5))).logits.numpy()
    with gg.no_grad():
        np.testing.assert_allclose(ours(gg.tensor(ids(1, 5))).numpy(), expected, rtol=1e-5, atol=1e-5)
    stored = load_file(directory / "model.safetensors")
    exported = load_hf_gpt2(directory).hf_state_dict()
    assert sorted(exported) == sorted(stored)
    for key, array in stored.items():
        np.testing.assert_array_equal(exported[key], array)
    # and what glassgrad saves, transformers reads
    gg.manual_seed(1)
    fresh = GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_positions=BLOCK, n_embd=16, n_layer=1, n_head=4)).eval()
    fresh.save_pretrained(tmp_path / "saved")
    twin = HFModel.from_pretrained(tmp_path / "saved").eval()
    with torch.no_grad(), gg.no_grad():
        expected = twin(torch.tensor(ids(2, 5))).logits.numpy()
        np.testing.assert_allclose(fresh(gg.tensor(ids(2, 5))).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_kv_cache_generation_equals_uncached_and_transformers_greedy(hf, tmp_path):
    model, directory = hf
    twin = model.double()
    ours = load_hf_gpt2(directory, dtype=gg.float64)
    x = ids(2, 7, seed=1)
    # a chunk after a cached prefix sees the prefix (the mask is bottom-right aligned)
    with gg.no_grad():
        full = ours(gg.tensor(x))
        _, past = ours(gg.tensor(x[:, :4]), use_cache=True)
        rest, present = ours(gg.tensor(x[:, 4:]), past, use_cache=True)
    np.testing.assert_allclose(rest.numpy(), full.numpy()[:, 4:], rtol=1e-12, atol=1e-12)
    assert present[0][0].shape == (2, 2, 7, 8)

    prompt = gg.tensor(x[:, :3])
    cached = ours.generate(prompt, 8, temperature=0)
    uncached = ours.generate(prompt, 8, temperature=0, use_cache=False)
    with torch.no_grad():
        expected = twin.generate(
            torch.tensor(x[:, :3]),
            attention_mask=torch.ones(2, 3, dtype=torch.long),
            max_new_tokens=8,
            do_sample=False,
            pad_token_id=0,
        )
    np.testing.assert_array_equal(cached.numpy(), expected.numpy())
    np.testing.assert_array_equal(uncached.numpy(), expected.numpy())
    np.testing.assert_array_equal(ours.generate(prompt, 8, temperature=1.0, top_k=1).numpy(), expected.numpy())

    # sampling with top-k, past the block size (the window slides): the same draws with and without the cache
    long_prompt = gg.tensor(ids(2, BLOCK - 3, seed=2))
    gg.manual_seed(5)
    a = ours.generate(long_prompt, 6, temperature=0.8, top_k=5)
    gg.manual_seed(5)
    b = ours.generate(long_prompt, 6, temperature=0.8, top_k=5, use_cache=False)
    assert a.shape == (2, BLOCK + 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy()[:, : BLOCK - 3], long_prompt.numpy())
    model.float()


def test_training_step_gradients_and_adamw_match_transformers_float64(hf):
    model, directory = hf
    twin = model.double().train()
    ours = load_hf_gpt2(directory, dtype=gg.float64).train()
    x, y = ids(2, 8, seed=3), ids(2, 8, seed=4)
    torch_opt = torch.optim.AdamW(twin.parameters(), lr=1e-2, weight_decay=0.1)
    our_opt = gg.optim.AdamW(ours.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(2):
        torch_opt.zero_grad()
        logits = twin(torch.tensor(x)).logits
        torch_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), torch.tensor(y).reshape(-1))
        torch_loss.backward()
        our_opt.zero_grad()
        our_loss = gg.nn.functional.cross_entropy(ours(gg.tensor(x)).view(-1, VOCAB), gg.tensor(y).view(-1))
        our_loss.backward()
        np.testing.assert_allclose(our_loss.item(), torch_loss.item(), rtol=1e-12)
        theirs = dict(twin.named_parameters())
        for name, param in ours.named_parameters():
            expected = theirs[name].grad.numpy()
            if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
                expected = expected.T  # Conv1D's (in, out)
            np.testing.assert_allclose(param.grad.numpy(), expected, rtol=1e-9, atol=1e-11, err_msg=name)
        torch_opt.step()
        our_opt.step()
    np.testing.assert_allclose(
        ours.transformer.wte.weight.detach().numpy(),
        twin.transformer.wte.weight.detach().numpy(),
        rtol=1e-9,
        atol=1e-12,
    )
    model.float().eval()


def test_init_is_gpt2s_and_the_head_is_tied():
    config = GPT2Config(vocab_size=40, n_positions=16, n_embd=64, n_layer=3, n_head=4)
    gg.manual_seed(0)
    model = GPT2LMHeadModel(config)
    assert model.lm_head.weight is model.transformer.wte.weight
    twin = HFModel(HFConfig(vocab_size=40, n_positions=16, n_embd=64, n_layer=3, n_head=4))
    assert model.num_parameters() == sum(p.numel() for p in twin.parameters())
    block = model.transformer.h[1]
    for weight, std in (
        (block.mlp.c_fc.weight, 0.02),
        (block.attn.c_attn.weight, 0.02),
        (block.mlp.c_proj.weight, 0.02 / np.sqrt(6)),
        (block.attn.c_proj.weight, 0.02 / np.sqrt(6)),
    ):
        assert abs(weight.detach().numpy().std() / std - 1) < 0.06
    assert np.all(block.attn.c_attn.bias.detach().numpy() == 0)
    assert np.all(block.ln_1.weight.detach().numpy() == 1)
    # the default dropouts (0.1 on embeddings, attention weights, residuals) act in training only
    x = gg.tensor(ids(2, 6) % 40)
    with gg.no_grad():
        a, b = model(x), model(x)
        assert not np.allclose(a.numpy(), b.numpy())
        model.eval()
        np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())


def test_bad_directories_and_arguments_raise_clearly(hf, tmp_path):
    model, directory = hf
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_hf_gpt2(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        load_hf_gpt2(tmp_path)
    shutil.copy(directory / "config.json", tmp_path / "config.json")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no model.safetensors.*pytorch_model.bin.*never pickle"):
        load_hf_gpt2(tmp_path)
    tensors = load_file(directory / "model.safetensors")
    save_file({k: v for k, v in tensors.items() if k != "transformer.ln_f.bias"}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="missing transformer.ln_f.bias"):
        load_hf_gpt2(tmp_path)
    save_file(
        tensors | {"transformer.h.0.attn.c_attn.weight": np.zeros((48, 16), np.float32)}, tmp_path / "model.safetensors"
    )
    with pytest.raises(ValueError, match=r"c_attn.weight has shape \(48, 16\).*asks for \(16, 48\)"):
        load_hf_gpt2(tmp_path)
    save_file(tensors | {"transformer.h.9.ln_1.bias": np.zeros(16, np.float32)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="unexpected transformer.h.9.ln_1.bias"):
        load_hf_gpt2(tmp_path)
    config = json.loads((directory / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"model_type": "bert"}))
    with pytest.raises(ValueError, match="'bert' model, not gpt2"):
        load_hf_gpt2(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(config | {"n_head": 3}))
    with pytest.raises(ValueError, match="n_embd 16 is not divisible by n_head 3"):
        load_hf_gpt2(tmp_path)

    ours = load_hf_gpt2(directory)
    prompt = gg.tensor(ids(1, 3))
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        ours.generate(prompt, 2, temperature=-1.0)
    with pytest.raises(ValueError, match="top_k must be None or an integer >= 1"):
        ours.generate(prompt, 2, top_k=0)
    with pytest.raises(TypeError, match=r"generate: idx must be a \(batch, time\) integer tensor"):
        ours.generate(gg.tensor([1.0, 2.0]), 2)
    with pytest.raises(ValueError, match="exceed the block size n_positions=24"):
        ours(gg.tensor(ids(1, BLOCK + 1)))
