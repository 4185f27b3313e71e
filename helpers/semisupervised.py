"""Label spreading (Zhou et al., 2004) over a k-nearest-neighbour graph of latent codes: the few
known labels diffuse along the graph of *all* codes, labelled or not."""
from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors


def graph_coordinates(codes: torch.Tensor, components: int | None = None, fit_rows: int | None = None) -> np.ndarray:
    """Codes (N, d) standardised per coordinate and, when ``components`` < d, projected on their
    leading principal components (fitted on the first ``fit_rows`` rows, default all): the
    space in which the graph's and the nearest-neighbour vote's distances are measured."""
    z = codes.detach().cpu().double().numpy()
    if z.ndim != 2:
        raise ValueError(f"need (N, d) codes, got shape {z.shape}")
    fit = z[:fit_rows]
    z = (z - fit.mean(0)) / fit.std(0).clip(1e-12)
    if components and components < z.shape[1]:
        z = PCA(components, random_state=0).fit(z[:fit_rows]).transform(z)
    return z


class CodeGraph:
    """The symmetric, normalised kNN affinity S = D^-1/2 W D^-1/2 of ``codes`` (N, d), built once
    and reused for every labelled subset, in the coordinates of :func:`graph_coordinates`."""

    def __init__(self, codes: torch.Tensor, k: int = 10, components: int | None = None):
        z = graph_coordinates(codes, components)
        if len(z) <= k:
            raise ValueError(f"need more than k={k} codes, got {len(z)}")
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


def neighbour_vote_accuracy(train_codes: torch.Tensor, train_labels: torch.Tensor, test_codes: torch.Tensor,
                            test_labels: torch.Tensor, k: int = 10, components: int | None = None) -> float:
    """Test accuracy of a ``k``-nearest-neighbour vote among *all* labelled training codes, in the
    graph's coordinates: how far the neighbourhoods that label spreading follows agree with the
    digits when every label is known."""
    z = graph_coordinates(torch.cat([train_codes, test_codes]), components, fit_rows=len(train_codes))
    vote = KNeighborsClassifier(k).fit(z[:len(train_codes)], train_labels.cpu().numpy())
    return float(vote.score(z[len(train_codes):], test_labels.cpu().numpy()))
