import pytest
import torch

from helpers.interpolation import lerp, slerp
from helpers.metrics import mean_ci


def test_lerp_runs_from_start_to_end():
    a, b = torch.zeros(3), torch.ones(3)
    path = lerp(a, b, 5)
    assert path.shape == (5, 3)
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b)
    assert torch.allclose(path[2], torch.full((3,), 0.5))


def test_slerp_keeps_the_radius_and_hits_the_endpoints():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, generator=g), torch.randn(8, generator=g)
    b = b / b.norm() * a.norm()  # equal norms: every frame keeps that norm
    path = slerp(a, b, 7)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), torch.full((7,), float(a.norm())), atol=1e-4)
    mid = lerp(a, b, 7)[3]
    assert mid.norm() < path[3].norm()  # the straight line cuts towards the origin


def test_interpolation_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in shape"):
        lerp(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="steps"):
        lerp(torch.zeros(3), torch.ones(3), 1)
    with pytest.raises(ValueError, match="1-D"):
        slerp(torch.zeros(2, 3), torch.ones(2, 3))


def test_mean_ci_known_values():
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert half == pytest.approx(1.96 * 1.2909944 / 2, rel=1e-6)
    assert mean_ci([5.0])[0] == 5.0
    with pytest.raises(ValueError):
        mean_ci([])
