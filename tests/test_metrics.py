import numpy as np
import pytest
import torch

from helpers.metrics import (class_histogram_stats, frechet_distance, frechet_distance_from_moments,
                             mean_pairwise_distance, normal_moment_penalty, redundancy_measures)

rng = np.random.default_rng(0)


def test_independent_gaussians_are_uncorrelated():
    m = redundancy_measures(rng.standard_normal((20000, 6)))
    assert m["mean_abs_r"] < 0.02 and m["total_correlation"] < 0.01
    assert m["participation_ratio"] == pytest.approx(6, rel=0.05) and m["dead"] == 0


def test_duplicated_coordinate_has_max_r_one():
    z = rng.standard_normal((2000, 3))
    z = np.column_stack([z, -2 * z[:, 0] + 1])
    assert redundancy_measures(z)["max_abs_r"] == pytest.approx(1.0, abs=1e-9)


def test_known_covariance_gives_known_total_correlation():
    rho = 0.8
    cov = np.array([[1, rho], [rho, 1]])
    z = rng.multivariate_normal([0, 0], cov, size=200000)
    expected = -0.5 * np.log(1 - rho ** 2)
    m = redundancy_measures(z)
    assert m["total_correlation"] == pytest.approx(expected, rel=0.02)
    assert m["mean_abs_r"] == pytest.approx(rho, abs=0.01)


def test_constant_coordinate_is_dropped_not_nan():
    z = np.column_stack([rng.standard_normal((500, 3)), np.full(500, 7.0)])
    m = redundancy_measures(z)
    assert m["dead"] == 1 and m["active"] == 3
    assert all(np.isfinite(v) for v in m.values())


def test_frechet_distance_closed_form_and_self():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    # diagonal covariances: ||mu1-mu2||^2 + sum (sqrt(a) - sqrt(b))^2
    expected = 8.0 + (1 - 3) ** 2 + (2 - 1) ** 2
    assert frechet_distance_from_moments(mu1, s1, mu2, s2) == pytest.approx(expected)
    a = rng.multivariate_normal(mu1, s1, 100000)
    b = rng.multivariate_normal(mu2, s2, 100000)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.03)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError):
        frechet_distance(a, b[:, :1])


def test_class_histogram_stats():
    uniform = class_histogram_stats(np.repeat(np.arange(10), 10))
    assert uniform["classes_covered"] == 10 and uniform["entropy"] == pytest.approx(np.log(10))
    collapsed = class_histogram_stats([3] * 96 + [1] * 4)
    assert collapsed["classes_covered"] == 1 and collapsed["class_share_max"] == pytest.approx(0.96)
    assert collapsed["class_share_min"] == 0
    with pytest.raises(ValueError):
        class_histogram_stats([11])


def test_mean_pairwise_distance():
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)


def test_normal_moment_penalty_is_zero_only_near_a_standard_normal():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(200_000, 3, generator=g)
    assert normal_moment_penalty(z) < 1e-3
    assert normal_moment_penalty(z + 1) > 0.9  # mean 1
    assert normal_moment_penalty(2 * z) > 8.0  # variance 4
    uniform = (torch.rand(200_000, 3, generator=g) - 0.5) * 12 ** 0.5  # mean 0, var 1, kurtosis 1.8
    assert abs(normal_moment_penalty(uniform).item() - 0.1 * 1.2 ** 2) < 0.01
    with pytest.raises(ValueError):
        normal_moment_penalty(torch.zeros(1, 3))
