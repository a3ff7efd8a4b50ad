"""``python -m glassgrad download mnist`` against a local http.server on 127.0.0.1 (no network)."""

from __future__ import annotations

import gzip
import struct
import threading
from collections.abc import Iterator
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from glassgrad.cli import main
from glassgrad.data import MNIST, read_idx

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx(path: Path, array: np.ndarray) -> None:
    """A gzipped IDX file of uint8 values: magic (0, 0, 0x08, ndim), big-endian sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the base class's name
        """No request log on stderr (the tests read stderr)."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory with tiny MNIST files and the base URL of a local server for it."""
    folder = tmp_path / "served"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in NAMES:
        shape = (3, 28, 28) if "images" in name else (3,)
        write_idx(folder / f"{name}.gz", rng.integers(0, 10 if "labels" in name else 256, shape))
    server = HTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_then_train_data_reads_it(served: tuple[Path, str], tmp_path: Path, capsys) -> None:
    folder, url = served
    out = tmp_path / "mnist"
    assert main(["download", "mnist", "--dir", str(out), "--url", url]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.gz" for n in NAMES)
    for name in NAMES:
        assert (out / f"{name}.gz").read_bytes() == (folder / f"{name}.gz").read_bytes()
    test = MNIST(out, train=False)
    assert len(test) == 3 and test.data.shape == (3, 28, 28)
    assert "4 files" in capsys.readouterr().out


def test_files_already_there_are_not_fetched_again(served: tuple[Path, str], tmp_path: Path) -> None:
    folder, url = served
    out = tmp_path / "mnist"
    out.mkdir()
    kept = out / "train-images-idx3-ubyte.gz"
    write_idx(kept, np.zeros((1, 28, 28)))
    assert main(["download", "mnist", "--dir", str(out), "--url", url]) == 0
    assert read_idx(kept).shape == (1, 28, 28)  # our file, not the server's 3 images
    assert read_idx(out / "train-labels-idx1-ubyte.gz").shape == (3,)  # the missing ones were fetched


def test_a_payload_that_is_not_idx_is_refused_and_not_kept(served: tuple[Path, str], tmp_path: Path, capsys) -> None:
    folder, url = served
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"<html>not found</html>"))
    out = tmp_path / "mnist"
    assert main(["download", "mnist", "--dir", str(out), "--url", url]) == 1
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte.gz is not a gzipped IDX file" in err
    assert sorted(p.name for p in out.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_a_missing_file_names_the_url(served: tuple[Path, str], tmp_path: Path, capsys) -> None:
    folder, url = served
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    assert main(["download", "mnist", "--dir", str(tmp_path / "m"), "--url", url]) == 1
    assert f"could not fetch {url}train-labels-idx1-ubyte.gz" in capsys.readouterr().err


def test_unknown_dataset_is_an_argument_error() -> None:
    with pytest.raises(SystemExit):
        main(["download", "imagenet", "--dir", "x"])
