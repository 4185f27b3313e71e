"""Q2 reference codes: PCA projections (decorrelated by construction) and an untrained encoder."""
from __future__ import annotations

import torch

from .models import Encoder
from .seeding import seeded
from .training import latent_codes


def pca_codes(fit_images: torch.Tensor, images: torch.Tensor, d: int) -> torch.Tensor:
    """Project ``images`` on the top-``d`` principal components of ``fit_images`` (pixels)."""
    x_fit = fit_images.flatten(1).double()
    mean = x_fit.mean(0)
    # right singular vectors of the centred data are the principal directions
    _, _, vt = torch.linalg.svd(x_fit - mean, full_matrices=False)
    return ((images.flatten(1).double() - mean) @ vt[:d].T).float()


def random_encoder_codes(template: Encoder, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Codes from an untrained encoder with the same architecture as ``template``."""
    with seeded(seed):
        encoder = Encoder(template.latent_dim, template.channels, fc_layers=template.fc_layers, fc_width=template.fc_width)
    return latent_codes(encoder.to(images.device), images)


def pca_reconstruction_mse(fit_images: torch.Tensor, images: torch.Tensor, dims) -> dict[int, float]:
    """Per-pixel MSE of reconstructing ``images`` from their top-``d`` principal components of
    ``fit_images``, for each d in ``dims``: the best any *linear* d-dimensional code can do."""
    x_fit = fit_images.flatten(1).double()
    mean = x_fit.mean(0)
    _, _, vt = torch.linalg.svd(x_fit - mean, full_matrices=False)
    x = images.flatten(1).double() - mean
    out = {}
    for d in dims:
        if not 1 <= d <= vt.shape[0]:
            raise ValueError(f"d must lie in [1, {vt.shape[0]}], got {d}")
        v = vt[:d]
        out[int(d)] = float(((x @ v.T @ v - x) ** 2).mean())
    return out
