"""Trained models by config: "the AE with latent_dim=10, fc_layers=1, seed=0 for this profile".

Each getter returns the model from the artifact cache or trains it (and caches it), so every
notebook runs standalone and later notebooks reuse what earlier ones trained.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .checkpoints import cached_model
from .data import Split, load_mnist
from .models import CHANNELS as AE_CHANNELS, FC_WIDTH as AE_FC_WIDTH, AutoEncoder, DigitCNN
from .profiles import Profile, output_dirs
from .training import History, accuracy, default_device, seeded, train_autoencoder, train_classifier

# the code each kind of cached model depends on: editing it retrains that kind (and only that)
CLASSIFIER_CODE = ("models.py", "training.py", "data.py")
GAN_CODE = ("models.py", "training.py", "data.py", "gan.py")


@dataclass
class MNIST:
    train: Split
    test: Split
    name: str = "mnist"  # or "fashion": every model trained on it is cached under that name


def mnist(profile: Profile, device=None, dataset: str = "mnist") -> MNIST:
    """Both splits for ``profile`` (subsets in smoke), as tensors on ``device``;
    ``dataset="fashion"`` gives Fashion-MNIST in the same form."""
    device = device or default_device()
    return MNIST(load_mnist(True, profile.train_size, device, dataset=dataset),
                 load_mnist(False, profile.test_size, device, dataset=dataset), dataset)


def _with_dataset(config: dict, dataset: str) -> dict:
    # MNIST models keep the keys (file names) they had before a second dataset existed
    return config if dataset == "mnist" else {**config, "dataset": dataset}


def autoencoder_config(profile: Profile, latent_dim: int, fc_layers: int, seed: int = 0,
                       input_noise: float = 0.0, code_penalty: float = 0.0, lr: float | None = None,
                       weight_decay: float = 0.0, epochs: int | None = None, dataset: str = "mnist",
                       fc_width: int = AE_FC_WIDTH) -> dict:
    """The cache key of an autoencoder; ``lr`` and ``epochs`` default to the profile's."""
    config = {"kind": "ae", "latent_dim": int(latent_dim), "fc_layers": int(fc_layers),
              "fc_width": int(fc_width), "channels": list(AE_CHANNELS), "seed": int(seed),
              "epochs": profile.ae_epochs if epochs is None else int(epochs),
              "lr": profile.ae_lr if lr is None else float(lr), "batch_size": profile.ae_batch_size,
              "loss": "bce", "input_noise": float(input_noise),
              "train_size": profile.train_size, "test_size": profile.test_size}
    # only when used, so the keys (file names) of plain autoencoders stay put
    if code_penalty:
        config["code_penalty"] = float(code_penalty)
    if weight_decay:
        config["weight_decay"] = float(weight_decay)
    return _with_dataset(config, dataset)


def get_autoencoder(profile: Profile, data: MNIST, latent_dim: int | None = None, fc_layers: int | None = None,
                    seed: int = 0, input_noise: float = 0.0, code_penalty: float = 0.0,
                    lr: float | None = None, weight_decay: float = 0.0, epochs: int | None = None,
                    fc_width: int = AE_FC_WIDTH, progress: bool = True) -> tuple[AutoEncoder, History]:
    """The trained autoencoder for this config (cached), with its training history.
    ``input_noise``: a denoising AE; ``code_penalty``: codes pushed towards N(0, I); ``lr``,
    ``weight_decay`` (AdamW) and ``epochs`` override the profile's training settings; ``latent_dim``
    defaults to the profile's (the main autoencoder). The model's ``spec`` is its cache key: pass it
    to :func:`get_latent_gan` to train a GAN on its codes."""
    latent_dim = profile.latent_dim if latent_dim is None else latent_dim
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    fc_layers = profile.chosen_fc_layers if fc_layers is None else fc_layers
    config = autoencoder_config(profile, latent_dim, fc_layers, seed, input_noise, code_penalty,
                                lr, weight_decay, epochs, data.name, fc_width)
    device = data.train.images.device

    def build():
        with seeded(seed):
            return AutoEncoder(latent_dim, AE_CHANNELS, fc_layers, fc_width)

    def train(model):
        history = train_autoencoder(model, data.train.images, data.test.images,
                                    config["epochs"], lr=config["lr"],
                                    batch_size=profile.ae_batch_size, seed=seed,
                                    input_noise=input_noise, code_penalty=code_penalty,
                                    weight_decay=weight_decay, progress=progress)
        return history.to_dict()

    model, extra = cached_model(output_dirs(profile)["artifacts"], config, build, train, device,
                                code_files=CLASSIFIER_CODE)
    model.spec = config
    return model.to(device), History.from_dict(extra)


EVALUATOR_TRAINING = {"lr": 3e-3, "batch_size": 128, "schedule": "onecycle"}


