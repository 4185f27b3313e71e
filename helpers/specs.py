"""What a trained model is: one small frozen spec per thing the report trains: the autoencoder,
the evaluator CNN, Q3's MLP head, the latent GAN (conditional or not) with its discriminator and
the pixel-space GAN with its own. A spec holds every setting that decides the trained weights and
is the only home of their defaults, which are the report's values; it builds every network it
trains (:meth:`build`) and, for a cached model, names the cache file (:meth:`key`). The profile only scales them (data
sizes, step counts, seeds) and hands them out (``profile.autoencoder()``, ``profile.latent_gan(...)``);
a notebook changes a field with ``dataclasses.replace`` or keyword overrides.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .models import (CHANNELS, FC_WIDTH, GAN, AutoEncoder, DCGANDiscriminator, DCGANGenerator, DigitCNN,
                     EncoderClassifier, LatentDiscriminator, LatentGenerator)
from .seeding import seeded

SPEC_FORMAT = 4  # bump when a field's meaning changes: every cached model is then retrained (4: data_digest)
OBJECTIVES = ("nsgan", "gan", "lsgan", "wgan-clip", "wgan-gp", "hinge")
WASSERSTEIN = ("wgan-clip", "wgan-gp")


def _key(kind: str, spec) -> dict:
    return {"kind": kind, "format": SPEC_FORMAT, **asdict(spec)}


@dataclass(frozen=True)
class AutoencoderSpec:
    """The convolutional autoencoder of Q1 and how it is trained (Adam, one-cycle schedule, BCE).
    ``input_noise``: a denoising AE; ``code_penalty``: codes pushed towards N(0, I);
    ``weight_decay`` > 0 switches to AdamW; ``train_size``/``test_size`` None = all images;
    ``data_digest``: which images it learned from (and was tested on), filled in by
    :mod:`helpers.zoo` from the data it is handed, so that a model trained on other files under the
    same names has another key. A GAN's spec contains its autoencoder's, and with it this digest."""

    latent_dim: int = 10
    fc_layers: int = 2
    fc_width: int = FC_WIDTH
    channels: tuple[int, ...] = CHANNELS
    epochs: int = 4
    lr: float = 4e-3
    batch_size: int = 128
    weight_decay: float = 0.0
    input_noise: float = 0.0
    code_penalty: float = 0.0
    seed: int = 0
    dataset: str = "mnist"
    train_size: int | None = None
    test_size: int | None = None
    data_digest: str | None = None

    def __post_init__(self):
        for name in ("latent_dim", "epochs", "batch_size", "fc_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("fc_layers", "weight_decay", "input_noise", "code_penalty"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    def build(self) -> AutoEncoder:
        with seeded(self.seed):
            return AutoEncoder(self.latent_dim, self.channels, fc_layers=self.fc_layers, fc_width=self.fc_width)

    def key(self) -> dict:
        return _key("ae", self)


@dataclass(frozen=True)
class EvaluatorSpec:
    """The evaluator, a small CNN digit classifier that judges generated images (its features
    give the FID), and how it is trained: cross-entropy, AdamW with a one-cycle schedule up to
    ``lr``, on the training images of ``dataset``; sizes and digest as in :class:`AutoencoderSpec`.
    Q5's classification accuracy score trains the same recipe on generated images."""

    epochs: int = 4
    lr: float = 3e-3
    batch_size: int = 128
    seed: int = 0
    dataset: str = "mnist"
    train_size: int | None = None
    test_size: int | None = None
    data_digest: str | None = None

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    def build(self) -> DigitCNN:
        with seeded(self.seed):
            return DigitCNN()

    def key(self) -> dict:
        return _key("evaluator", self)


@dataclass(frozen=True)
class HeadSpec:
    """Q3's MLP head on an encoder's standardised code (hidden widths ``hidden``, LeakyReLU), and
    how it is trained: AdamW at ``lr`` with ``weight_decay``, batches of ``batch_size``, for
    ``epochs``; ``encoder_lr`` is the encoder's rate where it trains too (fine-tuning). Fixed up
    front, with no tuning on the test set. Not cached: seconds to train."""

    hidden: tuple[int, ...] = (64,)
    dropout: float = 0.0
    lr: float = 1e-3
    encoder_lr: float = 1e-4
    weight_decay: float = 1e-4
    epochs: int = 300
    batch_size: int = 64

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")

    def build(self, encoder) -> EncoderClassifier:
        """``encoder`` with a fresh head on its code (the caller seeds it: one seed per labelled subset)."""
        return EncoderClassifier(encoder, self.hidden, dropout=self.dropout)


