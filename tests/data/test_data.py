"""Datasets, DataLoader, random_split, MNIST (IDX and offline), CIFAR-10, ImageFolder, transforms."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.data import CIFAR10, MNIST, DataLoader, ImageFolder, TensorDataset, random_split, read_idx, transforms


def _idx(path: Path, array: np.ndarray, gz: bool = True) -> None:
    code = {np.uint8: 0x08, np.int32: 0x0C}[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(body) if gz else body)


def _fake_mnist(root: Path, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        _idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        _idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels, gz=prefix == "train")
        if prefix == "t10k":
            (root / f"{prefix}-labels-idx1-ubyte.gz").rename(root / f"{prefix}-labels-idx1-ubyte")
    return images, labels


def test_tensor_dataset_and_loader_batches() -> None:
    x, y = gg.arange(10).reshape(10, 1).float(), gg.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[1][1].tolist() == [4, 5, 6, 7]
    assert len(DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_seeded_and_covers_everything() -> None:
    data = TensorDataset(gg.arange(20))
    gg.manual_seed(5)
    first = [int(v) for (b,) in DataLoader(data, batch_size=6, shuffle=True) for v in b.tolist()]
    gg.manual_seed(5)
    again = [int(v) for (b,) in DataLoader(data, batch_size=6, shuffle=True) for v in b.tolist()]
    assert first == again and sorted(first) == list(range(20)) and first != list(range(20))
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    a = [b.tolist() for (b,) in DataLoader(data, batch_size=5, shuffle=True, generator=rng_a)]
    b = [b.tolist() for (b,) in DataLoader(data, batch_size=5, shuffle=True, generator=rng_b)]
    assert a == b


def test_generic_dataset_goes_through_collate() -> None:
    class Squares(gg.data.Dataset):
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int) -> tuple[gg.Tensor, int]:
            return gg.tensor([float(i), float(i * i)]), i

    x, y = next(iter(DataLoader(Squares(), batch_size=3)))
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2] and y.dtype == gg.int64


def test_random_split_lengths_and_fractions() -> None:
    data = TensorDataset(gg.arange(10))
    a, b = random_split(data, [7, 3])
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    c, d = random_split(data, [0.8, 0.2])
    assert (len(c), len(d)) == (8, 2)
    with pytest.raises(ValueError, match="don't add up"):
        random_split(data, [3, 3])
    batch = next(iter(DataLoader(a, batch_size=7)))[0]
    assert sorted(batch.tolist()) == sorted(a.indices)


def test_loader_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(gg.arange(3)), batch_size=0)


def test_mnist_from_idx_files(tmp_path: Path) -> None:
    images, labels = _fake_mnist(tmp_path)
    train, test = MNIST(tmp_path, train=True), MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(train.data.numpy(), images)
    np.testing.assert_array_equal(test.targets.numpy(), labels.astype(np.int64))
    image, label = train[3]
    assert image.shape == (1, 28, 28) and label == labels[3]
    assert float(image.max()) <= 1.0


def test_mnist_offline_subset_is_real_and_balanced() -> None:
    train, test = MNIST(None, train=True), MNIST(None, train=False)
    assert (len(train), len(test)) == (4000, 1000)
    assert train.data.dtype == gg.uint8 and train.data.shape == (4000, 28, 28)
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert counts.min() > 60  # every digit is in the test split
    assert 20 < float(train.data.float().mean()) < 60  # real digits: mostly black background


def test_read_idx_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="bytes of data"):
        read_idx(short)


def test_cifar10_binary(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 4, dtype=np.uint8)
    pixels = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    records = np.concatenate([labels[:, None], pixels.reshape(4, -1)], axis=1)
    records.tofile(tmp_path / "test_batch.bin")
    data = CIFAR10(tmp_path, train=False)
    image, label = data[2]
    assert image.shape == (3, 32, 32) and label == labels[2]
    np.testing.assert_allclose(image.numpy(), pixels[2] / 255, rtol=1e-6)
    (tmp_path / "data_batch_1.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="record"):
        CIFAR10(tmp_path, train=True)


def test_image_folder_and_transforms(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(3)
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    augment = transforms.Compose(
        [
            transforms.Resize((16, 16)),
            transforms.RandomAffine(degrees=30, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),
            transforms.RandomRotation(15),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
        ]
    )
    data = ImageFolder(tmp_path, transform=augment)
    assert data.classes == ["cats", "dogs"] and len(data) == 4
    image, label = data[3]
    assert image.shape == (3, 16, 16) and label == 1
    x, y = next(iter(DataLoader(data, batch_size=4)))
    assert x.shape == (4, 3, 16, 16) and y.tolist() == [0, 0, 1, 1]


def test_flip_and_identity_affine_are_exact() -> None:
    from PIL import Image

    array = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    flipped = np.asarray(transforms.RandomHorizontalFlip(p=1.0)(Image.fromarray(array)))
    np.testing.assert_array_equal(flipped, array[:, ::-1])
    same = np.asarray(transforms.RandomAffine(degrees=0)(Image.fromarray(array)))
    np.testing.assert_array_equal(same, array)
    tensor = transforms.ToTensor()(array)
    assert tensor.shape == (3, 2, 3) and float(tensor.max()) == pytest.approx(17 / 255)


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolder(tmp_path)


def test_mnist_with_half_a_pair_is_an_error(tmp_path: Path) -> None:
    _fake_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="not train-labels-idx1-ubyte"):
        MNIST(tmp_path, train=True)


def test_mnist_falls_back_to_the_offline_subset_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="offline 5,000-image subset"):
        data = MNIST(tmp_path, train=False)
    assert len(data) == 1000 and data.source.startswith("offline")


def test_read_idx_rejects_a_truncated_gzip_and_header(tmp_path: Path) -> None:
    path = tmp_path / "x-idx3-ubyte.gz"
    _idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="not a complete gzip file"):
        read_idx(path)
    header_only = tmp_path / "h"
    header_only.write_bytes(bytes([0, 0, 8, 3]) + b"\x00\x00")
    with pytest.raises(ValueError, match="ends inside its header"):
        read_idx(header_only)


class _TopOfRange:
    """A stand-in generator whose every uniform draw is the top of its range (geometry checks)."""

    def uniform(self, low: float, high: float) -> float:
        return high


def test_affine_geometry_is_exact_at_right_angles_and_whole_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setattr(transforms, "cpu_generator", _TopOfRange)
    square = np.arange(36, dtype=np.uint8).reshape(6, 6) * 7
    turned = np.asarray(transforms.RandomRotation((90, 90))(Image.fromarray(square)))
    np.testing.assert_array_equal(turned, np.rot90(square))  # counter-clockwise, as PIL's rotate
    image = np.arange(40, dtype=np.uint8).reshape(4, 10) + 1
    shifted = np.asarray(transforms.RandomAffine(0, translate=(0.2, 0.5))(image))  # 2 px right, 2 px down
    np.testing.assert_array_equal(shifted[2:, 2:], image[:2, :8])
    assert not shifted[:2].any() and not shifted[:, :2].any()  # uncovered pixels are the fill
    blocks = np.kron(square[:4, :4], np.ones((4, 4), np.uint8))  # 16x16 of constant 4x4 blocks
    zoomed = np.asarray(transforms.RandomAffine(0, scale=(2.0, 2.0))(blocks))
    # zoom 2 about the centre: output pixel x samples input 8 + (x + 0.5 - 8) / 2, so the
    # central 8x8 blocks grow to 8x8 each (rows/cols 1-6 and 9-14 lie inside one input block)
    for rows, i in ((slice(1, 7), 1), (slice(9, 15), 2)):
        for cols, j in ((slice(1, 7), 1), (slice(9, 15), 2)):
            assert (zoomed[rows, cols] == square[i, j]).all()


def test_augmentations_are_seeded() -> None:
    augment = transforms.Compose(
        [
            transforms.RandomAffine(25, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=(-5, 10)),
            transforms.RandomHorizontalFlip(),
        ]
    )
    image = np.random.default_rng(0).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    gg.manual_seed(7)
    first = [np.asarray(augment(image)) for _ in range(4)]
    gg.manual_seed(7)
    again = [np.asarray(augment(image)) for _ in range(4)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(first[0], other) for other in first[1:])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: transforms.RandomAffine(-5), "degrees must be >= 0"),
        (lambda: transforms.RandomAffine((10, 5)), "min <= max"),
        (lambda: transforms.RandomAffine(0, translate=(0.5, 2.0)), "translate"),
        (lambda: transforms.RandomAffine(0, scale=(0.0, 1.0)), "scale"),
        (lambda: transforms.RandomRotation(-1), "RandomRotation: degrees"),
        (lambda: transforms.RandomHorizontalFlip(p=1.5), "p must be"),
        (lambda: transforms.Resize(0), "Resize: size"),
        (lambda: transforms.Normalize([0.5], [0.0]), "std must be non-zero"),
        (lambda: transforms.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8)), "HW or HWC"),
        (lambda: transforms.Normalize([0.5], [0.5])(gg.zeros(3, 2, 2)), "1 means for a tensor with 3 channels"),
    ],
)
def test_bad_transform_arguments(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("lengths", "error", "message"),
    [
        ([-2, 12], ValueError, "counts or fractions >= 0"),
        ([2.5, 7.5], ValueError, "neither whole counts nor fractions"),
        (10, ValueError, "list of counts"),
        ([0.5, 0.6], ValueError, "neither whole counts nor fractions summing to 1"),
        ([3, 3], ValueError, "don.t add up"),
    ],
)
def test_random_split_bad_lengths(lengths, error, message: str) -> None:
    with pytest.raises(error, match=message):
        random_split(TensorDataset(gg.arange(10)), lengths)


def test_random_split_is_seeded_and_hands_out_remainders() -> None:
    data = TensorDataset(gg.arange(10))
    parts = random_split(data, [0.34, 0.33, 0.33], generator=np.random.default_rng(4))
    assert [len(p) for p in parts] == [4, 3, 3]  # floor gives 3+3+3, the remainder goes to the first
    again = random_split(data, [0.34, 0.33, 0.33], generator=np.random.default_rng(4))
    assert [p.indices for p in parts] == [p.indices for p in again]
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        random_split(data, [5, 5], generator=42)


def test_subset_and_loader_argument_checks() -> None:
    data = TensorDataset(gg.arange(4))
    with pytest.raises(IndexError, match="indices run from 0 to 9, dataset has 4"):
        gg.data.Subset(data, [0, 9])
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(data, batch_size=True)
    with pytest.raises(TypeError, match="generator"):
        DataLoader(data, shuffle=True, generator=0)


def test_shuffled_subset_of_tensor_dataset_uses_the_batched_path() -> None:
    x = gg.arange(30).reshape(15, 2)
    part = gg.data.Subset(TensorDataset(x, gg.arange(15)), [14, 3, 7, 0, 9])
    got = [(xb.tolist(), yb.tolist()) for xb, yb in DataLoader(part, batch_size=2, shuffle=True)]
    rows = [r for xb, _ in got for r in xb]
    labels = [label for _, yb in got for label in yb]
    assert sorted(labels) == [0, 3, 7, 9, 14] and [len(xb) for xb, _ in got] == [2, 2, 1]
    assert rows == [[2 * i, 2 * i + 1] for i in labels]  # rows and labels stay paired


def test_cifar10_train_batches_in_the_archive_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.default_rng(5)
    written = []
    for i in (1, 2):
        labels = rng.integers(0, 10, 3, dtype=np.uint8)
        pixels = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
        np.concatenate([labels[:, None], pixels.reshape(3, -1)], axis=1).tofile(folder / f"data_batch_{i}.bin")
        written.append((labels, pixels))
    data = CIFAR10(tmp_path, train=True, transform=transforms.ToTensor())
    assert len(data) == 6 and data.targets == [int(v) for labels, _ in written for v in labels]
    image, label = data[4]  # second file, second record, via ToTensor on the HWC array
    np.testing.assert_allclose(image.numpy(), written[1][1][1] / 255, rtol=1e-6)
    bad = np.zeros((1, 3073), np.uint8)
    bad[0, 0] = 11
    bad.tofile(folder / "test_batch.bin")
    with pytest.raises(ValueError, match="label 11"):
        CIFAR10(tmp_path, train=False)
    with pytest.raises(FileNotFoundError, match="test_batch.bin"):
        CIFAR10(tmp_path / "nowhere", train=False)


def test_default_collate_of_dicts_and_arrays() -> None:
    samples = [{"x": np.full(3, i, np.float32), "y": i, "pair": (gg.tensor([i]), float(i))} for i in range(4)]
    batch = gg.data.default_collate(samples)
    assert batch["x"].shape == (4, 3) and batch["x"].dtype == gg.float32
    assert batch["y"].tolist() == [0, 1, 2, 3]
    assert batch["pair"][0].shape == (4, 1) and batch["pair"][1].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_mnist_transform_gets_the_uint8_image(tmp_path: Path) -> None:
    images, labels = _fake_mnist(tmp_path)
    data = MNIST(tmp_path, train=True, transform=transforms.Compose([transforms.ToTensor()]))
    image, label = data[5]
    assert image.shape == (1, 28, 28) and label == labels[5]
    np.testing.assert_allclose(image.numpy()[0], images[5] / 255, rtol=1e-6)
