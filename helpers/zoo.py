"""Trained models by spec: "the AE with latent_dim=10, fc_layers=1, seed=0 for this profile".

Each getter returns the model from the artifact cache or trains it (and caches it), so every
notebook runs standalone and later notebooks reuse what earlier ones trained.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import torch

from .checkpoints import cached_model
from .codehash import CodeFingerprint, code_fingerprint
from .data import Split, load_mnist, pad_to_32
from .evaluation import train_evaluator
from .models import GAN, AutoEncoder, DigitCNN
from .profiles import Profile, output_dirs
from .specs import AutoencoderSpec, EvaluatorSpec, LatentGANSpec, PixelGANSpec
from .training import History, accuracy, default_device, latent_codes, train_autoencoder


@dataclass
class MNIST:
    train: Split
    test: Split
    name: str = "mnist"  # or "fashion": every model trained on it is cached under that name

    @property
    def fingerprint(self) -> str:
        """Which dataset, images and labels (both splits): the ``data_digest`` in the spec, and so
        in the cache key, of every model trained on them."""
        both = f"{self.name}|{self.train.fingerprint()}|{self.test.fingerprint()}"
        return hashlib.sha256(both.encode()).hexdigest()[:16]


def mnist(profile: Profile, device=None, dataset: str = "mnist") -> MNIST:
    """Both splits for ``profile`` (subsets in smoke), as tensors on ``device``;
    ``dataset="fashion"`` gives Fashion-MNIST in the same form."""
    device = device or default_device()
    return MNIST(load_mnist(True, profile.train_size, device, dataset=dataset),
                 load_mnist(False, profile.test_size, device, dataset=dataset), dataset)


def _on_data(spec, data: MNIST):
    """``spec`` with the fingerprint of ``data``, the images it learns from; a spec that already
    names other data is refused."""
    if spec.data_digest not in (None, data.fingerprint):
        raise ValueError(f"the spec names data {spec.data_digest}, the data given is {data.fingerprint}")
    return replace(spec, data_digest=data.fingerprint)


def get_autoencoder(profile: Profile, data: MNIST, spec: AutoencoderSpec | None = None, progress: bool = True,
                    **changes) -> tuple[AutoEncoder, History]:
    """The trained autoencoder of ``spec`` (default: the profile's main autoencoder with
    ``changes``, e.g. ``latent_dim=4, seed=1``), cached, with its training history. The model
    carries its ``spec`` (with the fingerprint of ``data``): pass it to ``profile.latent_gan`` to
    key a GAN trained on its codes."""
    spec = spec or profile.autoencoder(dataset=data.name, **changes)
    sizes = (spec.train_size or 60000, spec.test_size or 10000)
    if (spec.dataset, *sizes) != (data.name, len(data.train), len(data.test)):
        raise ValueError(f"the spec is for {spec.dataset!r} with {sizes} images, the data is {data.name!r} "
                         f"with {(len(data.train), len(data.test))}")
    spec = _on_data(spec, data)
    model, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), spec.build,
                                lambda model: _fit_autoencoder(model, spec, data, progress),
                                data.train.images.device, code=trained_by("ae"))
    model.spec = spec
    return model.to(data.train.images.device), History.from_dict(extra)


def _fit_autoencoder(model: AutoEncoder, spec: AutoencoderSpec, data, progress: bool) -> dict:
    """Train ``model`` as ``spec`` says on ``data`` (an :class:`MNIST`); returns its history as a dict."""
    return train_autoencoder(model, spec, data.train.images, data.test.images, progress).to_dict()


def _fit_evaluator(model: DigitCNN, spec: EvaluatorSpec, data, progress: bool) -> dict:
    """Train the evaluator on ``data``'s training split; returns its history and test accuracy."""
    history = train_evaluator(model, spec, data.train.images, data.train.labels, progress)
    return {"history": history.to_dict(), "test_accuracy": accuracy(model, data.test.images, data.test.labels)}


def get_evaluator(profile: Profile, data: MNIST, seed: int = 0,
                  progress: bool = True) -> tuple[DigitCNN, dict]:
    """The evaluator CNN of ``profile.evaluator(...)`` (trained once on the dataset's training
    split, cached) and its test accuracy; ``seed`` is shifted by the profile's seed offset."""
    spec = _on_data(profile.evaluator(data.name, seed), data)
    device = data.train.images.device
    model, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), spec.build,
                                lambda model: _fit_evaluator(model, spec, data, progress),
                                device, code=trained_by("evaluator"))
    return model.to(device), extra


def autoencoder_row(model: AutoEncoder, history: History) -> dict:
    """One table row: size, final test reconstruction scores and training time."""
    last = history.rows[-1] if history.rows else {}
    return {"d": model.encoder.latent_dim, "fc_layers": model.encoder.fc_layers, "fc_width": model.encoder.fc_width,
            "params": sum(p.numel() for p in model.parameters()),
            "test_mse": last.get("test_mse"), "test_psnr_db": last.get("test_psnr"),
            "test_bce": last.get("test_bce"), "train_s": history.seconds}


