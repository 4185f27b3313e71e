"""Metrics with known answers: latent-code redundancy measures, Fréchet distance, and
statistics of a predicted-class histogram."""
from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy import linalg


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def active_coordinates(codes, rel_tol: float = 1e-6) -> np.ndarray:
    """Boolean mask of coordinates whose std is above ``rel_tol`` x the largest std ("dead" or
    constant coordinates carry no information and make the correlation undefined)."""
    z = _as_numpy(codes)
    if z.ndim != 2 or len(z) < 3:
        raise ValueError(f"need (N >= 3, d) codes, got shape {z.shape}")
    std = z.std(axis=0)
    return std > rel_tol * max(std.max(), 1e-300)


def redundancy_measures(codes) -> dict:
    """Single-value summaries of how redundant the coordinates of ``codes`` (N, d) are.

    - ``mean_abs_r``: mean |r| over off-diagonal pairs of active coordinates;
    - ``max_abs_r``: the largest such |r|;
    - ``total_correlation``: -1/2 log det R in nats, the mutual information among coordinates
      if the codes were Gaussian (0 iff R = I); ``total_correlation_per_dim`` divides by d;
    - ``participation_ratio``: (sum lambda)^2 / sum lambda^2 of the covariance eigenvalues, the
      effective number of dimensions the codes spread over;
    - ``pca_dims_95``: number of principal components holding 95% of the variance;
    - ``dead``: coordinates dropped as constant.
    """
    z = _as_numpy(codes)
    active = active_coordinates(z)
    za = z[:, active]
    d = za.shape[1]
    eig_cov = np.clip(np.linalg.eigvalsh(np.cov(za, rowvar=False).reshape(d, d)), 0, None)[::-1]
    out = {"d": z.shape[1], "active": int(d), "dead": int((~active).sum())}
    if d >= 2:
        r = np.corrcoef(za, rowvar=False)
        off = np.abs(r[~np.eye(d, dtype=bool)])
        eig_r = np.clip(np.linalg.eigvalsh(r), 1e-12, None)
        tc = float(-0.5 * np.log(eig_r).sum())
        out.update(mean_abs_r=float(off.mean()), max_abs_r=float(off.max()),
                   total_correlation=tc, total_correlation_per_dim=tc / d)
    else:
        out.update(mean_abs_r=0.0, max_abs_r=0.0, total_correlation=0.0,
                   total_correlation_per_dim=0.0)
    total = eig_cov.sum()
    out["participation_ratio"] = float(total ** 2 / (eig_cov ** 2).sum()) if total > 0 else 0.0
    out["pca_dims_95"] = int(np.searchsorted(np.cumsum(eig_cov) / total, 0.95) + 1) if total > 0 else 0
    return out


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples):
    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2}). This is FID when the features are
    those of a trained image classifier."""
    a, b = _as_numpy(features_a), _as_numpy(features_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two (N, k) feature arrays with the same k, got {a.shape}, {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two samples in each set")
    return frechet_distance_from_moments(a.mean(0), np.cov(a, rowvar=False),
                                         b.mean(0), np.cov(b, rowvar=False), eps)


def frechet_distance_from_moments(mu_a, cov_a, mu_b, cov_b, eps: float = 1e-6) -> float:
    mu_a, mu_b = np.atleast_1d(mu_a), np.atleast_1d(mu_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    with warnings.catch_warnings():  # singular products are handled just below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():  # near-singular product: regularise, as in the FID code
            offset = np.eye(len(cov_a)) * eps
            covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real
    diff = mu_a - mu_b
    return float(max(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean), 0.0))


def class_histogram_stats(predicted, n_classes: int = 10, coverage_share: float = 0.05) -> dict:
    """Share of each predicted class, how many classes reach ``coverage_share``, and the
    entropy of the histogram in nats (log(10) ~ 2.303 for a uniform one)."""
    pred = np.asarray(_as_numpy(predicted), dtype=np.int64).ravel()
    if len(pred) == 0:
        raise ValueError("no predictions")
    if pred.min() < 0 or pred.max() >= n_classes:
        raise ValueError(f"predicted classes must lie in [0, {n_classes})")
    share = np.bincount(pred, minlength=n_classes) / len(pred)
    nz = share[share > 0]
    return {"share": share.tolist(), "classes_covered": int((share >= coverage_share).sum()),
            "class_share_min": float(share.min()), "class_share_max": float(share.max()),
            "entropy": float(-(nz * np.log(nz)).sum())}


def mean_pairwise_distance(features, max_items: int = 1000, seed: int = 0) -> float:
    """Mean Euclidean distance between distinct rows (a random subset of ``max_items`` rows)."""
    f = _as_numpy(features)
    if len(f) < 2:
        raise ValueError("need at least two rows")
    if len(f) > max_items:
        f = f[np.random.default_rng(seed).choice(len(f), max_items, replace=False)]
    sq = (f ** 2).sum(1)
    dist = np.sqrt(np.clip(sq[:, None] + sq[None, :] - 2 * f @ f.T, 0, None))
    n = len(f)
    return float(dist.sum() / (n * (n - 1)))


def normal_moment_penalty(codes: torch.Tensor, kurtosis_weight: float = 0.1) -> torch.Tensor:
    """How far each coordinate of ``codes`` (N, d) is from a standard normal by its first moments:
    mean of  m^2 + (v - 1)^2 + kurtosis_weight * (kurtosis - 3)^2  over coordinates (0 for N(0, I)
    in the limit of many samples). Differentiable: a training penalty."""
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"need (N >= 2, d) codes, got {tuple(codes.shape)}")
    mean = codes.mean(0)
    centred = codes - mean
    var = centred.pow(2).mean(0)
    kurtosis = centred.pow(4).mean(0) / var.clamp_min(1e-8).pow(2)
    return (mean.pow(2) + (var - 1).pow(2) + kurtosis_weight * (kurtosis - 3).pow(2)).mean()


def mean_ci(values, z: float = 1.96) -> tuple[float, float]:
    """Mean of ``values`` and the half-width of its normal-approximation confidence interval
    (z = 1.96: 95%); the half-width is nan for fewer than two values."""
    v = _as_numpy(values).ravel()
    if len(v) == 0:
        raise ValueError("mean_ci needs at least one value")
    half = z * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return float(v.mean()), float(half)
