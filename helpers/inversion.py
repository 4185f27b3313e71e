"""GAN inversion: the latent GAN's input z for a given code (Q4's interpolation through G) or
image (inpainting, in the extras).

Several seeded random starts, Adam on z, keep the best. For images (possibly with pixels missing)
the match is on the visible pixels of ``decoder(G(z))``; the restored image is a digit the GAN can
make, whatever was hidden.
"""
from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

MASKS = ("pepper", "every other row", "8x8 square")


def make_mask(kind: str, n: int, seed: int = 0, side: int = 32) -> torch.Tensor:
    """(n, 1, side, side) float mask, 1 = visible. ``pepper``: 30% of the pixels hidden at random;
    ``every other row``: odd rows hidden; ``8x8 square``: a random 8x8 square hidden inside the
    central 24x24 (where the digit is)."""
    if kind not in MASKS:
        raise ValueError(f"mask must be one of {MASKS}, got {kind!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    gen = torch.Generator().manual_seed(seed)
    mask = torch.ones(n, 1, side, side)
    if kind == "pepper":
        mask = (torch.rand(n, 1, side, side, generator=gen) >= 0.3).float()
    elif kind == "every other row":
        mask[:, :, 1::2, :] = 0
    else:
        corner = torch.randint(4, side - 4 - 8 + 1, (n, 2), generator=gen)
        for i, (r, c) in enumerate(corner.tolist()):
            mask[i, :, r:r + 8, c:c + 8] = 0
    return mask


def _best_noise(G: nn.Module, frozen: tuple[nn.Module, ...], n: int, errors, restarts: int, steps: int,
                lr: float, prior_weight: float, seed: int, device, progress: bool) -> torch.Tensor:
    """Adam on ``restarts`` seeded noise vectors per target, minimising ``errors(z)`` (one value per
    row of z, targets repeated ``restarts`` times) + ``prior_weight`` x ||z||^2; returns the best
    start of each target, (n, noise_dim). The ``frozen`` networks are left as they were."""
    if restarts < 1 or steps < 0:
        raise ValueError(f"need restarts >= 1 and steps >= 0, got {restarts}, {steps}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(restarts * n, G.noise_dim, generator=gen).to(device).requires_grad_(True)
    params = [p for net in frozen for p in net.parameters() if p.requires_grad]
    modes = [net.training for net in frozen]
    for p in params:
        p.requires_grad_(False)
    for net in frozen:
        net.eval()
    opt = torch.optim.Adam([z], lr=lr)
    try:
        for _ in tqdm(range(steps), desc="inversion", disable=not progress, leave=False, mininterval=1.0):
            loss = (errors(z) + prior_weight * z.pow(2).sum(1)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            best = errors(z).view(restarts, n).argmin(0)
            return z.detach().view(restarts, n, -1)[best, torch.arange(n, device=device)]
    finally:
        for p in params:
            p.requires_grad_(True)
        for net, mode in zip(frozen, modes):
            net.train(mode)


def invert_codes(G: nn.Module, targets: torch.Tensor, labels: torch.Tensor | None = None, restarts: int = 8,
                 steps: int = 300, lr: float = 0.05, prior_weight: float = 1e-3, seed: int = 0,
                 progress: bool = False) -> torch.Tensor:
    """For each target code, the latent GAN's noise z (best of ``restarts`` seeded starts)
    minimising ||G(z) - target||^2 in standardised code units + ``prior_weight`` x ||z||^2.
    Returns (N, noise_dim); G is unchanged."""
    tgt = targets.repeat(restarts, 1)
    y = labels.repeat(restarts) if labels is not None else None
    return _best_noise(G, (G,), len(targets), lambda z: (((G(z, y) - tgt) / G.code_std) ** 2).sum(1),
                       restarts, steps, lr, prior_weight, seed, targets.device, progress)


def invert_images(G: nn.Module, decoder: nn.Module, images: torch.Tensor,
                  mask: torch.Tensor | None = None, restarts: int = 4, steps: int = 200,
                  lr: float = 0.05, prior_weight: float = 1e-3, seed: int = 0,
                  progress: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """For each image, the noise z (best of ``restarts`` seeded starts) minimising the MSE between
    ``decoder(G(z))`` and the image on the pixels where ``mask`` is 1 (all pixels if None), plus
    ``prior_weight`` x ||z||^2. Returns ``(z, decoder(G(z)))``; G and the decoder are unchanged."""
    if images.ndim != 4:
        raise ValueError(f"expected (N, 1, H, W) images, got {tuple(images.shape)}")
    if mask is not None and mask.shape != images.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} differs from images {tuple(images.shape)}")
    mask = torch.ones_like(images) if mask is None else mask.to(images.device)
    target, visible = images.repeat(restarts, 1, 1, 1), mask.repeat(restarts, 1, 1, 1)
    pixels = visible.flatten(1).sum(1).clamp_min(1)

    def errors(z):
        return ((decoder(G(z)) - target) * visible).pow(2).flatten(1).sum(1) / pixels

    z = _best_noise(G, (G, decoder), len(images), errors, restarts, steps, lr, prior_weight, seed,
                    images.device, progress)
    with torch.no_grad():
        was_training = (G.training, decoder.training)
        G.eval(), decoder.eval()
        restored = decoder(G(z))
        G.train(was_training[0]), decoder.train(was_training[1])
    return z, restored


def masked_mse(restored: torch.Tensor, images: torch.Tensor, where: torch.Tensor | None = None) -> float:
    """Per-pixel MSE between ``restored`` and ``images`` over the pixels where ``where`` is 1
    (all pixels if None)."""
    where = torch.ones_like(images) if where is None else where.to(images.device)
    return float(((restored - images) * where).pow(2).sum() / where.sum().clamp_min(1))
