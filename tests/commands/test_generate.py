"""``python -m glassgrad generate`` in-process: a Hugging Face GPT-2 directory (a tiny random
transformers model with a byte-level BPE tokenizer.json) sampled greedily equals transformers' own
greedy generate; runs that cannot be sampled are refused with one line. (tests/recipes/test_gpt.py
samples from a gpt training run.)"""

import json

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel

import glassgrad as gg
from glassgrad.cli import main

TEXT = "The if statement is used for conditional execution. The while statement repeats while a condition holds."


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    """config.json + model.safetensors (save_pretrained) + tokenizer.json of a tiny GPT-2."""
    directory = tmp_path_factory.mktemp("hf-gpt2")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator([TEXT], trainer)
    tokenizer.save(str(directory / "tokenizer.json"))
    eos = tokenizer.token_to_id("<|endoftext|>")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=tokenizer.get_vocab_size(),
        n_positions=32,
        n_embd=16,
        n_layer=2,
        n_head=2,
        initializer_range=0.3,
        bos_token_id=eos,
        eos_token_id=None,
    )
    model = GPT2LMHeadModel(config).eval().double()
    model.save_pretrained(directory)
    return directory, model, tokenizer


def test_hf_directory_greedy_equals_transformers_generate(hf_dir, capsys):
    directory, model, tokenizer = hf_dir
    for prompt, ids in (("The if", tokenizer.encode("The if").ids), ("", [model.config.bos_token_id])):
        assert (
            main(["generate", str(directory), "--prompt", prompt, "--max-new-tokens", "6", "--temperature", "0"]) == 0
        )
        with torch.no_grad():
            expected = model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=6,
                do_sample=False,
                pad_token_id=0,
            )
        assert capsys.readouterr().out == tokenizer.decode(expected[0].tolist(), skip_special_tokens=False) + "\n"


def test_generate_refuses_what_it_cannot_sample(hf_dir, tmp_path, capsys):
    directory, _, _ = hf_dir

    def refused(args, message):
        assert main(["generate", *args]) == 2
        assert message in capsys.readouterr().err

    refused([str(tmp_path / "absent")], "is not a directory")
    refused([str(tmp_path)], "holds no checkpoint.ggt")
    (tmp_path / "config.json").write_text((directory / "config.json").read_text())
    refused([str(tmp_path)], "holds a Hugging Face config.json but no tokenizer.json")
    (tmp_path / "tokenizer.json").write_text((directory / "tokenizer.json").read_text())
    refused([str(tmp_path)], "has no model.safetensors")

    linreg = tmp_path / "linreg"
    linreg.mkdir()
    config = {"epochs": 1, "batch_size": 8, "lr": 0.1, "optimizer": "sgd"}
    gg.save({"epoch": 1, "meta": {"recipe": "linreg", "config": json.dumps(config)}}, linreg / "checkpoint.ggt")
    refused([str(linreg)], "linreg is not a language model (no generator)")
    gg.save({"epoch": 1, "meta": {"recipe": "no-such", "config": json.dumps(config)}}, linreg / "checkpoint.ggt")
    refused([str(linreg)], "no recipe named 'no-such'")
    (linreg / "checkpoint.ggt").write_bytes(b"not a checkpoint")
    refused([str(linreg)], "cannot read")

    with pytest.raises(SystemExit):
        main(["generate", str(directory), "--temperature", "-1"])
    assert "must be a number >= 0" in capsys.readouterr().err
