"""The zoo: models by spec, the main autoencoder's spec keying what is built on it."""
import dataclasses

import pytest
import torch

from helpers import profiles, zoo


def test_main_autoencoder_comes_from_the_profile_and_carries_its_spec(mnist_small):
    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256, latent_dim=6, ae_epochs=1)
    data = zoo.MNIST(train, test)
    ae, history = zoo.get_autoencoder(profile, data, progress=False)
    assert ae.encoder.latent_dim == 6 and len(history.rows) == 1
    assert ae.spec == dataclasses.replace(profile.autoencoder(), data_digest=data.fingerprint) and ae.spec.latent_dim == 6
    again, _ = zoo.get_autoencoder(profile, data, latent_dim=6, progress=False)  # the same cached model
    assert again.spec == ae.spec
    assert all(torch.equal(a, b) for a, b in zip(ae.state_dict().values(), again.state_dict().values()))
    other, _ = zoo.get_autoencoder(profile, data, latent_dim=3, progress=False)
    assert other.spec != ae.spec and other.encoder.latent_dim == 3


def test_a_latent_gan_is_cached_under_its_autoencoder_and_refuses_other_codes(mnist_small):
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
    with pytest.raises(ValueError, match="training codes of the autoencoder"):  # a spec that names no data
        zoo.get_latent_gan(profile, profile.latent_gan(profile.autoencoder(latent_dim=4)), codes, progress=False)


def test_a_model_learned_from_other_data_is_never_loaded_as_ours(mnist_small, monkeypatch):
    """Same sizes and spec, other images: another cache key, so it is trained, not loaded."""
    from helpers.checkpoints import config_key
    from helpers.data import Split

    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256, ae_epochs=1)
    ours, other = zoo.MNIST(train, test), zoo.MNIST(Split(1 - train.images, train.labels), test)
    ae, _ = zoo.get_autoencoder(profile, ours, latent_dim=3, progress=False)
    with monkeypatch.context() as m:  # the same data again: loaded, not trained
        m.setattr(zoo, "train_autoencoder", lambda *a, **k: pytest.fail("our own model was retrained"))
        again, _ = zoo.get_autoencoder(profile, zoo.MNIST(train, test), latent_dim=3, progress=False)
    assert again.spec == ae.spec
    trained = []
    real = zoo.train_autoencoder
    monkeypatch.setattr(zoo, "train_autoencoder", lambda *a, **k: trained.append(1) or real(*a, **k))
    theirs, _ = zoo.get_autoencoder(profile, other, latent_dim=3, progress=False)
    assert trained == [1], "a model learned from other images was loaded as ours"
    assert theirs.spec.data_digest == other.fingerprint != ours.fingerprint == ae.spec.data_digest
    assert config_key(theirs.spec.key()) != config_key(ae.spec.key())
    # a GAN is keyed by its autoencoder, and with it by the data that autoencoder learned from
    assert config_key(profile.latent_gan(theirs.spec).key()) != config_key(profile.latent_gan(ae.spec).key())
    with pytest.raises(ValueError, match="the spec names data"):
        zoo.get_autoencoder(profile, other, spec=ae.spec, progress=False)


class _Keyed(Exception):
    """Raised by a stand-in cache to hand the key it was asked for back to the test."""


def test_the_evaluator_and_the_pixel_gan_are_keyed_by_their_data(mnist_small, monkeypatch):
    from helpers.data import Split

    def key_of(directory, config, *args, **kwargs):
        raise _Keyed(config)

    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256)
    monkeypatch.setattr(zoo, "cached_model", key_of)
    digests = {"evaluator": set(), "pixel_gan": set()}
    for data in (zoo.MNIST(train, test), zoo.MNIST(Split(1 - train.images, train.labels), test)):
        for kind, call in [("evaluator", lambda: zoo.get_evaluator(profile, data)),
                           ("pixel_gan", lambda: zoo.get_pixel_gan(profile, profile.pixel_gan(1), data))]:
            with pytest.raises(_Keyed) as key:
                call()
            config = key.value.args[0]
            digests[kind].add(config["data_digest"])
    assert all(len(d) == 2 and None not in d for d in digests.values())
