"""Label spreading (Zhou et al., 2004) over a k-nearest-neighbour graph of latent codes: the few
known labels diffuse along the graph of *all* codes, labelled or not."""
from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from sklearn.neighbors import NearestNeighbors


class CodeGraph:
    """The symmetric, normalised kNN affinity S = D^-1/2 W D^-1/2 of ``codes`` (N, d), built once
    and reused for every labelled subset. Codes are standardised per coordinate first."""

    def __init__(self, codes: torch.Tensor, k: int = 10):
        z = codes.detach().cpu().double().numpy()
        if z.ndim != 2 or len(z) <= k:
            raise ValueError(f"need (N > k, d) codes, got shape {z.shape} with k={k}")
        z = (z - z.mean(0)) / z.std(0).clip(1e-12)
        dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(z).kneighbors(z)
        dist, idx = dist[:, 1:], idx[:, 1:]  # drop each point itself
        sigma = np.median(dist[:, -1])
        rows = np.repeat(np.arange(len(z)), k)
        w = sparse.csr_matrix((np.exp(-(dist.ravel() / sigma) ** 2), (rows, idx.ravel())), shape=(len(z),) * 2)
        w = w.maximum(w.T)
        inv_sqrt = 1 / np.sqrt(np.asarray(w.sum(1)).ravel().clip(1e-12))
        self.S = sparse.diags(inv_sqrt) @ w @ sparse.diags(inv_sqrt)
        self.n = len(z)

    def spread(self, labelled: torch.Tensor, labels: torch.Tensor, n_classes: int = 10,
               alpha: float = 0.99, iterations: int = 200) -> np.ndarray:
        """Predicted class of every node, given the labels of the nodes ``labelled`` (indices):
        F <- alpha S F + (1 - alpha) Y, iterated, then argmax."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
        y = np.zeros((self.n, n_classes))
        y[labelled.cpu().numpy(), labels.cpu().numpy()] = 1.0
        f = y.copy()
        for _ in range(iterations):
            f = alpha * (self.S @ f) + (1 - alpha) * y
        return f.argmax(1)
