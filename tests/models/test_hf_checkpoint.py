"""glassgrad.models.hf_checkpoint: config.json and (sharded) model.safetensors read and written as Hugging
Face lays them out; every error names the API that was called."""

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from glassgrad.models.hf_checkpoint import read_config, read_weights, write_pretrained
from glassgrad.safe_archive import CheckpointError

API = "Model.from_pretrained"


def test_write_pretrained_round_trips_through_the_safetensors_package(tmp_path: Path) -> None:
    arrays = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.float64)}
    write_pretrained(tmp_path / "out", {"model_type": "gpt2", "n_embd": 8}, arrays)
    assert read_config(tmp_path / "out", API) == {"model_type": "gpt2", "n_embd": 8}
    for read in (load_file(tmp_path / "out" / "model.safetensors"), read_weights(tmp_path / "out", API)):
        assert read.keys() == arrays.keys()
        for key, value in arrays.items():
            np.testing.assert_array_equal(read[key], value)
            assert read[key].dtype == value.dtype


def test_sharded_weights_are_the_union_of_the_shards_the_index_names(tmp_path: Path) -> None:
    first, second = {"x": np.zeros((2, 2), np.float32)}, {"y": np.full(3, 2.0, np.float32)}
    save_file(first, tmp_path / "model-00001-of-00002.safetensors")
    save_file(second, tmp_path / "model-00002-of-00002.safetensors")
    index = {"x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": index}))
    read = read_weights(tmp_path, API)
    assert sorted(read) == ["x", "y"]
    np.testing.assert_array_equal(read["y"], second["y"])

    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"x": "../x.safetensors"}}))
    with pytest.raises(FileNotFoundError, match=r"Model.from_pretrained: .* names the shard '../x.safetensors'"):
        read_weights(tmp_path, API)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}}))
    with pytest.raises(CheckpointError, match="Model.from_pretrained: .* is not a safetensors index"):
        read_weights(tmp_path, API)


def test_errors_name_the_api_and_what_the_directory_holds(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="load_x: .*absent is not a directory"):
        read_config(tmp_path / "absent", "load_x")
    (tmp_path / "pytorch_model-00001-of-00002.bin").write_bytes(b"")
    (tmp_path / "tf_model.h5").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"load_x: .* has no config.json \(it holds pytorch_model"):
        read_config(tmp_path, "load_x")
    with pytest.raises(
        FileNotFoundError, match=r"no model.safetensors \(pytorch_model-00001-of-00002.bin, tf_model.h5 are"
    ):
        read_weights(tmp_path, "load_x")
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="load_x: .* holds a JSON list, not an object"):
        read_config(tmp_path, "load_x")
