import numpy as np
import pytest
import torch

from helpers.decorrelation import pca_reconstruction_mse
from helpers.semisupervised import CodeGraph


def test_label_spreading_fills_in_two_clusters_from_one_label_each():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 2, generator=g) * 0.3 + torch.tensor([3.0, 0.0])
    b = torch.randn(200, 2, generator=g) * 0.3 - torch.tensor([3.0, 0.0])
    graph = CodeGraph(torch.cat([a, b]), k=8)
    pred = graph.spread(torch.tensor([0, 200]), torch.tensor([1, 0]), n_classes=2)
    truth = np.r_[np.ones(200), np.zeros(200)]
    assert (pred == truth).mean() > 0.99
    # swapping the two given labels swaps every prediction: the labels, not the layout, decide
    flipped = graph.spread(torch.tensor([0, 200]), torch.tensor([0, 1]), n_classes=2)
    assert (flipped == 1 - truth).mean() > 0.99


def test_label_spreading_rejects_bad_settings():
    with pytest.raises(ValueError, match="N > k"):
        CodeGraph(torch.zeros(5, 2), k=10)
    graph = CodeGraph(torch.randn(50, 3), k=5)
    with pytest.raises(ValueError, match="alpha"):
        graph.spread(torch.tensor([0]), torch.tensor([0]), alpha=1.0)


def test_pca_reconstruction_is_exact_with_all_components_and_falls_with_d():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 1, 4, 4, generator=g) @ torch.randn(4, 4, generator=g)  # rank-4 rows
    mse = pca_reconstruction_mse(x, x, [1, 2, 8, 16])
    assert mse[1] > mse[2] > mse[8] >= 0
    assert mse[16] == pytest.approx(0.0, abs=1e-20)
    with pytest.raises(ValueError):
        pca_reconstruction_mse(x, x, [0])