def get_latent_gan(profile: Profile, spec: LatentGANSpec, codes: torch.Tensor, labels: torch.Tensor | None = None,
                   progress: bool = True):
    """The generator of ``spec`` (e.g. ``profile.latent_gan(ae.spec)``, Q4's) trained on ``codes``,
    the autoencoder's codes of the training images (and their ``labels`` for a conditional spec),
    cached like the other models. Returns ``(G, history, snapshots)``."""
    if (spec.autoencoder is None or spec.autoencoder.data_digest is None
            or len(codes) != (spec.autoencoder.train_size or 60000)):
        raise ValueError("a cached GAN learns the training codes of the autoencoder its spec names (the spec "
                         "helpers.zoo hands back, which names the data it learned from): "
                         f"got {len(codes)} codes for {spec.autoencoder}")
    gan, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), lambda: spec.build(codes.shape[1]),
                              lambda gan: _fit_latent_gan(gan, spec, codes, labels, progress), codes.device,
                              code=trained_by(spec.key()["kind"]))
    snapshots = {int(k): torch.tensor(v) for k, v in extra["snapshots"].items()}
    return gan.generator.to(codes.device), History.from_dict(extra["history"]), snapshots


def _gan_extra(history: History, snapshots: dict) -> dict:
    return {"history": history.to_dict(), "snapshots": {str(k): v.tolist() for k, v in snapshots.items()}}


def _fit_latent_gan(gan: GAN, spec: LatentGANSpec, codes: torch.Tensor, labels, progress: bool) -> dict:
    """Train ``gan`` (``spec.build``'s G and D) on ``codes`` as ``spec`` says; returns history and snapshots."""
    from .gan import train_latent_gan

    _, _, history, snapshots = train_latent_gan(codes, spec, labels, progress, gan=gan)
    return _gan_extra(history, snapshots)


def get_pixel_gan(profile: Profile, spec: PixelGANSpec, data: MNIST, progress: bool = True):
    """The pixel-space DCGAN of ``spec`` (e.g. ``profile.pixel_gan(seconds)``), trained on the
    training images, cached. Returns ``(G, history, snapshots)``; the history's last row holds the
    steps reached."""
    if (spec.dataset, spec.train_size or 60000) != (data.name, len(data.train)):
        raise ValueError(f"the spec is for {spec.dataset!r} with {spec.train_size} images, the data differs")
    spec = _on_data(spec, data)
    device = data.train.images.device
    gan, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), spec.build,
                              lambda gan: _fit_pixel_gan(gan, spec, data, progress), device,
                              code=trained_by("pixel_gan"))
    snapshots = {int(k): torch.tensor(v) for k, v in extra["snapshots"].items()}
    return gan.generator.to(device).eval(), History.from_dict(extra["history"]), snapshots


def _fit_pixel_gan(gan: GAN, spec: PixelGANSpec, data, progress: bool) -> dict:
    """Train ``gan`` (``spec.build()``'s G and D) on ``data``'s training images as ``spec`` says."""
    from .gan import train_pixel_gan

    _, _, history, snapshots = train_pixel_gan(data.train.images, spec, progress, gan=gan)
    return _gan_extra(history, snapshots)


# What a cached model's weights depend on besides its key (the spec, which names its data): the
# code its training runs. Each kind names its entry points, the network it builds and the function
# that trains it, and helpers.codehash follows what they call, so that editing any of that code
# retrains the kind, and editing anything else (a docstring, a comment, another kind's loss)
# retrains nothing. The images: their files' bytes are in the key, pad_to_32 makes them the
# tensors a model sees; a latent GAN learns its autoencoder's codes, made by latent_codes.
_AUTOENCODER = (AutoencoderSpec, _fit_autoencoder, pad_to_32)
_LATENT_GAN = (LatentGANSpec, _fit_latent_gan, latent_codes, *_AUTOENCODER)
TRAINED_BY = {
    "ae": _AUTOENCODER,
    "evaluator": (EvaluatorSpec, _fit_evaluator, pad_to_32),
    "gan": _LATENT_GAN,
    "cgan": _LATENT_GAN,
    "pixel_gan": (PixelGANSpec, _fit_pixel_gan, pad_to_32),
}


def trained_by(kind: str) -> CodeFingerprint:
    """The fingerprint of the code that trains a cached model of ``kind`` (its key's ``"kind"``)."""
    if kind not in TRAINED_BY:
        raise KeyError(f"unknown kind of cached model {kind!r}: one of {sorted(TRAINED_BY)}")
    return code_fingerprint(*TRAINED_BY[kind])
