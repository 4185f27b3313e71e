"""Non-adversarial baselines for sampling latent codes: a full-covariance Gaussian and a
Gaussian mixture fitted to the encoder's codes (Ghosh et al. 2020, "From variational to
deterministic autoencoders", use both as ex-post density estimators for plain AEs)."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits


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
    def __init__(self, codes: torch.Tensor, components: int = 10, seed: int = 0, max_iter: int = 1000):
        self.components = components
        # EM on 10-D codes is many tiny matrix products: one BLAS thread runs them about ten times
        # faster than several (measured on 2 cores), and the result is the same
        with threadpool_limits(1):
            self.gmm = GaussianMixture(components, covariance_type="full", random_state=seed,
                                       max_iter=max_iter).fit(codes.detach().cpu().double().numpy())
        if not self.gmm.converged_:
            raise RuntimeError(f"EM did not converge in {max_iter} iterations ({components} components)")

    def log_likelihood(self, codes: torch.Tensor) -> float:
        """Mean log-density of ``codes`` under the mixture (nats per code)."""
        with threadpool_limits(1):
            return float(self.gmm.score(codes.detach().cpu().double().numpy()))

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        self.gmm.random_state = np.random.RandomState(seed)
        z, _ = self.gmm.sample(n)
        # gmm.sample returns samples grouped by component: shuffle so grids look mixed
        z = z[np.random.default_rng(seed).permutation(n)]
        return torch.from_numpy(z).float()


def fit_mixtures(codes: torch.Tensor, components=(10, 20, 50, 100), held_out: int = 10000, seed: int = 0) -> dict[int, tuple[MixtureSampler, float]]:
    """Full-covariance Gaussian mixtures with each number of ``components``, scored by the mean
    log-likelihood of ``held_out`` codes (a seeded random choice, at most half of them) under a fit
    by EM to convergence on the others, then refitted on all codes: ``{K: (sampler fitted on all
    codes, held-out log-likelihood)}``. So the number of components can be chosen on training
    codes alone (RAE, Ghosh et al. 2020, fit such mixtures ex post to a plain autoencoder's codes)."""
    held_out = min(held_out, len(codes) // 2)
    order = torch.randperm(len(codes), generator=torch.Generator().manual_seed(seed)).to(codes.device)
    check, fit = codes[order[:held_out]], codes[order[held_out:]]
    return {k: (MixtureSampler(codes, k, seed), MixtureSampler(fit, k, seed).log_likelihood(check))
            for k in components}
