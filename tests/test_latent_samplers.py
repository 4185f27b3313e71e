"""Latent samplers: the mixture baseline fits a known mixture and picks its size on held-out codes."""
import pytest
import torch

from helpers.latent_samplers import MixtureSampler, fit_mixtures


def _three_clusters(n=3000):
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    which = torch.randint(3, (n,), generator=g)
    return centres[which] + 0.5 * torch.randn(n, 2, generator=g), centres


def test_held_out_likelihood_prefers_the_true_number_of_components_and_samples_follow_the_clusters():
    codes, centres = _three_clusters()
    fits = fit_mixtures(codes, components=(1, 3), held_out=1000)
    assert set(fits) == {1, 3} and fits[3][1] > fits[1][1] + 0.5  # nats per code
    samples = fits[3][0].sample(3000, seed=1)
    nearest = torch.cdist(samples, centres).argmin(1)
    assert torch.bincount(nearest, minlength=3).min() > 800  # every cluster gets about a third
    assert torch.cdist(samples, centres).min(1).values.mean() < 1.0
    assert torch.equal(samples, fits[3][0].sample(3000, seed=1))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mixture_that_cannot_converge_is_an_error():
    codes, _ = _three_clusters(300)
    with pytest.raises(RuntimeError, match="did not converge"):
        MixtureSampler(codes, 3, max_iter=1)