def _train_evaluator(model: DigitCNN, images, labels, epochs: int, seed: int, progress: bool):
    return train_classifier(model, images, labels, epochs, seed=seed, progress=progress, **EVALUATOR_TRAINING)


def get_evaluator(profile: Profile, data: MNIST, seed: int = 0,
                  progress: bool = True) -> tuple[DigitCNN, dict]:
    """The evaluator CNN (trained once on the dataset's training split, cached) and its test
    accuracy."""
    config = _with_dataset({"kind": "evaluator", "epochs": profile.evaluator_epochs, "seed": seed,
                            "train_size": profile.train_size, "test_size": profile.test_size, "lr": 3e-3,
                            "schedule": "onecycle"}, data.name)
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
    test accuracy, the same classifier trained on real images."""
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


def get_latent_gan(profile: Profile, autoencoder_cfg: dict, codes: torch.Tensor, noise_dim: int,
                   objective: str, steps: int, labels: torch.Tensor | None = None, seed: int = 0,
                   snapshot_every: int = 0, aux_weight: float = 0.0, critic_steps: int | None = None,
                   label_smoothing: float = 0.0, unrolled_steps: int = 0, progress: bool = True):
    """A GAN generator trained on ``codes`` of the autoencoder described by ``autoencoder_cfg``
    (conditional on ``labels`` if given), cached like the other models. Returns
    ``(G, history, snapshots)``."""
    from .checkpoints import config_key
    from .gan import train_latent_gan
    from .models import LatentGenerator

    config = {"kind": "cgan" if labels is not None else "gan", "autoencoder": config_key(autoencoder_cfg),
              "noise_dim": noise_dim, "objective": objective, "steps": steps, "seed": seed,
              "batch_size": profile.gan_batch_size, "hidden": [256, 256],
              "snapshot_every": snapshot_every, "n_codes": len(codes), "aux_weight": aux_weight}
    if critic_steps is not None:  # only when set, so earlier file names stay valid
        config["critic_steps"] = int(critic_steps)
    if label_smoothing:
        config["label_smoothing"] = float(label_smoothing)
    if unrolled_steps:
        config["unrolled_steps"] = int(unrolled_steps)
    d = codes.shape[1]

    def build():
        return LatentGenerator(noise_dim, d, (256, 256), 10 if labels is not None else None)

    def train(model):
        G, _, history, snaps = train_latent_gan(codes, noise_dim, objective, steps, profile.gan_batch_size,
                                                labels=labels, seed=seed, snapshot_every=snapshot_every,
                                                aux_weight=aux_weight, critic_steps=critic_steps,
                                                label_smoothing=label_smoothing,
                                                unrolled_steps=unrolled_steps, progress=progress)
        model.load_state_dict(G.state_dict())
        return {"history": history.to_dict(), "snapshots": {str(k): v.tolist() for k, v in snaps.items()}}

    G, extra = cached_model(output_dirs(profile)["artifacts"], config, build, train, codes.device,
                            code_files=GAN_CODE)
    snapshots = {int(k): torch.tensor(v) for k, v in extra["snapshots"].items()}
    return G.to(codes.device), History.from_dict(extra["history"]), snapshots


def get_pixel_gan(profile: Profile, data: MNIST, max_seconds: float, noise_dim: int = 64,
                  width: int = 32, seed: int = 0, progress: bool = True):
    """The pixel-space DCGAN baseline, trained on the training images for at most
    ``max_seconds`` of wall time (or ``profile.pixel_gan_max_steps``), cached by that budget.
    Returns ``(G, history, snapshots)``; the history's last row holds the steps reached."""
    from .gan import train_pixel_gan
    from .models import DCGANGenerator

    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
    config = _with_dataset({"kind": "pixel_gan", "noise_dim": noise_dim, "width": width, "seed": seed,
                            "objective": "nsgan", "batch_size": 64, "max_steps": profile.pixel_gan_max_steps,
                            "recipe": "dcgan-init, batch-norm D",
                            "max_seconds": round(float(max_seconds)), "train_size": profile.train_size},
                           data.name)

    def build():
        return DCGANGenerator(noise_dim, width)

    def train(model):
        G, _, history, snaps = train_pixel_gan(data.train.images, noise_dim, "nsgan",
                                               profile.pixel_gan_max_steps, max(1, round(max_seconds)),
                                               batch_size=64, width=width, seed=seed,
                                               snapshot_every=max(1, profile.pixel_gan_max_steps // 10),
                                               progress=progress)
        model.load_state_dict(G.state_dict())
        return {"history": history.to_dict(), "snapshots": {str(k): v.tolist() for k, v in snaps.items()}}

    device = data.train.images.device
    G, extra = cached_model(output_dirs(profile)["artifacts"], config, build, train, device,
                            code_files=GAN_CODE)
    snapshots = {int(k): torch.tensor(v) for k, v in extra["snapshots"].items()}
    return G.to(device).eval(), History.from_dict(extra["history"]), snapshots
