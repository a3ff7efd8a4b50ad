"""Sample text from a trained language-model run (gpt, char-lstm) or a Hugging Face GPT-2 directory.

    python -m glassgrad generate RUN_DIR --prompt "The if statement" --max-new-tokens 200 --temperature 0.8 --top-k 40

RUN_DIR is a run written by ``python -m glassgrad train RECIPE`` (its ``checkpoint.ggt`` names the recipe
and its settings; the recipe's generator rebuilds the model and reads ``tokenizer.json``; the weights come
from the checkpoint), or a Hugging Face GPT-2 directory: ``config.json``, ``model.safetensors`` and the
tokenizer's ``tokenizer.json`` (as ``save_pretrained`` writes them; read with ``models.gpt2.load_hf_gpt2``).

The prompt is encoded, continued by ``--max-new-tokens`` tokens drawn one at a time from the model's
softmax at ``--temperature`` (0: always the most likely token) among the ``--top-k`` most likely (default:
all), and the whole text is printed. An empty prompt starts a new paragraph ("\\n") for a run, and starts
from the model's ``bos_token_id`` (GPT-2's <|endoftext|>) for a Hugging Face directory. ``--seed`` makes
the draws repeatable (default: fresh ones each time).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..cli import PROG, UsageError, require_cuda
from ..training.checkpoint import CHECKPOINT_NAME
from .train import non_negative_int, positive_int

HF_FILES = ("config.json", "tokenizer.json")


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0 (0 = greedy), got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", type=Path, help="a training run's directory, or a Hugging Face GPT-2 directory"
    )
    parser.add_argument("--prompt", default="", help='the text to continue (default: "", a new paragraph)')
    parser.add_argument(
        "--max-new-tokens", type=non_negative_int, default=200, help="tokens to generate after the prompt (default 200)"
    )
    parser.add_argument(
        "--temperature", type=_temperature, default=0.8, help="softmax temperature; 0 = greedy (default 0.8)"
    )
    parser.add_argument("--top-k", type=positive_int, help="draw among the K most likely tokens only (default: all)")
    parser.add_argument("--seed", type=non_negative_int, help="random seed for the draws (default: fresh each time)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device (default cpu)")


class _HFTokenizer:
    """A Hugging Face ``tokenizer.json`` (the ``tokenizers`` package) with the run tokenizers' encode/decode."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.backend = Tokenizer.from_file(str(path))

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=False)


def _from_run(run_dir: Path, device: str, prog: str) -> tuple[Any, Any, list[int]]:
    """(model with the checkpoint's weights, tokenizer, ids of an empty prompt) of a training run."""
    import glassgrad

    from ..recipes import get_recipe
    from ..training.checkpoint import read_meta

    checkpoint = run_dir / CHECKPOINT_NAME
    try:
        meta = read_meta(checkpoint)
    except (ValueError, OSError) as err:
        raise UsageError(f"cannot read {checkpoint} ({err})", prog) from None
    if meta["recipe"] is None or meta["config"] is None:
        raise UsageError(f"{checkpoint} does not record which recipe wrote it (an older glassgrad)", prog)
    try:
        recipe = get_recipe(meta["recipe"])
    except ValueError as err:
        raise UsageError(str(err), prog) from None
    if recipe.generator is None:
        raise UsageError(
            f"{run_dir} is a {recipe.name} run; {recipe.name} is not a language model (no generator): "
            "generate samples from gpt or char-lstm runs",
            prog,
        )
    try:
        fields = {f.name for f in dataclasses.fields(recipe.defaults)}
        config = dataclasses.replace(recipe.defaults, **{k: v for k, v in meta["config"].items() if k in fields})
        config = config.replace(device=device)
        model, tokenizer = recipe.generator(config, run_dir)
        model.load_state_dict(glassgrad.load(checkpoint)["modules"]["model"])
    except (ValueError, OSError, KeyError, RuntimeError, TypeError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise UsageError(f"cannot rebuild the {recipe.name} model of {run_dir}: {' '.join(lines[:2])}", prog) from None
    return model.to(device), tokenizer, tokenizer.encode("\n")


def _from_hf(run_dir: Path, device: str, prog: str) -> tuple[Any, Any, list[int]]:
    """(model, tokenizer, [bos_token_id]) of a Hugging Face GPT-2 directory."""
    import json

    from ..models.gpt2 import load_hf_gpt2

    missing = [name for name in HF_FILES if not (run_dir / name).is_file()]
    if missing:
        raise UsageError(f"{run_dir} holds a Hugging Face config.json but no {', '.join(missing)}", prog)
    try:
        model = load_hf_gpt2(run_dir)
        tokenizer = _HFTokenizer(run_dir / "tokenizer.json")
        bos = json.loads((run_dir / "config.json").read_text()).get("bos_token_id")
    except (ValueError, OSError, KeyError, RuntimeError, TypeError) as err:
        raise UsageError(str(err), prog) from None
    valid = isinstance(bos, int) and 0 <= bos < model.config.vocab_size
    return model.to(device), tokenizer, [bos] if valid else []


def run(args: argparse.Namespace) -> int:
    from ..engine import creation
    from ..engine.random import manual_seed

    prog = f"{PROG} generate"
    run_dir: Path = args.run_dir
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a directory; give a training run's directory (its --out)", prog)
    if args.device == "cuda":
        require_cuda(prog, "sample")
    if (run_dir / CHECKPOINT_NAME).is_file():
        model, tokenizer, empty = _from_run(run_dir, args.device, prog)
    elif (run_dir / "config.json").is_file():
        model, tokenizer, empty = _from_hf(run_dir, args.device, prog)
    else:
        raise UsageError(
            f"{run_dir} holds no {CHECKPOINT_NAME} (train a language model there: {PROG} train gpt --out "
            f"{run_dir}) nor a Hugging Face config.json",
            prog,
        )
    try:
        ids = tokenizer.encode(args.prompt) if args.prompt else empty
    except ValueError as err:
        raise UsageError(f"--prompt: {err}", prog) from None
    if not ids:
        raise UsageError("--prompt encodes to no tokens and the model has no start token; give some text", prog)
    manual_seed(args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**63))
    idx = creation.tensor(np.asarray([ids], dtype=np.int64))
    out = model.generate(
        idx if args.device == "cpu" else idx.to(args.device),
        args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
    )
    print(tokenizer.decode(out[0].cpu().numpy().tolist()))
    return 0
