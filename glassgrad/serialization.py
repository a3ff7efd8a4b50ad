"""Checkpoints without pickle: ``glassgrad.save(obj, path)`` / ``glassgrad.load(path)``.

The file is a NumPy ``.npz`` archive (a zip of raw ``.npy`` arrays) holding
one array per tensor plus ``__glassgrad__.json``: a manifest with the format
name and version and the nested structure (dicts, lists, tuples, numbers,
strings, None), tensors replaced by references to their array. Loading never
unpickles or executes anything: safe_archive.py checks every member's name,
size, dtype and shape, and the manifest's shape, before reading data, and
refuses anything that is not ours with the file named. Saving writes a
temporary file next to the target, fsyncs it and renames it over the target,
so a crash mid-save leaves the previous checkpoint intact; a save killed
outright leaves its temporary file, which the next save in that folder removes.

A path ending in ``.safetensors`` is read and written in the safetensors
format instead (safetensors_io.py), for a flat ``{name: tensor}`` dict such as
a state_dict, to trade weights with PyTorch and Hugging Face.

Tensors come back on the device they were saved from (or ``map_location``)
with their dtype, shape and ``requires_grad``. A bfloat16 array, which ``.npy``
has no name for, is stored as its uint16 bits with ``"dtype": "bfloat16"`` in
its manifest entry.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import safetensors_io
from .engine import backend, dtypes
from .engine.tensor import Tensor
from .safe_archive import MANIFEST, CheckpointError, check_members, read_array, read_manifest

FORMAT, VERSION = "glassgrad-checkpoint", 1
TEMP_SUFFIX = ".glassgrad-tmp"  # .<target>.<pid>.<random>.glassgrad-tmp, next to the target
TEMP_NAME = re.compile(r"\..+\.(\d+)\.[0-9a-f]+" + re.escape(TEMP_SUFFIX))

__all__ = ["CheckpointError", "load", "save"]


def _stored(kind: str, array: np.ndarray, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The manifest node ``{kind: key}`` of ``array``, added to ``arrays`` under a new key: a bfloat16 array
    as its uint16 bits, the node marked ``"dtype": "bfloat16"``."""
    key = f"t{len(arrays)}"
    node: dict[str, Any] = {kind: key}
    array = np.array(array, order="C")  # a C-ordered copy that keeps 0-d arrays 0-d
    if array.dtype == dtypes.bfloat16:
        array, node["dtype"] = array.view(np.uint16), "bfloat16"
    arrays[key] = array
    return node


def _typed(array: np.ndarray, node: dict[str, Any], path: Path) -> np.ndarray:
    """The array of a manifest entry in its dtype: uint16 bits seen as bfloat16 where ``_stored`` marked them."""
    if "dtype" not in node:
        return array
    if node["dtype"] != "bfloat16" or array.dtype != np.uint16:
        raise CheckpointError(f"load: {path}: an array of {array.dtype} is marked dtype {node['dtype']!r}")
    return array.view(dtypes.bfloat16)


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        node = _stored("__tensor__", backend.to_device(obj.detach().array, "cpu"), arrays)
        node["device"] = obj.device
        if obj.requires_grad:
            node["requires_grad"] = True
        return node
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError("save: object arrays can't be saved (they would need pickle)")
        return _stored("__ndarray__", obj, arrays)
    if isinstance(obj, dict):
        items = [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]
        return {"__dict__": items}
    if isinstance(obj, list | tuple):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(f"save: can't save a {type(obj).__name__} (only tensors, arrays, dicts, lists, numbers, strings)")


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (e.g. {"model": model.state_dict(), "optimizer": opt.state_dict()}) atomically;
    to ``*.safetensors`` a flat {name: tensor} dict in that format."""
    path = Path(path)
    if path.suffix == ".safetensors":
        data = safetensors_io.encode(obj)
    else:
        arrays: dict[str, np.ndarray] = {}
        manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays)}
        data = None
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away
        with os.fdopen(fd, "wb") as f:
            if data is not None:
                f.write(data)
            else:
                _write_archive(f, manifest, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _write_archive(f: Any, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            archive.writestr(f"{key}.npy", buffer.getvalue())


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporary files of saves in ``directory`` whose process no longer runs (killed mid-save)."""
    removed = []
    for candidate in directory.glob(f".*{TEMP_SUFFIX}"):
        match = TEMP_NAME.fullmatch(candidate.name)
        if match is None or int(match.group(1)) == os.getpid() or _process_alive(int(match.group(1))):
            continue
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data file itself is synced
    finally:
        os.close(fd)


