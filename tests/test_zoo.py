"""The zoo: models by spec, the main autoencoder's spec keying what is built on it."""
import torch

from helpers import profiles, zoo


def test_main_autoencoder_comes_from_the_profile_and_carries_its_spec(mnist_small):
    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256, latent_dim=6, ae_epochs=1)
    data = zoo.MNIST(train, test)
    ae, history = zoo.get_autoencoder(profile, data, progress=False)
    assert ae.encoder.latent_dim == 6 and len(history.rows) == 1
    assert ae.spec == profile.autoencoder() and ae.spec.latent_dim == 6
    again, _ = zoo.get_autoencoder(profile, data, latent_dim=6, progress=False)  # the same cached model
    assert again.spec == ae.spec
    assert all(torch.equal(a, b) for a, b in zip(ae.state_dict().values(), again.state_dict().values()))
    other, _ = zoo.get_autoencoder(profile, data, latent_dim=3, progress=False)
    assert other.spec != ae.spec and other.encoder.latent_dim == 3


def test_a_latent_gan_is_cached_under_its_autoencoder_and_refuses_other_codes(mnist_small):
    import pytest

    from helpers.training import latent_codes

    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256, ae_epochs=1, gan_steps=5)
    data = zoo.MNIST(train, test)
    ae, _ = zoo.get_autoencoder(profile, data, latent_dim=4, progress=False)
    codes = latent_codes(ae.encoder, train.images)
    spec = profile.latent_gan(ae.spec)
    G, history, snapshots = zoo.get_latent_gan(profile, spec, codes, progress=False)
    assert history.rows[-1]["step"] == 5 and G.latent_dim == 4 and sorted(snapshots)[-1] == 5
    again, _, _ = zoo.get_latent_gan(profile, spec, codes, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match="training codes of the autoencoder"):
        zoo.get_latent_gan(profile, spec, codes[:100], progress=False)
    with pytest.raises(ValueError, match="training codes of the autoencoder"):
        zoo.get_latent_gan(profile, profiles.get_profile("smoke").latent_gan(None), codes, progress=False)
