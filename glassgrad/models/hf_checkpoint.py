"""Hugging Face model directories: ``config.json`` plus ``model.safetensors`` (or the shards a
``model.safetensors.index.json`` lists), read through glassgrad's checked safetensors reader and written
as transformers' ``save_pretrained`` writes them.

Every error names ``api``, the function the user called (``load_hf_gpt2``,
``BertForSequenceClassification.from_pretrained``, ...). A directory holding only pickled weights
(``pytorch_model.bin``, ...) is refused with a hint to convert them: glassgrad never unpickles.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..safe_archive import CheckpointError
from ..safetensors_io import decode

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
OTHER_WEIGHTS = ("*.bin", "*.h5", "*.msgpack")  # PyTorch pickles, TensorFlow, Flax


def listing(root: Path) -> str:
    """The first ten names in ``root``, for error messages."""
    names = sorted(p.name for p in root.iterdir())
    return ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else "nothing"


def read_json_object(path: Path, api: str) -> dict[str, Any]:
    """The JSON object in the file ``path``; CheckpointError if it is not valid JSON or not an object."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise CheckpointError(f"{api}: {path} is not valid JSON ({err})") from None
    if not isinstance(values, dict):
        raise CheckpointError(f"{api}: {path} holds a JSON {type(values).__name__}, not an object")
    return values


def read_config(directory: str | Path, api: str) -> dict[str, Any]:
    """The parsed ``config.json`` of the model directory ``directory``."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{api}: {root} is not a directory (give one holding {CONFIG_NAME} and weights)")
    path = root / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{api}: {root} has no {CONFIG_NAME} (it holds {listing(root)})")
    return read_json_object(path, api)


def read_weights(directory: str | Path, api: str) -> dict[str, np.ndarray]:
    """Every tensor of ``model.safetensors``, or of every shard ``model.safetensors.index.json`` names."""
    root = Path(directory)
    if (root / WEIGHTS_NAME).is_file():
        return decode(root / WEIGHTS_NAME)
    index = root / INDEX_NAME
    if index.is_file():
        try:
            shards = sorted(set(read_json_object(index, api)["weight_map"].values()))
        except (KeyError, TypeError, AttributeError) as err:
            raise CheckpointError(f"{api}: {index} is not a safetensors index (no weight_map: {err})") from None
        arrays: dict[str, np.ndarray] = {}
        for shard in shards:
            path = root / str(shard)
            if Path(str(shard)).name != shard or not path.is_file():
                raise FileNotFoundError(f"{api}: {index} names the shard {shard!r}, which is not in {root}")
            arrays |= decode(path)
        return arrays
    others = sorted({p.name for pattern in OTHER_WEIGHTS for p in root.glob(pattern)})
    hint = (
        f" ({', '.join(others)} {'is' if len(others) == 1 else 'are'} there: glassgrad reads only safetensors, "
        "never pickle; convert with transformers' save_pretrained(..., safe_serialization=True))"
        if others
        else ""
    )
    raise FileNotFoundError(f"{api}: {root} has no {WEIGHTS_NAME}{hint} (it holds {listing(root)})")


def write_pretrained(directory: str | Path, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``config.json`` (``config``) and ``model.safetensors`` (``arrays``, format "pt") into
    ``directory`` (made if absent), as transformers' ``save_pretrained`` does."""
    from safetensors.numpy import save_file

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(arrays, str(root / WEIGHTS_NAME), metadata={"format": "pt"})


def known_fields(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """The entries of a config.json dict that are fields of the config dataclass ``cls`` (the rest,
    architectures, transformers_version, ..., left out)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def config_from_dict(cls: Any, values: dict[str, Any], path: Path, api: str) -> Any:
    """``cls.from_dict(values)`` for the config dataclass ``cls``; its ValueError or TypeError becomes a
    CheckpointError naming ``api`` and the file ``path`` the values came from."""
    try:
        return cls.from_dict(values)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{api}: {path}: {err}") from None


def positive_int_problems(config: Any, names: tuple[str, ...]) -> list[str]:
    """A message for each of the fields ``names`` of ``config`` that is not an integer >= 1 (bools refused)."""
    problems = []
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{name} must be a positive integer, got {value!r}")
    return problems
