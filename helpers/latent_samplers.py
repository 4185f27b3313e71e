"""Non-adversarial baselines for sampling latent codes: a full-covariance Gaussian and a
Gaussian mixture fitted to the encoder's codes (Ghosh et al. 2020, "From variational to
deterministic autoencoders", use both as ex-post density estimators for plain AEs)."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.mixture import GaussianMixture


class GaussianSampler:
    def __init__(self, codes: torch.Tensor):
        z = codes.detach().cpu().double()
        self.mean = z.mean(0)
        self.cov = torch.cov(z.T).reshape(z.shape[1], z.shape[1])
        self.scale = torch.linalg.cholesky(self.cov + 1e-6 * torch.eye(len(self.mean), dtype=torch.float64))

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        noise = torch.randn(n, len(self.mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        return (self.mean + noise @ self.scale.T).float()


class MixtureSampler:
    def __init__(self, codes: torch.Tensor, components: int = 10, seed: int = 0):
        self.gmm = GaussianMixture(components, covariance_type="full", random_state=seed,
                                   max_iter=200).fit(codes.detach().cpu().double().numpy())

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        self.gmm.random_state = np.random.RandomState(seed)
        z, _ = self.gmm.sample(n)
        # gmm.sample returns samples grouped by component: shuffle so grids look mixed
        z = z[np.random.default_rng(seed).permutation(n)]
        return torch.from_numpy(z).float()
