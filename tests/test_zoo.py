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
