import gzip
import urllib.error

import pytest
import torch

from helpers import data
from helpers.data import MNISTUnavailable, batch_indices, load_mnist, pad_to_32, per_digit_indices


def test_pad_to_32_shape_range_and_border():
    x = torch.full((3, 28, 28), 255, dtype=torch.uint8)
    y = pad_to_32(x)
    assert y.shape == (3, 1, 32, 32) and y.dtype == torch.float32
    assert y[:, :, 2:30, 2:30].eq(1).all()
    assert y[:, :, :2].eq(0).all() and y[:, :, :, -2:].eq(0).all()


def test_pad_rejects_wrong_shape():
    with pytest.raises(ValueError, match="28, 28"):
        pad_to_32(torch.zeros(3, 32, 32, dtype=torch.uint8))


def test_load_mnist_tensors(mnist_small):
    train, test = mnist_small
    assert train.images.shape == (512, 1, 32, 32) and test.images.shape == (256, 1, 32, 32)
    assert 0 <= train.images.min() and train.images.max() <= 1
    assert train.images[:, :, :2].abs().sum() == 0  # zero padding
    assert set(train.labels.tolist()) == set(range(10))


def test_missing_archives_offline_gives_instructions(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("torchvision.datasets.utils.urlopen", offline, raising=False)
    monkeypatch.setattr("torchvision.datasets.mnist.download_and_extract_archive",
                        lambda *a, **k: offline(), raising=False)
    with pytest.raises(MNISTUnavailable) as err:
        load_mnist(False, root=tmp_path)
    message = str(err.value)
    for name in data.ARCHIVES:
        assert name in message
    assert str(tmp_path) in message


def test_corrupt_archive_is_named(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"truncated")
    with pytest.raises(MNISTUnavailable, match="t10k-images-idx3-ubyte.gz is corrupt"):
        load_mnist(False, root=tmp_path)


def test_batch_indices_cover_everything_once_and_are_seeded():
    a = torch.cat(list(batch_indices(103, 10, torch.Generator().manual_seed(1))))
    b = torch.cat(list(batch_indices(103, 10, torch.Generator().manual_seed(1))))
    c = torch.cat(list(batch_indices(103, 10, torch.Generator().manual_seed(2))))
    assert sorted(a.tolist()) == list(range(103))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError):
        next(batch_indices(10, 0))


def test_per_digit_indices(mnist_small):
    _, test = mnist_small
    idx = per_digit_indices(test.labels, per_digit=2)
    assert test.labels[idx].tolist() == [d for d in range(10) for _ in range(2)]


def _write_gz(path, payload: bytes):
    import gzip

    with gzip.open(path, "wb") as f:
        f.write(payload)


def test_fashion_archives_are_extracted_from_the_debian_folder(tmp_path):
    source, root = tmp_path / "debian", tmp_path / "root"
    source.mkdir()
    for name in data.FASHION_FILES:
        _write_gz(source / f"{name}.gz", name.encode())
    assert data.extract_debian_fashion(root, source)
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(data.FASHION_FILES)  # no .part left
    assert (raw / "t10k-labels-idx1-ubyte").read_bytes() == b"t10k-labels-idx1-ubyte"


def test_corrupt_fashion_archive_is_named_and_nothing_half_written(tmp_path):
    source, root = tmp_path / "debian", tmp_path / "root"
    source.mkdir()
    (source / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(MNISTUnavailable, match="train-images-idx3-ubyte.gz could not be read"):
        data.extract_debian_fashion(root, source)
    assert not list((root / "FashionMNIST" / "raw").iterdir())


def test_unknown_dataset_and_missing_fashion_fail_clearly(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_mnist(False, dataset="cifar")
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "none")
    monkeypatch.setattr(data, "extract_debian_fashion", lambda root, source=None: False)
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("no internet")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    with pytest.raises(MNISTUnavailable, match="apt-get install dataset-fashion-mnist"):
        load_mnist(False, root=tmp_path, dataset="fashion")


@pytest.mark.parametrize("damage", ["truncate", "same-size"])
@pytest.mark.parametrize("archives_beside", [True, False])
def test_damaged_extracted_file_is_named(tmp_path, damage, archives_beside):
    import shutil

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.ARCHIVES:
        shutil.copy(data.data_root() / "MNIST" / "raw" / name, raw / name)
    load_mnist(False, limit=8, root=tmp_path)  # extracts and reads the test split
    if not archives_beside:  # only the extracted files, as in a folder EX3_DATA points at
        for name in data.ARCHIVES:
            (raw / name).unlink()
    extracted = raw / "t10k-images-idx3-ubyte"
    blob = bytearray(extracted.read_bytes())
    if damage == "truncate":
        blob = blob[:-100]
    else:
        blob[5000] ^= 0xFF
    extracted.write_bytes(bytes(blob))
    with pytest.raises(MNISTUnavailable, match="^t10k-images-idx3-ubyte in .*: not the original MNIST"):
        load_mnist(False, limit=8, root=tmp_path)


def _idx_files(raw, n=64, seed=0):
    """Another dataset in MNIST's format under MNIST's names (readable by torchvision), no archives."""
    import struct

    gen = torch.Generator().manual_seed(seed)
    raw.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=gen)
        labels = torch.arange(n, dtype=torch.uint8) % 10
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.numpy().tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.numpy().tobytes())


def test_another_dataset_under_mnists_names_is_refused_in_one_line_naming_the_files(tmp_path):
    from torchvision.datasets import MNIST

    raw = tmp_path / "MNIST" / "raw"
    _idx_files(raw)
    assert len(MNIST(str(tmp_path), train=True, download=True)) == 64  # torchvision alone would train on it
    with pytest.raises(MNISTUnavailable) as err:
        load_mnist(True, root=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "not the original MNIST" in message and str(raw) in message
    assert all(name in message for name in data.EXTRACTED)


def test_the_known_digests_are_those_of_the_verified_archives_contents():
    raw = data.data_root() / "MNIST" / "raw"
    for name, sha in data.EXTRACTED.items():
        with gzip.open(raw / f"{name}.gz", "rb") as f:
            assert data._stream_digest(f) == sha, name


def test_a_splits_fingerprint_is_the_data_it_holds(mnist_small):
    train, test = mnist_small
    again = load_mnist(False, limit=256)
    assert test.digest == again.digest and test.fingerprint() == again.fingerprint()
    assert load_mnist(False, limit=255).digest != test.digest  # the limit is part of it
    assert train.digest != test.digest
    flipped = data.Split(test.images.flip(-1), test.labels)
    assert flipped.fingerprint() != data.Split(test.images.clone(), test.labels).fingerprint()
    assert data.Split(test.images.clone(), test.labels).fingerprint() == data.Split(test.images, test.labels).fingerprint()


@pytest.mark.skipif(not data.DEBIAN_FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_loads_with_an_identity_of_its_own(tmp_path):
    from helpers.zoo import MNIST

    fashion = MNIST(load_mnist(True, 64, root=tmp_path, dataset="fashion"),
                    load_mnist(False, 32, root=tmp_path, dataset="fashion"), "fashion")
    mnist = MNIST(load_mnist(True, 64), load_mnist(False, 32))
    assert fashion.fingerprint != mnist.fingerprint
    assert fashion.fingerprint == MNIST(load_mnist(True, 64, root=tmp_path, dataset="fashion"),
                                        load_mnist(False, 32, root=tmp_path, dataset="fashion"), "fashion").fingerprint
