"""Checkpoints without pickle: ``glassgrad.save(obj, path)`` / ``glassgrad.load(path)``.

The file is a NumPy ``.npz`` archive (a zip of raw ``.npy`` arrays) holding
one array per tensor plus ``__glassgrad__.json``: a manifest with the format
name and version and the nested structure (dicts, lists, tuples, numbers,
strings, None), tensors replaced by references to their array. Loading uses
``allow_pickle=False``, so an archive carrying Python objects is refused, and
anything else that is not ours is refused with the file named. Saving writes a
temporary file next to the target, fsyncs it and renames it over the target,
so a crash mid-save leaves the previous checkpoint intact.

Tensors come back on the device they were saved from (or ``map_location``)
with their dtype, shape and ``requires_grad``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .engine import backend
from .engine.tensor import Tensor

FORMAT, VERSION = "glassgrad-checkpoint", 1
MANIFEST = "__glassgrad__.json"


class CheckpointError(ValueError):
    """The file is not a glassgrad checkpoint, is damaged, or holds something unsafe."""


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        key = f"t{len(arrays)}"
        arrays[key] = np.array(backend.to_device(obj.detach().array, "cpu"), order="C")  # keeps 0-d arrays 0-d
        node = {"__tensor__": key, "device": obj.device}
        if obj.requires_grad:
            node["requires_grad"] = True
        return node
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError("save: object arrays can't be saved (they would need pickle)")
        key = f"t{len(arrays)}"
        arrays[key] = np.array(obj, order="C")
        return {"__ndarray__": key}
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
    """Write ``obj`` (e.g. {"model": model.state_dict(), "optimizer": opt.state_dict()}) atomically."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    manifest = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays)}
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644  # mkstemp would leave 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(MANIFEST, json.dumps(manifest))
                for key, array in arrays.items():
                    buffer = io.BytesIO()
                    np.lib.format.write_array(buffer, array, allow_pickle=False)
                    archive.writestr(f"{key}.npy", buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


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


def _decode(node: Any, archive: Any, map_location: str | None, path: Path) -> Any:
    if isinstance(node, dict):
        if "__tensor__" in node:
            array = _array(archive, node["__tensor__"], path)
            device = map_location or backend.normalize_device(node.get("device", "cpu"), "load")
            if device == "cuda" and not backend.cuda_is_available():
                raise RuntimeError(
                    f"load: {path} holds tensors saved on cuda, but CUDA is not available; pass map_location='cpu'"
                )
            return Tensor(backend.to_device(array, device), requires_grad=bool(node.get("requires_grad")))
        if "__ndarray__" in node:
            return _array(archive, node["__ndarray__"], path)
        if "__dict__" in node:
            return {
                _decode(k, archive, map_location, path): _decode(v, archive, map_location, path)
                for k, v in node["__dict__"]
            }
        if "__list__" in node:
            return [_decode(v, archive, map_location, path) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_decode(v, archive, map_location, path) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        raise CheckpointError(f"load: {path} has an unknown entry {sorted(node)}")
    return node


def _array(archive: Any, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except KeyError as err:
        raise CheckpointError(f"load: {path} is missing array {key!r} (truncated or damaged)") from err
    except ValueError as err:  # allow_pickle=False refuses object arrays
        raise CheckpointError(f"load: {path} holds pickled objects in {key!r}; refusing to unpickle") from err


def load(path: str | os.PathLike[str], map_location: str | None = None) -> Any:
    """Read a checkpoint written by ``save``; ``map_location`` moves every tensor to that device."""
    path = Path(path)
    if map_location is not None:
        map_location = backend.normalize_device(map_location, "load")
    if not path.is_file():
        raise FileNotFoundError(f"load: no such file {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - zipfile/numpy raise many kinds
        raise CheckpointError(f"load: {path} is not a glassgrad checkpoint ({err})") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"load: {path} is not a glassgrad checkpoint (a bare .npy array)")
    with archive:
        try:
            manifest = json.loads(archive.zip.read(MANIFEST))
        except (KeyError, ValueError, zipfile.BadZipFile) as err:
            raise CheckpointError(f"load: {path} is not a glassgrad checkpoint (no valid {MANIFEST})") from err
        if manifest.get("format") != FORMAT:
            raise CheckpointError(f"load: {path} is not a glassgrad checkpoint (format {manifest.get('format')!r})")
        if manifest.get("version") != VERSION:
            raise CheckpointError(f"load: {path} has checkpoint version {manifest.get('version')}, expected {VERSION}")
        try:
            return _decode(manifest["root"], archive, map_location, path)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise CheckpointError(f"load: {path} is truncated or damaged ({err})") from err
        except (KeyError, TypeError) as err:  # a manifest that was edited by hand
            raise CheckpointError(f"load: {path} has a damaged manifest ({err!r})") from err
