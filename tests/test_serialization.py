"""glassgrad.save / load: round trips, atomic writes, and refusing files that aren't ours."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad import nn, optim
from glassgrad.serialization import CheckpointError


def test_round_trip_is_bitwise(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    obj = {
        "f32": gg.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        "f64": gg.tensor(rng.standard_normal(5)),
        "i64": gg.tensor([1, -2, 3]),
        "bool": gg.tensor([True, False]),
        "nested": [1, 2.5, "text", None, (3, float("inf")), {"deep": gg.zeros(0)}],
        7: "int key",
    }
    gg.save(obj, tmp_path / "c.ckpt")
    back = gg.load(tmp_path / "c.ckpt")
    for key in ("f32", "f64", "i64", "bool"):
        assert back[key].dtype == obj[key].dtype
        np.testing.assert_array_equal(back[key].numpy(), obj[key].numpy())
    assert back["nested"][:4] == [1, 2.5, "text", None]
    assert back["nested"][4] == (3, float("inf"))
    assert back["nested"][5]["deep"].shape == (0,)
    assert back[7] == "int key"


def test_model_and_optimizer_state(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(gg.randn(8, 3)).sum().backward()
    opt.step()
    gg.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "m.ckpt")
    state = gg.load(tmp_path / "m.ckpt")
    twin = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    twin.load_state_dict(state["model"])
    for (name, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    optim.Adam(twin.parameters(), lr=0.01).load_state_dict(state["optimizer"])


def test_crash_mid_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.ckpt"
    gg.save({"v": gg.tensor([1.0])}, path)

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np.lib.format, "write_array", explode)
    with pytest.raises(OSError, match="simulated"):
        gg.save({"v": gg.tensor([2.0])}, path)
    monkeypatch.undo()
    assert gg.load(path)["v"].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["c.ckpt"]  # no temp file left behind


def test_refuses_a_file_that_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "x.ckpt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match=str(path)):
        gg.load(path)
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    with pytest.raises(CheckpointError, match="not a glassgrad checkpoint"):
        gg.load(tmp_path / "plain.npz")


def test_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    gg.save({"v": gg.randn(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        gg.load(path)


def test_refuses_pickled_objects(tmp_path: Path) -> None:
    import io
    import json

    path = tmp_path / "evil.ckpt"
    manifest = {"format": "glassgrad-checkpoint", "version": 1, "root": {"__ndarray__": "t0"}}
    buffer = io.BytesIO()  # an object array: unpickling it would run code
    np.lib.format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__glassgrad__.json", json.dumps(manifest))
        archive.writestr("t0.npy", buffer.getvalue())
    with pytest.raises(CheckpointError, match="holds pickled objects in 't0'; refusing to unpickle"):
        gg.load(path)


def test_save_refuses_unsupported_objects(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="can't save a set"):
        gg.save({"s": {1, 2}}, tmp_path / "c.ckpt")
    assert not (tmp_path / "c.ckpt").exists()


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        gg.load("/nonexistent/ckpt")


def test_requires_grad_and_file_mode_survive(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    gg.save({"w": gg.ones(2, requires_grad=True), "b": gg.ones(2)}, path)
    back = gg.load(path, map_location="cpu")
    assert back["w"].requires_grad and not back["b"].requires_grad and back["w"].is_leaf
    assert path.stat().st_mode & 0o777 == 0o644  # not the temp file's private 0o600
    path.chmod(0o600)
    gg.save({"w": gg.zeros(1)}, path)
    assert path.stat().st_mode & 0o777 == 0o600  # overwriting keeps the file's mode


def test_bad_map_location_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="load: unknown device 'tpu'"):
        gg.load(tmp_path / "missing.ckpt", map_location="tpu")


def test_cuda_checkpoint_loads_on_cuda_or_names_map_location(tmp_path: Path) -> None:
    import json

    path = tmp_path / "c.ckpt"
    gg.save({"w": gg.ones(2)}, path)
    with zipfile.ZipFile(path) as archive:  # pretend it was saved on a GPU machine
        manifest = json.loads(archive.read("__glassgrad__.json"))
        arrays = {n: archive.read(n) for n in archive.namelist() if n.endswith(".npy")}
    manifest["root"]["__dict__"][0][1]["device"] = "cuda"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__glassgrad__.json", json.dumps(manifest))
        for name, data in arrays.items():
            archive.writestr(name, data)
    if gg.cuda.is_available():
        assert gg.load(path)["w"].device == "cuda"
    else:
        with pytest.raises(RuntimeError, match="CUDA is not available; pass map_location='cpu'"):
            gg.load(path)
    assert gg.load(path, map_location="cpu")["w"].tolist() == [1.0, 1.0]


def test_hand_edited_manifest_is_refused(tmp_path: Path) -> None:
    import json

    path = tmp_path / "c.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        root = {"__dict__": [[{"__list__": [1]}, 2]]}  # a list as a dict key: unhashable
        archive.writestr(
            "__glassgrad__.json", json.dumps({"format": "glassgrad-checkpoint", "version": 1, "root": root})
        )
    with pytest.raises(CheckpointError, match="damaged manifest"):
        gg.load(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__glassgrad__.json", json.dumps({"format": "glassgrad-checkpoint", "version": 99, "root": 1}))
    with pytest.raises(CheckpointError, match="version 99"):
        gg.load(path)
