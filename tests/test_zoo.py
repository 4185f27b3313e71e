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


@pytest.fixture(scope="module")
def evaluator(mnist_small, tmp_path_factory):
    """The evaluator of a small profile trained once for this module's tests (in its own cache
    folder), with what it was trained from."""
    from types import SimpleNamespace

    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256, evaluator_epochs=5)
    data = zoo.MNIST(train, test)
    artifacts = tmp_path_factory.mktemp("evaluator-artifacts")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("EX3_ARTIFACTS", str(artifacts))
        model, extra = zoo.get_evaluator(profile, data, progress=False)
    return SimpleNamespace(profile=profile, data=data, model=model, extra=extra, artifacts=artifacts)


def test_the_evaluator_is_trained_once_on_the_training_images_and_scored_on_the_test_images(evaluator,
                                                                                           monkeypatch):
    from helpers.training import accuracy

    test = evaluator.data.test
    assert not evaluator.model.training
    assert evaluator.extra["test_accuracy"] == accuracy(evaluator.model, test.images, test.labels) > 0.4  # chance 0.1
    monkeypatch.setenv("EX3_ARTIFACTS", str(evaluator.artifacts))
    with monkeypatch.context() as m:  # asked again: loaded, not trained
        m.setattr(zoo, "train_evaluator", lambda *a, **k: pytest.fail("the cached evaluator was retrained"))
        again, again_extra = zoo.get_evaluator(evaluator.profile, evaluator.data, progress=False)
    assert again_extra["test_accuracy"] == evaluator.extra["test_accuracy"]
    assert all(torch.equal(a, b) for a, b in zip(evaluator.model.state_dict().values(), again.state_dict().values()))

    def key_of(directory, config, *args, **kwargs):
        raise _Keyed(config)

    monkeypatch.setattr(zoo, "cached_model", key_of)
    keys = set()
    for profile, seed in [(evaluator.profile, 0), (evaluator.profile, 1),
                          (dataclasses.replace(evaluator.profile, evaluator_epochs=1), 0)]:
        with pytest.raises(_Keyed) as key:
            zoo.get_evaluator(profile, evaluator.data, seed=seed)
        keys.add(str(sorted(key.value.args[0].items())))
    assert len(keys) == 3, "another seed or training budget must be another cached evaluator"


def test_the_classification_accuracy_score_trains_the_evaluators_classifier_on_the_images_given(evaluator):
    """CAS: the evaluator's architecture and budget trained on (generated) images with the labels
    they were made for, tested on the real test digits. Real images with their labels give the
    evaluator's own test accuracy; labels that do not match the images give less than chance."""
    from helpers.evaluation import classification_accuracy_score

    data = evaluator.data
    train, spec = data.train, evaluator.profile.evaluator(data.name)
    assert classification_accuracy_score(spec, train.images, train.labels, data.test,
                                         progress=False) == evaluator.extra["test_accuracy"]
    shifted = (train.labels + 1) % 10  # every image labelled as the next digit
    assert classification_accuracy_score(spec, train.images, shifted, data.test, progress=False) < 0.08


def test_the_pixel_gan_is_trained_on_the_training_images_cached_and_handed_back_ready_to_sample(mnist_small,
                                                                                               monkeypatch):
    import helpers.gan as gan

    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256)
    data = zoo.MNIST(train, test)
    spec = profile.pixel_gan(60, steps=3, noise_dim=16, batch_size=16, width=8, snapshot_every=1, n_snapshot=8)
    G, history, snapshots = zoo.get_pixel_gan(profile, spec, data, progress=False)
    assert not G.training  # batch norm in inference mode: samples do not depend on their batch
    images = G(torch.randn(5, 16))
    assert images.shape == (5, 1, 32, 32) and 0 <= images.min() and images.max() <= 1
    assert history.rows[-1]["step"] == 3 and sorted(snapshots) == [1, 2, 3]
    assert snapshots[3].shape == (spec.n_snapshot, 1, 32, 32)
    # the same weights as training the spec's DCGAN on the training images directly
    direct, _, _, _ = gan.train_pixel_gan(train.images, spec, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), direct.state_dict().values()))
    with monkeypatch.context() as m:  # asked again: loaded, not trained
        m.setattr(gan, "train_pixel_gan", lambda *a, **k: pytest.fail("the cached pixel GAN was retrained"))
        again, again_history, again_snapshots = zoo.get_pixel_gan(profile, spec, data, progress=False)
    assert not again.training and again_history.rows == history.rows
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), again.state_dict().values()))
    assert torch.allclose(again_snapshots[3], snapshots[3])
    with pytest.raises(ValueError, match="the spec is for"):  # a spec for other data sizes
        zoo.get_pixel_gan(profiles.get_profile("smoke"), profiles.get_profile("smoke").pixel_gan(60), data)
    with pytest.raises(ValueError, match="the spec names data"):
        zoo.get_pixel_gan(profile, dataclasses.replace(spec, data_digest="other images"), data, progress=False)


def test_an_autoencoder_from_before_fingerprints_is_upgraded_and_one_from_other_code_retrained(mnist_small,
                                                                                               monkeypatch):
    """A file the whole-file scheme wrote while today's code was current is loaded (not retrained)
    and rewritten with the kind's fingerprint; a fingerprint that differs retrains the model."""
    from helpers.checkpoints import config_key, legacy_code_version
    from helpers.codehash import CodeFingerprint
    from helpers.profiles import output_dirs

    train, test = mnist_small
    profile = profiles.get_profile("smoke", train_size=512, test_size=256, ae_epochs=1)
    data = zoo.MNIST(train, test)
    ae, history = zoo.get_autoencoder(profile, data, latent_dim=3, progress=False)
    path = output_dirs(profile)["artifacts"] / f"{config_key(ae.spec.key())}.pt"
    payload = torch.load(path, weights_only=True)
    assert payload["code"] == zoo.trained_by("ae").digest
    files = ["models.py", "training.py", "data.py", "specs.py"]  # what the old scheme hashed for an autoencoder
    legacy = {**{k: v for k, v in payload.items() if k != "code_parts"}, "format": 2,
              "code": legacy_code_version(files), "code_files": files}
    torch.save(legacy, path)

    def retrain(*args, **kwargs):  # stands in for training: counts the calls, keeps the weights as built
        trained.append(1)
        return zoo.History(rows=[{"epoch": 1}])

    trained = []
    monkeypatch.setattr(zoo, "train_autoencoder", retrain)
    again, again_history = zoo.get_autoencoder(profile, data, latent_dim=3, progress=False)
    assert trained == [] and again_history.rows == history.rows
    assert all(torch.equal(a, b) for a, b in zip(ae.state_dict().values(), again.state_dict().values()))
    upgraded = torch.load(path, weights_only=True)
    assert upgraded["format"] == 3 and upgraded["code"] == zoo.trained_by("ae").digest
    assert upgraded["checksum"] == payload["checksum"]

    real_fingerprint = zoo.trained_by
    edited = tuple((name, "edited" if name == "train_autoencoder" else h) for name, h in real_fingerprint("ae").parts)
    monkeypatch.setattr(zoo, "trained_by", lambda kind: CodeFingerprint("other", edited)
                        if kind == "ae" else real_fingerprint(kind))
    with pytest.warns(UserWarning, match=r"retraining.*other code.*changed: train_autoencoder\)"):
        zoo.get_autoencoder(profile, data, latent_dim=3, progress=False)
    assert trained == [1] and torch.load(path, weights_only=True)["code"] == "other"
