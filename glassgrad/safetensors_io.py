"""``gg.save(state_dict, "model.safetensors")`` and ``gg.load("model.safetensors")``.

The safetensors format (the ``safetensors`` package, as PyTorch and Hugging
Face write it) is an 8-byte little-endian header length N, N bytes of JSON
``{name: {"dtype", "shape", "data_offsets": [begin, end]}}`` and the raw
tensor bytes. Before the package reads a file, its header is checked the way
safe_archive.py checks our own archives: N within the file, a JSON object of
plain entries, known numeric dtypes, and each shape's bytes equal to its data
range, all ranges inside the file. The arrays are then read from those ranges
(the package's NumPy loader has no BF16; bfloat16 is ``ml_dtypes.bfloat16``).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .engine import backend, dtypes
from .safe_archive import CheckpointError

# safetensors' dtype names as (little-endian) NumPy dtypes
NUMPY_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": dtypes.bfloat16,
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
DTYPES = {name: dtype.itemsize for name, dtype in NUMPY_DTYPES.items()}
MAX_HEADER = 100 * 2**20  # the safetensors package's own limit


def encode(obj: Any) -> bytes:
    """A flat {str: Tensor or array} dict as safetensors bytes; anything else raises TypeError naming save."""
    from safetensors.numpy import save as save_bytes

    from .engine.tensor import Tensor

    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise TypeError(f"save: a .safetensors file holds a flat {{name: tensor}} dict, got {type(obj).__name__}")
    arrays = {}
    for name, value in obj.items():
        if not isinstance(value, Tensor | np.ndarray):
            raise TypeError(f"save: a .safetensors file holds only tensors; {name!r} is a {type(value).__name__}")
        array = backend.to_device(value.detach().array, "cpu") if isinstance(value, Tensor) else value
        arrays[name] = np.asarray(array, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    return save_bytes(arrays, metadata={"format": "glassgrad"})


def decode(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, after its header is checked: each read from its data range."""
    data = path.read_bytes()
    header = _check_header(data, path)
    start = 8 + struct.unpack("<Q", data[:8])[0]
    arrays = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, (begin, end) = NUMPY_DTYPES[entry["dtype"]], entry["data_offsets"]
        flat = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=start + begin)
        arrays[name] = flat.reshape(entry["shape"]).astype(dtype.newbyteorder("="))  # a writable native copy
    return arrays


def _check_header(data: bytes, path: Path) -> dict[str, Any]:
    if len(data) < 8:
        raise CheckpointError(f"load: {path} is too short for a safetensors file ({len(data)} bytes)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(MAX_HEADER, len(data) - 8):
        raise CheckpointError(f"load: {path}: its safetensors header declares {size} bytes, past the file's end")
    try:
        header = json.loads(data[8 : 8 + size])
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"load: {path}: its safetensors header is not valid JSON ({err})") from err
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path}: its safetensors header is a JSON {type(header).__name__}, not an object")
    body = len(data) - 8 - size
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise CheckpointError(f"load: {path}: its __metadata__ must map names to strings")
            continue
        _check_entry(path, name, entry, body)
    return header


def _check_entry(path: Path, name: str, entry: Any, body: int) -> None:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"load: {path}: tensor {name!r} has a malformed entry {entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise CheckpointError(f"load: {path}: tensor {name!r} has dtype {dtype!r}; glassgrad reads {sorted(DTYPES)}")
    if not isinstance(shape, list) or any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in shape):
        raise CheckpointError(f"load: {path}: tensor {name!r} declares the shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or any(not isinstance(o, int) or isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= body
    ):
        raise CheckpointError(f"load: {path}: tensor {name!r} has data offsets {offsets!r} outside the file")
    need = int(np.prod(shape, dtype=object)) * DTYPES[dtype]
    if need != offsets[1] - offsets[0]:
        raise CheckpointError(
            f"load: {path}: tensor {name!r} declares shape {shape} of {dtype} ({need} bytes) "
            f"but its data range holds {offsets[1] - offsets[0]}"
        )
