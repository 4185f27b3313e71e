"""Q1's fully convolutional bottleneck: an autoencoder with no fully connected layer at all.

The encoder of :mod:`helpers.models` ends in a linear map from the whole 4x4 feature map to the
code, so even its "linear bottleneck" lets every code number see every position. Here one more
stride-2 convolution takes the 4x4 map to a ``2 x 2 x code_channels`` code: each code number sees
only part of the image, and the code keeps a spatial layout. The decoder mirrors it. The interface
is the autoencoder's (``encoder(x)`` gives flat codes, ``decoder.logits(z)``), so
:func:`helpers.training.train_autoencoder` trains it unchanged.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .models import CHANNELS, conv_stack, deconv_stack

CODE_SIDE = 2  # 32 halved by the three convolutions of CHANNELS and this one


class ConvEncoder(nn.Module):
    """32x32 image -> ``2 * 2 * code_channels`` code, convolutions only."""

    def __init__(self, code_channels: int, channels: Sequence[int] = CHANNELS):
        super().__init__()
        if code_channels < 1:
            raise ValueError(f"code_channels must be >= 1, got {code_channels}")
        if 32 // 2 ** (len(channels) + 1) != CODE_SIDE:
            raise ValueError(f"{len(channels)} stride-2 convolutions and one more must give a {CODE_SIDE}x{CODE_SIDE} code")
        self.conv = conv_stack(channels)
        self.conv.append(nn.Conv2d(channels[-1], code_channels, 3, stride=2, padding=1))  # 4x4 -> 2x2, no activation
        self.code_channels = code_channels
        self.latent_dim = code_channels * CODE_SIDE * CODE_SIDE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 32, 32):
            raise ValueError(f"ConvEncoder expects (N, 1, 32, 32) images, got {tuple(x.shape)}")
        return self.conv(x).flatten(1)


class ConvDecoder(nn.Module):
    """``2 * 2 * code_channels`` code -> 32x32 image in [0, 1]; the mirror image of :class:`ConvEncoder`."""

    def __init__(self, code_channels: int, channels: Sequence[int] = CHANNELS):
        super().__init__()
        self.code_channels = code_channels
        self.latent_dim = code_channels * CODE_SIDE * CODE_SIDE
        self.deconv = nn.Sequential(nn.ConvTranspose2d(code_channels, channels[-1], 4, stride=2, padding=1),
                                    nn.LeakyReLU(0.2), *deconv_stack(channels))  # 2x2 -> 4x4, then as the decoder

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"ConvDecoder expects (N, {self.latent_dim}) codes, got {tuple(z.shape)}")
        return self.deconv(z.view(-1, self.code_channels, CODE_SIDE, CODE_SIDE))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))


class ConvBottleneckAutoEncoder(nn.Module):
    def __init__(self, code_channels: int, channels: Sequence[int] = CHANNELS):
        super().__init__()
        self.encoder = ConvEncoder(code_channels, channels)
        self.decoder = ConvDecoder(code_channels, channels)
        self.latent_dim = self.encoder.latent_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
