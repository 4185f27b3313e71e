"""Network definitions: the convolutional autoencoder, MLP heads, the evaluator CNN and the
latent-space GAN networks. Every module takes its sizes as explicit constructor arguments."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


# the project's autoencoder architecture: its one home (the zoo and every notebook use these)
CHANNELS = (16, 32, 64)
FC_WIDTH = 512


def mlp(sizes: Sequence[int], activation=nn.LeakyReLU, dropout: float = 0.0,
        final_activation: nn.Module | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with activations (and dropout) between."""
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least input and output sizes, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation(0.2) if activation is nn.LeakyReLU else activation())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


def conv_stack(channels: Sequence[int]) -> nn.Sequential:
    """The encoder's convolutions: one stride-2 3x3 convolution with LeakyReLU(0.2) per entry of
    ``channels``, each halving the image's side (32 -> 4 for three)."""
    layers, c_in = [], 1
    for c_out in channels:
        layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
        c_in = c_out
    return nn.Sequential(*layers)


def deconv_stack(channels: Sequence[int]) -> nn.Sequential:
    """The mirror image of :func:`conv_stack`: stride-2 4x4 transposed convolutions from
    ``channels[-1]`` maps back to one, LeakyReLU(0.2) between them and none after the last
    (its output is the image's logits)."""
    rev, layers = list(channels)[::-1], []
    for c_in, c_out in zip(rev, rev[1:] + [1]):
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers[:-1])


class Encoder(nn.Module):
    """32x32 image -> ``latent_dim`` code.

    Three stride-2 3x3 convolutions take the image to a 4x4 map; then ``fc_layers`` hidden
    fully-connected layers of width ``fc_width`` act at the latent level before the final
    linear map to the code. With ``fc_layers=0`` that final map is the only one: a single
    linear projection of the 4x4 map (what a 4x4 "valid" convolution to ``latent_dim``
    channels would compute).
    """

    def __init__(self, latent_dim: int, channels: Sequence[int] = CHANNELS, *,
                 fc_layers: int, fc_width: int = FC_WIDTH):
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        if fc_layers < 0:
            raise ValueError(f"fc_layers must be >= 0, got {fc_layers}")
        self.latent_dim, self.channels, self.fc_layers = latent_dim, tuple(channels), fc_layers
        self.fc_width = fc_width if fc_layers else 0
        self.conv = conv_stack(channels)
        side = 32 // 2 ** len(channels)
        flat = channels[-1] * side * side
        fc = [flat] + [fc_width] * fc_layers + [latent_dim]
        self.fc = mlp(fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 32, 32):
            raise ValueError(f"Encoder expects (N, 1, 32, 32) images, got {tuple(x.shape)}")
        return self.fc(self.conv(x).flatten(1))


class Decoder(nn.Module):
    """``latent_dim`` code -> 32x32 image in [0, 1]; the mirror image of :class:`Encoder`."""

    def __init__(self, latent_dim: int, channels: Sequence[int] = CHANNELS, *,
                 fc_layers: int, fc_width: int = FC_WIDTH):
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.latent_dim = latent_dim
        rev = list(channels)[::-1]
        self.side = 32 // 2 ** len(channels)
        self.top = rev[0]
        fc = [latent_dim] + [fc_width] * fc_layers + [rev[0] * self.side * self.side]
        self.fc = nn.Sequential(mlp(fc), nn.LeakyReLU(0.2))
        self.deconv = deconv_stack(channels)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Decoder expects (N, {self.latent_dim}) codes, got {tuple(z.shape)}")
        h = self.fc(z).view(-1, self.top, self.side, self.side)
        return self.deconv(h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))


