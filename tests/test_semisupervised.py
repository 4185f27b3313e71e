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
    with pytest.raises(ValueError, match="more than k=10"):
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


def test_neighbour_vote_and_graph_coordinates():
    from helpers.semisupervised import graph_coordinates, neighbour_vote_accuracy

    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0] * 6, [5.0] * 6])
    labels = torch.arange(200) % 2
    codes = centres[labels] + torch.randn(200, 6, generator=gen)
    assert neighbour_vote_accuracy(codes[:150], labels[:150], codes[150:], labels[150:], k=5) == 1.0
    shuffled = labels[torch.randperm(200, generator=gen)]
    assert neighbour_vote_accuracy(codes[:150], shuffled[:150], codes[150:], labels[150:], k=5) < 0.8
    z = graph_coordinates(codes, components=2)
    assert z.shape == (200, 2) and graph_coordinates(codes, components=10).shape == (200, 6)
    np.testing.assert_allclose(graph_coordinates(codes).std(0), 1.0, rtol=1e-6)
    # statistics (and components) from the first rows only: those rows are centred, the rest are not
    shifted = torch.cat([codes[:150], codes[150:] + 3.0])
    fitted = graph_coordinates(shifted, fit_rows=150)
    np.testing.assert_allclose(fitted[:150].mean(0), 0.0, atol=1e-9)
    assert (fitted[150:].mean(0) > 0.5).all()
    from helpers.semisupervised import CodeGraph

    assert (CodeGraph(codes, k=5, components=1).S != CodeGraph(codes, k=5).S).nnz > 0