def _decode(node: Any, archive: zipfile.ZipFile, members: dict, map_location: str | None, path: Path) -> Any:
    if isinstance(node, dict):
        if "__tensor__" in node:
            array = _typed(read_array(archive, members, node["__tensor__"], path), node, path)
            return Tensor(backend.to_device(array, _device(node, map_location, path)), requires_grad=_flag(node, path))
        if "__ndarray__" in node:
            return _typed(read_array(archive, members, node["__ndarray__"], path), node, path)
        if "__dict__" in node:
            return {
                _decode(k, archive, members, map_location, path): _decode(v, archive, members, map_location, path)
                for k, v in node["__dict__"]
            }
        if "__list__" in node:
            return [_decode(v, archive, members, map_location, path) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_decode(v, archive, members, map_location, path) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        raise CheckpointError(f"load: {path} has an unknown entry {sorted(node)}")
    if isinstance(node, list):
        raise CheckpointError(f"load: {path} has a bare JSON list in its manifest, which save never writes")
    return node


def _device(node: dict[str, Any], map_location: str | None, path: Path) -> str:
    saved = node.get("device", "cpu")
    try:
        device = backend.normalize_device(saved, "load") if isinstance(saved, str) else None
    except ValueError:
        device = None
    if device is None:
        raise CheckpointError(f"load: {path} names the device {saved!r}, which is not a glassgrad device")
    device = map_location or device
    if device == "cuda" and not backend.cuda_is_available():
        raise RuntimeError(
            f"load: {path} holds tensors saved on cuda, but CUDA is not available; pass map_location='cpu'"
        )
    return device


def _flag(node: dict[str, Any], path: Path) -> bool:
    value = node.get("requires_grad", False)
    if not isinstance(value, bool):
        raise CheckpointError(f"load: {path} has requires_grad {value!r}, not true or false")
    return value


def load(path: str | os.PathLike[str], map_location: str | None = None) -> Any:
    """Read a checkpoint written by ``save``; ``map_location`` moves every tensor to that device."""
    path = Path(path)
    if map_location is not None:
        map_location = backend.normalize_device(map_location, "load")
    if path.is_dir():  # PyTorch's IsADirectoryError, not "no such file"
        raise IsADirectoryError(errno.EISDIR, f"load: {path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"load: no such file {path}")
    if path.suffix == ".safetensors":
        arrays = safetensors_io.decode(path)
        return {name: Tensor(backend.to_device(a, map_location or "cpu")) for name, a in arrays.items()}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"load: {path} is not a glassgrad checkpoint ({err})") from err
    with archive:
        members = check_members(archive, path)
        manifest = read_manifest(archive, members, path)
        if manifest.get("format") != FORMAT:
            raise CheckpointError(f"load: {path} is not a glassgrad checkpoint (format {manifest.get('format')!r})")
        if manifest.get("version") != VERSION:
            raise CheckpointError(f"load: {path} has checkpoint version {manifest.get('version')}, expected {VERSION}")
        if "root" not in manifest:
            raise CheckpointError(f"load: {path} has a damaged manifest (no root)")
        try:
            return _decode(manifest["root"], archive, members, map_location, path)
        except (KeyError, TypeError, ValueError) as err:  # a manifest that was edited by hand
            if isinstance(err, CheckpointError):
                raise
            raise CheckpointError(f"load: {path} has a damaged manifest ({err!r})") from err