class AutoEncoder(nn.Module):
    def __init__(self, latent_dim: int, channels: Sequence[int] = CHANNELS, *,
                 fc_layers: int, fc_width: int = FC_WIDTH):
        super().__init__()
        self.encoder = Encoder(latent_dim, channels, fc_layers=fc_layers, fc_width=fc_width)
        self.decoder = Decoder(latent_dim, channels, fc_layers=fc_layers, fc_width=fc_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class EncoderClassifier(nn.Module):
    """An encoder followed by an MLP head over its latent code (Q3)."""

    def __init__(self, encoder: Encoder, hidden: Sequence[int] = (64,), n_classes: int = 10,
                 dropout: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.head = mlp([encoder.latent_dim, *hidden, n_classes], dropout=dropout)
        # codes are standardised with statistics of the (unlabelled) training images' codes
        self.register_buffer("code_mean", torch.zeros(encoder.latent_dim))
        self.register_buffer("code_std", torch.ones(encoder.latent_dim))

    def standardise(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes in the head's units: less the mean, over the std, of the unlabelled images' codes."""
        return (codes - self.code_mean) / self.code_std

    def classify_codes(self, codes: torch.Tensor) -> torch.Tensor:
        return self.head(self.standardise(codes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify_codes(self.encoder(x))


class DigitCNN(nn.Module):
    """The evaluator: a small CNN digit classifier; ``features`` is its penultimate layer."""

    def __init__(self, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16x16
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 8x8
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4x4
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 16, feature_dim), nn.ReLU())
        self.out = nn.Linear(feature_dim, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


class LatentGenerator(nn.Module):
    """Noise (``noise_dim``) [+ digit label] -> a latent code of size ``latent_dim``.

    With ``n_classes`` set, the label enters through a learned embedding concatenated to the
    noise, so one network serves every digit (Q5)."""

    def __init__(self, noise_dim: int, latent_dim: int, hidden: Sequence[int] = (256, 256),
                 n_classes: int | None = None, embed_dim: int = 16):
        super().__init__()
        if noise_dim < 1 or latent_dim < 1:
            raise ValueError(f"noise_dim and latent_dim must be >= 1, got {noise_dim}, {latent_dim}")
        self.noise_dim, self.latent_dim, self.n_classes = noise_dim, latent_dim, n_classes
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes else None
        extra = embed_dim if n_classes else 0
        self.net = mlp([noise_dim + extra, *hidden, latent_dim])
        # the network works in standardised code units; these map back to the AE's codes
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_std", torch.ones(latent_dim))

    def forward(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if noise.ndim != 2 or noise.shape[1] != self.noise_dim:
            raise ValueError(f"expected (N, {self.noise_dim}) noise, got {tuple(noise.shape)}")
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is conditional: pass the digit labels")
            noise = torch.cat([noise, self.embed(labels)], dim=1)
        return self.net(noise) * self.code_std + self.code_mean


class LatentDiscriminator(nn.Module):
    """A latent code [+ label] -> one score. Conditional version: projection discriminator
    (Miyato & Koyama 2018), score = psi(h) + <embed(y), h>."""

    def __init__(self, latent_dim: int, hidden: Sequence[int] = (256, 256),
                 n_classes: int | None = None):
        super().__init__()
        self.body = mlp([latent_dim, *hidden])
        self.body.append(nn.LeakyReLU(0.2))
        self.score = nn.Linear(hidden[-1], 1)
        self.embed = nn.Embedding(n_classes, hidden[-1]) if n_classes else None
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_std", torch.ones(latent_dim))

    def forward(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body((codes - self.code_mean) / self.code_std)
        out = self.score(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is conditional: pass the digit labels")
            out = out + (self.embed(labels) * h).sum(1)
        return out


class GAN(nn.Module):
    """A generator and the discriminator (critic) it is trained against: what a GAN spec builds,
    trains and caches as one; the generator alone is what the report samples from."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator

    def forward(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(noise, labels)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al., 2016): weights N(0, 0.02), batch-norm scales
    N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """Noise -> a (1, 32, 32) image in [0, 1]: the pixel-space GAN baseline (Radford et al.,
    2016): a linear map to a ``4 width`` x 4 x 4 map, then three stride-2 transposed convolutions
    with batch norm and ReLU."""

    def __init__(self, noise_dim: int = 64, width: int = 32):
        super().__init__()
        if noise_dim < 1 or width < 1:
            raise ValueError(f"noise_dim and width must be >= 1, got {noise_dim}, {width}")
        self.noise_dim, self.width = noise_dim, width
        self.project = nn.Sequential(nn.Linear(noise_dim, 4 * width * 16), nn.BatchNorm1d(4 * width * 16),
                                     nn.ReLU())
        self.net = nn.Sequential(
            nn.Unflatten(1, (4 * width, 4, 4)),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid())
        dcgan_init(self)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if noise.ndim != 2 or noise.shape[1] != self.noise_dim:
            raise ValueError(f"expected (N, {self.noise_dim}) noise, got {tuple(noise.shape)}")
        return self.net(self.project(noise))


class DCGANDiscriminator(nn.Module):
    """A (1, 32, 32) image -> one score: three stride-2 convolutions with LeakyReLU, batch norm
    after the second and third as in DCGAN (without it the generator collapses to a single image
    within a few hundred steps here). ``batch_norm=False`` scores each sample on its own, which
    the gradient penalty of WGAN-GP needs."""

    def __init__(self, width: int = 32, batch_norm: bool = True):
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        norm = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), norm(2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), norm(4 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(4 * width * 16, 1))
        dcgan_init(self)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images).squeeze(1)
