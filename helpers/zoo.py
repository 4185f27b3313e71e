"""Trained models by spec: "the AE with latent_dim=10, fc_layers=1, seed=0 for this profile".

Each getter returns the model from the artifact cache or trains it (and caches it), so every
notebook runs standalone and later notebooks reuse what earlier ones trained.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import torch

from .checkpoints import cached_model
from .data import Split, load_mnist
from .models import AutoEncoder, DigitCNN
from .profiles import Profile, output_dirs
from .specs import AutoencoderSpec, LatentGANSpec, PixelGANSpec
from .training import History, accuracy, default_device, seeded, train_autoencoder, train_classifier

# the code each kind of cached model depends on: editing it retrains that kind (and only that)
CLASSIFIER_CODE = ("models.py", "training.py", "data.py", "specs.py")
GAN_CODE = ("models.py", "training.py", "data.py", "specs.py", "gan.py")


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

    def train(model):
        return train_autoencoder(model, data.train.images, data.test.images, spec.epochs, lr=spec.lr,
                                 batch_size=spec.batch_size, seed=spec.seed, input_noise=spec.input_noise,
                                 code_penalty=spec.code_penalty, weight_decay=spec.weight_decay,
                                 progress=progress).to_dict()

    model, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), spec.build, train,
                                data.train.images.device, code_files=CLASSIFIER_CODE)
    model.spec = spec
    return model.to(data.train.images.device), History.from_dict(extra)


EVALUATOR_TRAINING = {"lr": 3e-3, "batch_size": 128, "schedule": "onecycle"}


def _train_evaluator(model: DigitCNN, images, labels, epochs: int, seed: int, progress: bool):
    return train_classifier(model, images, labels, epochs, seed=seed, progress=progress, **EVALUATOR_TRAINING)


def get_evaluator(profile: Profile, data: MNIST, seed: int = 0,
                  progress: bool = True) -> tuple[DigitCNN, dict]:
    """The evaluator CNN (trained once on the dataset's training split, cached) and its test
    accuracy; ``seed`` is shifted by the profile's seed offset."""
    seed = profile.seed(seed)
    config = {"kind": "evaluator", "epochs": profile.evaluator_epochs, "seed": seed,
              "train_size": profile.train_size, "test_size": profile.test_size, "lr": 3e-3,
              "schedule": "onecycle", "dataset": data.name, "data_digest": data.fingerprint}
    device = data.train.images.device

    def build():
        with seeded(seed):
            return DigitCNN()

    def train(model):
        history = _train_evaluator(model, data.train.images, data.train.labels, profile.evaluator_epochs,
                                   seed, progress)
        return {"history": history.to_dict(),
                "test_accuracy": accuracy(model, data.test.images, data.test.labels)}

    model, extra = cached_model(output_dirs(profile)["artifacts"], config, build, train, device,
                                code_files=CLASSIFIER_CODE)
    return model.to(device), extra


def classification_accuracy_score(profile: Profile, data: MNIST, images: torch.Tensor, labels: torch.Tensor,
                                  seed: int = 0, progress: bool = True) -> float:
    """Classification accuracy score (Ravuri & Vinyals, 2019): a classifier with the evaluator's
    architecture and training budget, trained on ``images`` (generated) with the ``labels`` they
    were generated for, then tested on the real test images. Compare with the evaluator's own
    test accuracy, the same classifier trained on real images. ``seed`` is shifted by the profile's
    seed offset."""
    seed = profile.seed(seed)
    with seeded(seed):
        model = DigitCNN().to(images.device)
    _train_evaluator(model, images, labels, profile.evaluator_epochs, seed, progress)
    return accuracy(model, data.test.images, data.test.labels)


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
    from .gan import train_latent_gan

    if (spec.autoencoder is None or spec.autoencoder.data_digest is None
            or len(codes) != (spec.autoencoder.train_size or 60000)):
        raise ValueError("a cached GAN learns the training codes of the autoencoder its spec names (the spec "
                         "helpers.zoo hands back, which names the data it learned from): "
                         f"got {len(codes)} codes for {spec.autoencoder}")

    def train(model):
        G, _, history, snaps = train_latent_gan(codes, spec, labels, progress)
        model.load_state_dict(G.state_dict())
        return {"history": history.to_dict(), "snapshots": {str(k): v.tolist() for k, v in snaps.items()}}

    G, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), lambda: spec.build(codes.shape[1]),
                            train, codes.device, code_files=GAN_CODE)
    snapshots = {int(k): torch.tensor(v) for k, v in extra["snapshots"].items()}
    return G.to(codes.device), History.from_dict(extra["history"]), snapshots


def get_pixel_gan(profile: Profile, spec: PixelGANSpec, data: MNIST, progress: bool = True):
    """The pixel-space DCGAN of ``spec`` (e.g. ``profile.pixel_gan(seconds)``), trained on the
    training images, cached. Returns ``(G, history, snapshots)``; the history's last row holds the
    steps reached."""
    from .gan import train_pixel_gan

    if (spec.dataset, spec.train_size or 60000) != (data.name, len(data.train)):
        raise ValueError(f"the spec is for {spec.dataset!r} with {spec.train_size} images, the data differs")
    spec = _on_data(spec, data)

    def train(model):
        G, _, history, snaps = train_pixel_gan(data.train.images, spec, progress)
        model.load_state_dict(G.state_dict())
        return {"history": history.to_dict(), "snapshots": {str(k): v.tolist() for k, v in snaps.items()}}

    device = data.train.images.device
    G, extra = cached_model(output_dirs(profile)["artifacts"], spec.key(), spec.build, train, device,
                            code_files=GAN_CODE)
    snapshots = {int(k): torch.tensor(v) for k, v in extra["snapshots"].items()}
    return G.to(device).eval(), History.from_dict(extra["history"]), snapshots
