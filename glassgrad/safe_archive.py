"""Reading a checkpoint archive that a stranger may have written, without trusting it.

A glassgrad checkpoint is a zip of raw ``.npy`` members and one JSON manifest.
Before a byte of array data is read, every member is checked:

* its name is one of ours: ``__glassgrad__.json`` or ``<letters/digits/_>.npy``
  (no folders, no absolute paths, no ``..``), and no name appears twice;
* it is stored, not compressed, and its declared size equals its stored size,
  and the sizes of all members add up to at most the file's size, so a 2 MiB
  file can never expand to 512 MiB;
* its ``.npy`` header declares a plain numeric or bool dtype (no objects, which
  would need pickle, no strings, no structured records) and a shape whose
  bytes are exactly the bytes the member holds.

Anything else raises ``CheckpointError`` naming the file and the reason.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "__glassgrad__.json"
MEMBER_NAME = re.compile(r"[A-Za-z0-9_]+\.npy")
PLAIN_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_MANIFEST_DEPTH = 64  # dicts/lists nested deeper than this are refused (a state_dict needs about 6)


class CheckpointError(ValueError):
    """The file is not a glassgrad checkpoint, is damaged, or holds something unsafe."""


def check_members(archive: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name, after the name and size checks above."""
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in archive.infolist():
        name = info.filename
        if name.startswith("/") or ".." in name.split("/") or "\\" in name or ":" in name:
            raise CheckpointError(f"load: {path} has an archive member with an unsafe path {name!r}")
        if name != MANIFEST and not MEMBER_NAME.fullmatch(name):
            raise CheckpointError(f"load: {path} has an unexpected archive member {name!r}")
        if name in members:
            raise CheckpointError(f"load: {path} has the archive member {name!r} twice")
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"load: {path}: member {name!r} is compressed; glassgrad checkpoints never are")
        if info.file_size != info.compress_size:
            raise CheckpointError(
                f"load: {path}: member {name!r} declares {info.file_size} bytes but stores {info.compress_size}"
            )
        total += info.file_size
        members[name] = info
    size = path.stat().st_size
    if total > size:
        raise CheckpointError(f"load: {path}: its members declare {total} bytes, more than the file's {size}")
    return members


def read_manifest(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], path: Path) -> dict[str, Any]:
    """The manifest as a JSON object nested at most MAX_MANIFEST_DEPTH deep."""
    if MANIFEST not in members:
        raise CheckpointError(f"load: {path} is not a glassgrad checkpoint (no {MANIFEST})")
    try:
        manifest = json.loads(archive.read(members[MANIFEST]))
    except RecursionError as err:
        raise CheckpointError(f"load: {path}: its manifest is nested too deeply") from err
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise CheckpointError(f"load: {path} is not a glassgrad checkpoint (no valid {MANIFEST}: {err})") from err
    if not isinstance(manifest, dict):
        raise CheckpointError(f"load: {path}: its manifest is a JSON {type(manifest).__name__}, not an object")
    depth = _depth(manifest)
    if depth > MAX_MANIFEST_DEPTH:
        raise CheckpointError(f"load: {path}: its manifest is nested {depth} deep (at most {MAX_MANIFEST_DEPTH})")
    return manifest


def _depth(node: Any) -> int:
    """How deeply dicts and lists nest in a JSON value (iterative: no recursion limit)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def read_array(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], key: str, path: Path) -> np.ndarray:
    """The array in member ``<key>.npy``, after its header's dtype and shape are checked against its size."""
    info = members.get(f"{key}.npy") if isinstance(key, str) else None
    if info is None:
        raise CheckpointError(f"load: {path} is missing array {key!r} (truncated or damaged)")
    try:
        with archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = reader(stream)
            data_bytes = info.file_size - stream.tell()
            _check_header(path, key, shape, dtype, data_bytes)
            data = stream.read(data_bytes)
    except CheckpointError:
        raise
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as err:
        raise CheckpointError(f"load: {path}: array {key!r} is damaged ({err})") from err
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return array.copy()  # writable and C-contiguous (frombuffer's view is read-only)


def _check_header(path: Path, key: str, shape: tuple[int, ...], dtype: np.dtype, data_bytes: int) -> None:
    if dtype.hasobject:
        raise CheckpointError(f"load: {path} holds pickled objects in {key!r}; refusing to unpickle")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in PLAIN_KINDS:
        raise CheckpointError(f"load: {path}: array {key!r} has dtype {dtype}, not a plain numeric or bool dtype")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise CheckpointError(f"load: {path}: array {key!r} declares the shape {shape}")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need != data_bytes:
        raise CheckpointError(
            f"load: {path}: array {key!r} declares shape {shape} of {dtype} ({need} bytes) "
            f"but its member holds {data_bytes} bytes"
        )
