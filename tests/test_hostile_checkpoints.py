"""Checkpoints that a stranger hands you: gg.load refuses each hostile file with an error that names the
file and the reason, before reading its data, and never executes anything; killed saves leave no litter
for long; safetensors files go both ways with PyTorch."""

from __future__ import annotations

import io
import json
import signal
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn
from glassgrad.serialization import CheckpointError, remove_stale_temporaries

MANIFEST = "__glassgrad__.json"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=array.dtype.hasobject)
    return buffer.getvalue()


def _checkpoint(path: Path, members: dict[str, bytes], root: object = None, compression: int = zipfile.ZIP_STORED):
    """A zip with our manifest (root defaults to one tensor t0) and the given members."""
    root = {"__tensor__": "t0", "device": "cpu"} if root is None else root
    manifest = members.pop(MANIFEST, json.dumps({"format": "glassgrad-checkpoint", "version": 1, "root": root}))
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr(MANIFEST, manifest)
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _refused(path: Path, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason) as info:
        gg.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["/etc/t0.npy", "../t0.npy", "a/../../t0.npy", "dir/t0.npy", "t0.pkl"])
def test_member_names_outside_ours_are_refused(tmp_path: Path, name: str) -> None:
    path = _checkpoint(tmp_path / "c.ckpt", {"t0.npy": _npy(np.ones(2)), name: _npy(np.ones(2))})
    _refused(path, "unsafe path|unexpected archive member")


@pytest.mark.parametrize(
    ("array", "reason"),
    [
        (np.array(["text"]), "dtype <U4, not a plain numeric or bool dtype"),
        (np.array([b"raw"]), "not a plain numeric or bool dtype"),
        (np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), "not a plain numeric or bool dtype"),
        (np.array([{"code": 1}], dtype=object), "holds pickled objects in 't0'; refusing to unpickle"),
    ],
)
def test_members_that_are_not_plain_arrays_are_refused(tmp_path: Path, array: np.ndarray, reason: str) -> None:
    _refused(_checkpoint(tmp_path / "c.ckpt", {"t0.npy": _npy(array)}), reason)


def test_compressed_members_are_refused_before_expanding(tmp_path: Path) -> None:
    zeros = np.zeros(8 * 2**20, dtype=np.uint8)  # 8 MiB that deflate to a few KiB
    path = _checkpoint(tmp_path / "c.ckpt", {"t0.npy": _npy(zeros)}, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    _refused(path, "is compressed")


def _claim_size(path: Path, member: bytes, size: int, stored_too: bool) -> None:
    """Rewrite the zip directory's declared (and, with ``stored_too``, stored) size of ``member``."""
    data = bytearray(path.read_bytes())
    # (signature, offset of the stored size, of the declared size, of the name length, of the name)
    for signature, stored_at, size_at, length_at, name_at in (
        (b"PK\x01\x02", 20, 24, 28, 46),
        (b"PK\x03\x04", 18, 22, 26, 30),
    ):
        start = 0
        while (start := data.find(signature, start)) != -1:
            length = struct.unpack_from("<H", data, start + length_at)[0]
            if data[start + name_at : start + name_at + length] == member:
                struct.pack_into("<I", data, start + size_at, size)
                if stored_too:
                    struct.pack_into("<I", data, start + stored_at, size)
            start += 4
    path.write_bytes(bytes(data))


def test_a_declared_size_beyond_the_stored_size_is_refused(tmp_path: Path) -> None:
    """A 2 MiB file whose directory claims a 512 MiB member: refused from the directory alone."""
    path = _checkpoint(tmp_path / "c.ckpt", {"t0.npy": _npy(np.zeros(2**18))})  # 2 MiB stored
    _claim_size(path, b"t0.npy", 512 * 2**20, stored_too=False)
    _refused(path, "declares 536870912 bytes but stores")


def test_members_adding_up_past_the_file_size_are_refused(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path / "c.ckpt", {"t0.npy": _npy(np.zeros(2**18))})
    _claim_size(path, b"t0.npy", 512 * 2**20, stored_too=True)
    _refused(path, "members declare .* bytes, more than the file's")


@pytest.mark.parametrize("shape", [(10**12, 10**12), (2**62,), (-1, 4)])
def test_npy_headers_declaring_absurd_shapes_are_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    path = _checkpoint(tmp_path / "c.ckpt", {"t0.npy": buffer.getvalue() + b"\0" * 64})
    _refused(path, "declares (the )?shape")


def test_a_manifest_nested_too_deep_is_refused(tmp_path: Path) -> None:
    for depth in (100, 200_000):  # past our bound; past Python's recursion limit
        root = "[" * depth + "]" * depth
        manifest = '{"format": "glassgrad-checkpoint", "version": 1, "root": ' + root + "}"
        _refused(_checkpoint(tmp_path / f"c{depth}.ckpt", {MANIFEST: manifest}), "nested")


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("[1, 2, 3]", "manifest is a JSON list, not an object"),
        ('"text"', "manifest is a JSON str, not an object"),
        ('{"format": "glassgrad-checkpoint", "version": 1, "root": {"__eval__": "1"}}', "unknown entry"),
        ('{"format": "glassgrad-checkpoint", "version": 1, "root": [1]}', "bare JSON list"),
        ('{"format": "glassgrad-checkpoint", "version": 1}', "no root"),
        ('{"format": "glassgrad-checkpoint", "version": 1, "root": {"__tensor__": "t0", "device": "tpu"}}', "'tpu'"),
        ('{"format": "glassgrad-checkpoint", "version": 1, "root": {"__tensor__": "t0", "device": 3}}', "device 3"),
        ('{"format": "glassgrad-checkpoint", "version": 1, "root": {"__tensor__": 5}}', "missing array 5"),
        (
            '{"format": "glassgrad-checkpoint", "version": 1, "root": {"__tensor__": "t0", "requires_grad": "yes"}}',
            "requires_grad 'yes'",
        ),
    ],
)
def test_malformed_manifests_are_refused(tmp_path: Path, manifest: str, reason: str) -> None:
    path = _checkpoint(tmp_path / "c.ckpt", {MANIFEST: manifest, "t0.npy": _npy(np.ones(2))})
    _refused(path, reason)


