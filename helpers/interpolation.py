"""Paths between two points of a latent space: straight lines and great circles."""
from __future__ import annotations

import torch


def _alphas(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    if start.shape != end.shape:
        raise ValueError(f"endpoints differ in shape: {tuple(start.shape)} vs {tuple(end.shape)}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    return torch.linspace(0, 1, steps, device=start.device, dtype=start.dtype).view(-1, *([1] * start.ndim))


def lerp(start: torch.Tensor, end: torch.Tensor, steps: int = 11) -> torch.Tensor:
    """``steps`` frames (1 - a) * start + a * end for a = 0..1: shape (steps, *start.shape)."""
    a = _alphas(start, end, steps)
    return (1 - a) * start + a * end


def slerp(start: torch.Tensor, end: torch.Tensor, steps: int = 11) -> torch.Tensor:
    """Spherical interpolation of 1-D vectors: the norm changes linearly and the direction turns at a
    constant rate, so every frame keeps a typical radius for Gaussian noise (a straight line between
    two noise vectors passes closer to the origin, where N(0, I) puts almost no mass in many dimensions)."""
    if start.ndim != 1:
        raise ValueError(f"slerp interpolates 1-D vectors, got shape {tuple(start.shape)}")
    a = _alphas(start, end, steps)
    u, v = start / start.norm(), end / end.norm()
    omega = torch.arccos((u @ v).clamp(-1 + 1e-7, 1 - 1e-7))
    direction = (torch.sin((1 - a) * omega) * u + torch.sin(a * omega) * v) / torch.sin(omega)
    return direction * ((1 - a) * start.norm() + a * end.norm())
