"""MNIST (and Fashion-MNIST, for the appendix) as tensors held on the device: zero-padded to
32x32, floats in [0, 1].

Batches are drawn by index from a seeded permutation (:func:`batch_indices`), so no
per-sample PIL transform or DataLoader worker is involved in training loops.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .environment import PROJECT_ROOT, env

# md5 of the four archives, as in torchvision.datasets.MNIST.resources
ARCHIVES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# sha256 of the four files extracted from those archives: what torchvision reads. It reads an
# extracted file without asking where it came from, so each one present is checked against these,
# whether or not its archive lies beside it (another dataset under MNIST's names is refused).
EXTRACTED = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DATASETS = ("mnist", "fashion")
FASHION_CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                   "bag", "ankle boot")
# Debian's dataset-fashion-mnist package; its archives are recompressed (md5s differ from
# torchvision's), so they are gunzipped into <root>/FashionMNIST/raw/, where torchvision only
# checks that the extracted files exist.
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte")


class MNISTUnavailable(RuntimeError):
    """A dataset could not be found, downloaded or read; the message says what to do."""


def data_root() -> Path:
    """``$EX3_DATA`` if set, else the project's gitignored ``data/``."""
    return Path(env("EX3_DATA", PROJECT_ROOT / "data"))


def _stream_digest(f, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return _stream_digest(f, "md5")


def _instructions(raw: Path) -> str:
    names = "\n".join(f"  {raw / name}" for name in ARCHIVES)
    return (f"Put the four original MNIST archives here (md5 as in torchvision):\n{names}\n"
            "They are the files torchvision downloads; `make data` copies them from "
            "../shared/data/MNIST/raw/ when that folder exists, or set EX3_DATA to a folder "
            "that holds MNIST/raw/.")


def check_archives(root: Path) -> None:
    """Raise :class:`MNISTUnavailable` naming any archive that is present but corrupt."""
    raw = Path(root) / "MNIST" / "raw"
    for name, md5 in ARCHIVES.items():
        path = raw / name
        if path.exists() and _md5(path) != md5:
            raise MNISTUnavailable(
                f"MNIST archive {path} is corrupt or truncated (md5 {_md5(path)}, expected {md5}). "
                f"Delete it and provide a fresh copy.\n" + _instructions(raw))


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return _stream_digest(f)


def check_extracted(root: Path) -> None:
    """Raise :class:`MNISTUnavailable`, in one line naming them, if any extracted MNIST file present
    differs from the original (truncated, altered, or another dataset under MNIST's names)."""
    raw = Path(root) / "MNIST" / "raw"
    wrong = [name for name, sha in EXTRACTED.items() if (raw / name).exists() and _sha256(raw / name) != sha]
    if wrong:
        raise MNISTUnavailable(
            f"{', '.join(wrong)} in {raw}: not the original MNIST (sha256 differs: another dataset under MNIST's "
            "names, or a damaged copy); delete them, and they are extracted again from the verified .gz archives, "
            "or set EX3_DATA to a folder that holds MNIST")


def _mnist(root: Path, train: bool):
    from torchvision.datasets import MNIST

    check_archives(root)
    check_extracted(root)
    raw = Path(root) / "MNIST" / "raw"
    try:
        return MNIST(str(root), train=train, download=True)
    except (OSError, RuntimeError, EOFError, gzip.BadGzipFile) as err:  # urllib errors are OSErrors
        missing = [n for n in ARCHIVES if not (raw / n).exists()]
        if missing:
            raise MNISTUnavailable(
                f"MNIST is not in {raw} and could not be downloaded ({type(err).__name__}: {err}).\n"
                + _instructions(raw)) from err
        raise MNISTUnavailable(
            f"MNIST files in {raw} could not be read ({type(err).__name__}: {err}). Delete the "
            "extracted (non-.gz) files there so they are re-extracted.") from err


def _fashion_instructions(raw: Path) -> str:
    return (f"Fashion-MNIST is not in {raw} and could not be downloaded. On Debian/Ubuntu "
            "`apt-get install dataset-fashion-mnist` (what `make data` does as root) provides it under "
            f"{DEBIAN_FASHION}, from where it is extracted on first use; or put the four extracted "
            f"files ({', '.join(FASHION_FILES)}) in {raw}.")


def extract_debian_fashion(root: Path, source: Path = DEBIAN_FASHION) -> bool:
    """Gunzip Debian's Fashion-MNIST archives into ``root/FashionMNIST/raw/`` (each file written
    atomically); True when all four extracted files are then present."""
    raw = Path(root) / "FashionMNIST" / "raw"
    for name in FASHION_FILES:
        target, archive = raw / name, Path(source) / f"{name}.gz"
        if target.exists() or not archive.exists():
            continue
        raw.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        try:
            with gzip.open(archive, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError) as err:
            tmp.unlink(missing_ok=True)
            raise MNISTUnavailable(f"Fashion-MNIST archive {archive} could not be read "
                                   f"({type(err).__name__}: {err}); reinstall dataset-fashion-mnist.") from err
        os.replace(tmp, target)
    return all((raw / name).exists() for name in FASHION_FILES)


def _fashion(root: Path, train: bool):
    from torchvision.datasets import FashionMNIST

    raw = Path(root) / "FashionMNIST" / "raw"
    present = extract_debian_fashion(root)
    try:
        return FashionMNIST(str(root), train=train, download=True)
    except (OSError, RuntimeError, EOFError, gzip.BadGzipFile) as err:
        if not present:
            raise MNISTUnavailable(_fashion_instructions(raw) + f" ({type(err).__name__}: {err})") from err
        raise MNISTUnavailable(f"Fashion-MNIST files in {raw} could not be read ({type(err).__name__}: "
                               f"{err}). Delete them so they are extracted again.") from err


def tensor_digest(*tensors: torch.Tensor) -> str:
    """SHA-256 over the dtype, shape and bytes of each tensor, in order: which data exactly."""
    digest = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        digest.update(f"{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


@dataclass
class Split:
    """One MNIST split as tensors: ``images`` (N, 1, 32, 32) float in [0, 1], ``labels`` (N,).
    ``digest``: SHA-256 of the images and labels as read from the files (:func:`load_mnist` sets
    it); :meth:`fingerprint` falls back to one of the tensors themselves."""

    images: torch.Tensor
    labels: torch.Tensor
    digest: str | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> "Split":
        return Split(self.images[index], self.labels[index])

    def fingerprint(self) -> str:
        """Which images and labels these are: part of the cache key of every model trained on them."""
        return self.digest or tensor_digest(self.images, self.labels)


def pad_to_32(images_uint8: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 32, 32) float32 in [0, 1], zero-padded by 2 on each side."""
    if images_uint8.ndim != 3 or images_uint8.shape[-2:] != (28, 28):
        raise ValueError(f"expected (N, 28, 28) images, got {tuple(images_uint8.shape)}")
    x = images_uint8.unsqueeze(1).float().div_(255.0)
    return F.pad(x, (2, 2, 2, 2))


def load_mnist(train: bool, limit: int | None = None, device: torch.device | str = "cpu",
               root: Path | None = None, dataset: str = "mnist") -> Split:
    """Load one split onto ``device``. ``limit`` keeps the first ``limit`` images (smoke runs);
    ``dataset="fashion"`` loads Fashion-MNIST instead (same format: ten classes, 28x28 grey)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    loader = _mnist if dataset == "mnist" else _fashion
    ds = loader(Path(root) if root else data_root(), train)
    images, labels = ds.data, ds.targets
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        images, labels = images[:limit], labels[:limit]
    return Split(pad_to_32(images).to(device), labels.long().to(device), tensor_digest(images, labels))


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True, device: torch.device | str = "cpu"):
    """Yield index tensors covering ``range(n)`` in batches (seeded permutation if shuffled)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(device)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def per_digit_indices(labels: torch.Tensor, per_digit: int = 2, offset: int = 0) -> torch.Tensor:
    """The first ``per_digit`` indices (after skipping ``offset``) of each digit 0-9, in digit order."""
    labels = labels.cpu()
    out = []
    for digit in range(10):
        pool = (labels == digit).nonzero().flatten()[offset:offset + per_digit]
        if len(pool) < per_digit:
            raise ValueError(f"only {len(pool)} examples of digit {digit} after offset {offset}")
        out.append(pool)
    return torch.cat(out)


# how far random_affine moves an image by default: pixels, degrees, relative size
MOVES = {"shift": 2.0, "degrees": 12.0, "scale": 0.1}


def random_affine(images: torch.Tensor, copies: int, generator: torch.Generator, shift: float = MOVES["shift"],
                  degrees: float = MOVES["degrees"], scale: float = MOVES["scale"]) -> torch.Tensor:
    """``images`` followed by ``copies`` randomly moved versions of them (each image shifted by up
    to ``shift`` pixels, rotated by up to ``degrees`` and scaled by up to ``scale``, uniformly):
    (N, 1, 32, 32) -> ((copies + 1) N, 1, 32, 32), seeded by ``generator``."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    n, out = len(images), [images]
    for _ in range(copies):
        angle, size, move = (torch.rand(n, generator=generator) * 2 - 1 for _ in range(3))
        angle, size = angle * degrees * torch.pi / 180, 1 + size * scale
        cos, sin = torch.cos(angle) / size, torch.sin(angle) / size
        move = torch.stack([move, torch.rand(n, generator=generator) * 2 - 1], 1) * shift * 2 / images.shape[-1]
        theta = torch.stack([torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
        out.append(F.grid_sample(images, grid, align_corners=False))
    return torch.cat(out)