def test_a_pytorch_pickle_checkpoint_is_refused_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)  # a zip holding a pickle
    _refused(path, "unexpected archive member|unsafe path")


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path: Path) -> None:
    code = (
        "import os, signal, glassgrad as gg\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # die between writing and renaming\n"
        f"gg.save({{'w': gg.ones(1000)}}, {str(tmp_path / 'c.ckpt')!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".c.ckpt.") and left[0].endswith(".glassgrad-tmp")
    gg.save({"w": gg.zeros(2)}, tmp_path / "other.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.ckpt"]


def test_temporary_files_of_running_saves_and_of_others_are_kept(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        running = tmp_path / f".c.ckpt.{sleeper.pid}.0a1b2c3d.glassgrad-tmp"
        foreign = tmp_path / ".notes.tmp"
        running.write_bytes(b"partial")
        foreign.write_bytes(b"someone else's")
        assert remove_stale_temporaries(tmp_path) == []
        assert running.exists() and foreign.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_stale_temporaries(tmp_path) == [running]


# ---------------------------------------------------------------------------- safetensors


def test_safetensors_round_trip_with_pytorch(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    save_file(twin.state_dict(), tmp_path / "torch.safetensors")
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    model.load_state_dict(gg.load(tmp_path / "torch.safetensors"))
    for name, value in twin.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name].numpy(), value.numpy(), err_msg=name)
    gg.save(model.state_dict(), tmp_path / "ours.safetensors")
    back = load_file(tmp_path / "ours.safetensors")
    assert set(back) == set(twin.state_dict())
    for name, value in twin.state_dict().items():
        assert back[name].dtype == value.dtype
        torch.testing.assert_close(back[name], value, rtol=0, atol=0)


def test_safetensors_save_takes_only_a_flat_dict_of_tensors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="flat {name: tensor} dict"):
        gg.save([gg.ones(2)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="'step' is a int"):
        gg.save({"w": gg.ones(2), "step": 3}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def _safetensors(path: Path, header: object, body: bytes = b"", size: int | None = None) -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if size is None else size) + raw + body)
    return path


@pytest.mark.parametrize(
    ("header", "body", "size", "reason"),
    [
        ({}, b"", 2**40, "declares 1099511627776 bytes, past the file's end"),
        ([1, 2], b"", None, "header is a JSON list"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "extra": 1}}, b"\0" * 8, None, "malformed"),
        ({"w": {"dtype": "OBJ", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, None, "dtype 'OBJ'"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 800]}}, b"\0" * 8, None, "outside the file"),
        ({"w": {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 8]}}, b"\0" * 8, None, "declares shape"),
        ({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, None, "declares the shape"),
        ({"__metadata__": {"a": 1}}, b"", None, "__metadata__"),
        ({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, None, r"of BF16 \(6 bytes\)"),
    ],
)
def test_hostile_safetensors_are_refused(tmp_path: Path, header, body: bytes, size, reason: str) -> None:
    _refused(_safetensors(tmp_path / "x.safetensors", header, body, size), reason)


@pytest.mark.parametrize(
    ("array", "marked", "reason"),
    [
        (np.ones(2, np.float32), "bfloat16", "an array of float32 is marked dtype 'bfloat16'"),
        (np.ones(2, np.uint16), "float8", "an array of uint16 is marked dtype 'float8'"),
    ],
)
def test_a_wrong_bfloat16_mark_is_refused(tmp_path: Path, array: np.ndarray, marked: str, reason: str) -> None:
    """save stores bfloat16 as uint16 bits marked "dtype": "bfloat16"; any other mark, or the mark on
    another dtype, is a damaged or hand-made file."""
    root = {"__tensor__": "t0", "device": "cpu", "dtype": marked}
    _refused(_checkpoint(tmp_path / "c.ckpt", {"t0.npy": _npy(array)}, root), reason)
