"""Specs: the report's models come from the profile, and a spec is its model's cache key."""
import dataclasses

import pytest
import torch

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
    gan = q4.build(ae.latent_dim)  # G and the D it trains against
    assert gan.generator.latent_dim == ae.latent_dim
    assert gan.discriminator(torch.randn(3, ae.latent_dim)).shape == (3,)
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


@pytest.mark.parametrize("fields, d_steps", [(dict(objective="nsgan"), 1), (dict(objective="wgan-gp"), 5),
                                             (dict(objective="wgan-clip", critic_steps=2), 2)])
def test_the_loop_trains_d_as_often_and_on_batches_as_large_as_the_spec_says(fields, d_steps, monkeypatch):
    """``critic_steps`` (None: 5 for the Wasserstein objectives, else 1) is how many updates D gets
    per update of G, and ``batch_size`` how many real samples each sees, for either kind of GAN."""
    import torch

    import helpers.gan as gan

    calls = []
    real_d_step, real_g_step = gan.d_step, gan.g_step

    def d_step(G, D, opt_d, batch, *args, **kwargs):
        calls.append(("d", len(batch[0])))
        return real_d_step(G, D, opt_d, batch, *args, **kwargs)

    def g_step(G, D, opt_g, noise, *args, **kwargs):
        calls.append(("g", len(noise)))
        return real_g_step(G, D, opt_g, noise, *args, **kwargs)

    monkeypatch.setattr(gan, "d_step", d_step)
    monkeypatch.setattr(gan, "g_step", g_step)
    codes = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    gan.train_latent_gan(codes, LatentGANSpec(noise_dim=2, steps=2, batch_size=8, hidden=(8,), **fields), progress=False)
    assert calls == ([("d", 8)] * d_steps + [("g", 8)]) * 2
    calls.clear()
    images = torch.rand(16, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    gan.train_pixel_gan(images, PixelGANSpec(noise_dim=4, width=4, steps=1, batch_size=4, **fields), progress=False)
    assert calls == [("d", 4)] * d_steps + [("g", 4)]


def test_a_pixel_gan_spec_builds_the_networks_it_describes():
    import torch

    small, wide = PixelGANSpec(noise_dim=16, width=4), PixelGANSpec(noise_dim=16, width=8)
    G, D = small.build().generator, small.build().discriminator
    out = G(torch.randn(3, 16))
    assert G.noise_dim == 16 and out.shape == (3, 1, 32, 32) and 0 <= out.min() and out.max() <= 1
    assert D(out).shape == (3,)
    gp = PixelGANSpec(noise_dim=16, width=4, objective="wgan-gp").build().discriminator
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gp.modules())  # the penalty scores samples alone
    assert sum(p.numel() for p in wide.build().parameters()) > sum(p.numel() for p in small.build().parameters())
    with pytest.raises(ValueError, match="noise"):  # its input is the spec's noise, no other size
        G(torch.randn(3, 8))
    keys = {config_key(spec.key()) for spec in (small, wide, PixelGANSpec(noise_dim=16, width=4, data_digest="a"),
                                                 PixelGANSpec(noise_dim=16, width=4, train_size=512))}
    assert len(keys) == 4 and config_key(small.key()) == config_key(PixelGANSpec(noise_dim=16, width=4).key())
    assert small.key()["kind"] != LatentGANSpec().key()["kind"]  # never loaded as a latent GAN


def test_the_full_profile_hands_out_the_specs_defaults():
    """One home per default: the report's models are their specs' defaults; the full profile adds
    no value of its own (only snapshots to look at during GAN training)."""
    from helpers.specs import EvaluatorSpec, HeadSpec

    full = get_profile("full", seed_offset=0)
    ae = full.autoencoder()
    assert ae == AutoencoderSpec()
    assert full.evaluator() == EvaluatorSpec() and full.head() == HeadSpec()
    assert dataclasses.replace(full.latent_gan(ae), snapshot_every=0) == LatentGANSpec(autoencoder=ae)
