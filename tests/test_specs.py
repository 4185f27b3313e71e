"""Specs: the report's models come from the profile, and a spec is its model's cache key."""
import dataclasses

import pytest

from helpers.checkpoints import config_key
from helpers.profiles import get_profile
from helpers.specs import SPEC_FORMAT, AutoencoderSpec, LatentGANSpec, PixelGANSpec


def test_the_main_autoencoder_comes_from_the_profile_and_overrides_change_its_key():
    smoke = get_profile("smoke")
    main = smoke.autoencoder()
    assert (main.latent_dim, main.fc_layers, main.epochs, main.train_size) == \
        (smoke.latent_dim, smoke.chosen_fc_layers, smoke.ae_epochs, smoke.train_size)
    assert smoke.autoencoder(latent_dim=None) == main  # None keeps the profile's value
    keys = {config_key(spec.key()) for spec in (main, smoke.autoencoder(lr=1e-3), smoke.autoencoder(seed=1),
                                                 smoke.autoencoder(weight_decay=0.1), smoke.autoencoder(dataset="fashion"),
                                                 smoke.autoencoder(data_digest="a"), smoke.autoencoder(data_digest="b"))}
    assert len(keys) == 7  # the data it learns from is part of a model's key
    assert config_key(main.key()) == config_key(smoke.autoencoder().key())  # and keys are deterministic
    assert main.key()["format"] == SPEC_FORMAT and main.key()["kind"] == "ae"
    assert get_profile("smoke", latent_dim=4).autoencoder().latent_dim == 4
    for bad, message in [(dict(latent_dim=0), "latent_dim"), (dict(lr=0.0), "lr must be > 0"),
                         (dict(epochs=0), "epochs"), (dict(input_noise=-0.1), "input_noise")]:
        with pytest.raises(ValueError, match=message):
            AutoencoderSpec(**{"latent_dim": 10, **bad})


def test_a_gan_is_keyed_by_its_autoencoder_and_q5_starts_from_q4s_recipe():
    smoke = get_profile("smoke")
    ae = smoke.autoencoder()
    q4 = smoke.latent_gan(ae)
    assert (q4.noise_dim, q4.objective, q4.steps) == (smoke.noise_dim, smoke.gan_objective, smoke.gan_steps)
    assert q4.key()["autoencoder"] == dataclasses.asdict(ae) and q4.key()["kind"] == "gan"
    assert config_key(q4.key()) != config_key(smoke.latent_gan(smoke.autoencoder(seed=1)).key())
    q5 = smoke.digit_gan(ae, aux_weight=1.0)
    assert q5.conditional and q5.steps == smoke.cgan_steps and q5.key()["kind"] == "cgan"
    assert (q5.noise_dim, q5.objective, q5.batch_size) == (q4.noise_dim, q4.objective, q4.batch_size)
    assert q4.build(ae.latent_dim).latent_dim == ae.latent_dim
    longer = smoke.latent_gan(ae, steps=600)
    assert longer.steps == 600 and longer.snapshot_every == 100  # snapshots follow the steps asked for
    assert smoke.digit_gan(ae, aux_weight=0.0, steps=50).steps == 50
    pixel = smoke.pixel_gan(12.4)
    assert (pixel.max_seconds, pixel.steps, pixel.train_size) == (12, smoke.pixel_gan_max_steps, smoke.train_size)
    with pytest.raises(ValueError, match="gmm_components must include 10"):
        get_profile("smoke", gmm_components=(20, 50))


@pytest.mark.parametrize("fields, message", [
    (dict(objective="minimax-ish"), "objective"), (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(critic_steps=0), "critic_steps"), (dict(unrolled_steps=-1), "unrolled_steps"),
    (dict(objective="wgan-gp", unrolled_steps=2), "unrolled_steps is for"), (dict(aux_weight=1.0), "aux_weight needs labels"),
    (dict(max_seconds=0), "max_seconds")])
def test_gan_specs_refuse_bad_settings(fields, message):
    with pytest.raises(ValueError, match=message):
        LatentGANSpec(**fields)


def test_d_steps_default_by_objective_and_pixel_spec_defaults():
    assert LatentGANSpec(objective="wgan-gp").d_steps == 5 and LatentGANSpec().d_steps == 1
    assert LatentGANSpec(critic_steps=2).d_steps == 2
    pixel = PixelGANSpec()
    assert (pixel.noise_dim, pixel.batch_size) == (64, 64) and pixel.key()["kind"] == "pixel_gan"