@dataclass(frozen=True)
class GANRecipe:
    """How a GAN is trained, whatever it generates: ``critic_steps`` D updates per G update
    (None: 5 for the Wasserstein objectives, else 1); ``label_smoothing`` 0.1 trains D towards 0.9
    on real samples; ``clip`` bounds the critic's weights for ``"wgan-clip"``; ``unrolled_steps``
    k > 0 trains G against D unrolled k updates ahead; ``max_seconds`` stops training early;
    ``snapshot_every`` > 0 keeps G's output for ``n_snapshot`` fixed noise vectors that often."""

    noise_dim: int = 8
    objective: str = "nsgan"
    steps: int = 12000
    batch_size: int = 512
    lr: float = 2e-4
    critic_steps: int | None = None
    gp_weight: float = 10.0
    clip: float = 0.01
    label_smoothing: float = 0.0
    unrolled_steps: int = 0
    max_seconds: float | None = None
    snapshot_every: int = 0
    n_snapshot: int = 64
    seed: int = 0

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.noise_dim < 1:
            raise ValueError(f"noise_dim must be >= 1, got {self.noise_dim}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if self.critic_steps is not None and self.critic_steps < 1:
            raise ValueError(f"critic_steps must be >= 1, got {self.critic_steps}")
        if self.unrolled_steps < 0:
            raise ValueError(f"unrolled_steps must be >= 0, got {self.unrolled_steps}")
        if self.unrolled_steps and self.objective in WASSERSTEIN:
            raise ValueError("unrolled_steps is for the BCE, least-squares and hinge objectives")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be > 0, got {self.max_seconds}")

    @property
    def d_steps(self) -> int:
        return self.critic_steps or (5 if self.objective in WASSERSTEIN else 1)


@dataclass(frozen=True)
class LatentGANSpec(GANRecipe):
    """G: noise -> code and D: code -> score, MLPs of widths ``hidden``, trained on the codes of
    ``autoencoder`` (None: on data the caller gives, e.g. in tests). ``conditional``: both see the
    digit (Q5); ``aux_weight`` > 0 adds that weight x a fixed code classifier's cross-entropy for
    the requested digit to G's loss."""

    autoencoder: AutoencoderSpec | None = None
    hidden: tuple[int, ...] = (256, 256)
    conditional: bool = False
    aux_weight: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        if self.aux_weight and not self.conditional:
            raise ValueError("aux_weight needs labels (a conditional GAN)")

    def build(self, code_dim: int) -> GAN:
        """G and D for codes of size ``code_dim``, initialised from ``seed``."""
        classes = 10 if self.conditional else None
        with seeded(self.seed):
            return GAN(LatentGenerator(self.noise_dim, code_dim, self.hidden, classes),
                       LatentDiscriminator(code_dim, self.hidden, classes))

    def key(self) -> dict:
        return _key("cgan" if self.conditional else "gan", self)


@dataclass(frozen=True)
class PixelGANSpec(GANRecipe):
    """The DCGAN on the 32x32 images themselves (batch-norm D except for WGAN-GP), the baseline the
    latent GAN is measured against; ``steps`` is the most it trains, ``max_seconds`` its time;
    ``data_digest`` as in :class:`AutoencoderSpec`."""

    noise_dim: int = 64
    batch_size: int = 64
    width: int = 32
    dataset: str = "mnist"
    train_size: int | None = None
    data_digest: str | None = None

    def build(self) -> GAN:
        """G and D (batch norm in D except for WGAN-GP, whose penalty scores each sample alone),
        initialised from ``seed``."""
        with seeded(self.seed):
            return GAN(DCGANGenerator(self.noise_dim, self.width),
                       DCGANDiscriminator(self.width, batch_norm=self.objective != "wgan-gp"))

    def key(self) -> dict:
        return _key("pixel_gan", self)

