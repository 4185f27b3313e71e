import pytest
import torch

from helpers.gan import DigitGenerator, discriminator_loss, generator_loss, sample_codes, train_latent_gan
from helpers.inversion import invert_codes
from helpers.models import Decoder
from helpers.specs import LatentGANSpec, PixelGANSpec


def _train(codes, labels=None, noise_dim=3, **fields):
    """train_latent_gan on ``codes`` with a spec of these fields (conditional when labels are given)."""
    spec = LatentGANSpec(noise_dim=noise_dim, conditional=labels is not None, **fields)
    return train_latent_gan(codes, spec, labels, progress=False)


def _codes(n=512, d=4):
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(10, (n,), generator=g)
    return torch.randn(n, d, generator=g) + labels[:, None].float(), labels


@pytest.mark.parametrize("objective", ["nsgan", "gan", "lsgan", "wgan-clip", "wgan-gp", "hinge"])
def test_a_few_gan_steps_change_the_generator(objective):
    codes, _ = _codes()
    G0, _, _, _ = _train(codes, objective=objective, steps=0, batch_size=64)
    G, D, history, snaps = _train(codes, objective=objective, steps=20, batch_size=64, snapshot_every=10)
    z = torch.randn(8, 3)
    assert G(z).shape == (8, 4) and D(G(z)).shape == (8,)
    assert not torch.allclose(G(z), G0(z))
    assert sorted(snaps) == [1, 10, 20] and len(history.rows) > 0


def test_gan_rejects_bad_arguments():
    codes, labels = _codes()
    with pytest.raises(ValueError, match="objective"):
        _train(codes, objective="minimax-ish", steps=1)
    with pytest.raises(ValueError, match="labels"):
        _train(codes, labels=labels[:10], steps=1)


def test_gan_rejects_bad_tricks():
    codes, _ = _codes()
    with pytest.raises(ValueError, match="label_smoothing"):
        _train(codes, objective="nsgan", steps=1, label_smoothing=1.0)
    with pytest.raises(ValueError, match="critic_steps"):
        _train(codes, objective="nsgan", steps=1, critic_steps=0)


def test_weight_clipping_bounds_the_critic():
    codes, _ = _codes()
    _, D, _, _ = _train(codes, objective="wgan-clip", steps=3, batch_size=32, clip=0.02)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.02 + 1e-7


def test_saturating_generator_loss_has_a_flat_start():
    # where D confidently rejects the fakes (score -8), log(1 - D(G(z))) barely moves G,
    # -log D(G(z)) (non-saturating) pushes hard: the reason the non-saturating form exists
    grads = {}
    for objective in ("gan", "nsgan"):
        score = torch.full((4,), -8.0, requires_grad=True)
        generator_loss(objective, score).backward()
        grads[objective] = score.grad.abs().mean().item()
    assert grads["gan"] < 1e-3 < 0.2 < grads["nsgan"]


def test_label_smoothing_lowers_the_real_target():
    high = torch.full((4,), 10.0)
    assert discriminator_loss("nsgan", high, -high, real_target=0.9) > discriminator_loss("nsgan", high, -high) + 0.5
    assert discriminator_loss("lsgan", torch.ones(4), torch.zeros(4)).item() == 0.0


def test_gan_training_is_deterministic():
    codes, labels = _codes()
    outs = [_train(codes, objective="nsgan", steps=15, batch_size=32, labels=labels)[0]
            for _ in range(2)]
    z, y = torch.randn(5, 3), torch.arange(5)
    assert torch.equal(outs[0](z, y), outs[1](z, y))


def test_inversion_recovers_codes_the_generator_can_make():
    codes, _ = _codes()
    G, _, _, _ = _train(codes, objective="nsgan", steps=30, batch_size=64)
    target = sample_codes(G, 4, seed=5)
    z = invert_codes(G, target, restarts=4, steps=300, lr=0.05)
    err = ((G(z) - target) / G.code_std).pow(2).mean()
    assert err < 1e-2


def test_digit_generator_shapes_seed_and_errors():
    codes, labels = _codes(d=6)
    G, _, _, _ = _train(codes, objective="nsgan", steps=2, batch_size=32, labels=labels)
    gen = DigitGenerator(G, Decoder(6, fc_layers=0))
    imgs = gen(7, 5, seed=1)
    assert imgs.shape == (5, 1, 32, 32)
    assert torch.equal(imgs, gen(7, 5, seed=1)) and not torch.equal(imgs, gen(7, 5, seed=2))
    for bad_digit in (-1, 10, 3.0, True):
        with pytest.raises(ValueError, match="digit"):
            gen(bad_digit, 2)
    for bad_n in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n must"):
            gen(1, bad_n)


def test_the_auxiliary_classifier_term_pulls_codes_towards_the_requested_digit():
    """With ``aux_weight`` the generator also lowers a fixed code classifier's cross-entropy for the
    digit it was asked for: its codes are read as that digit more than without the term (and less
    with the term's sign flipped)."""
    from helpers.gan import train_code_classifier

    g = torch.Generator().manual_seed(0)
    labels = torch.randint(10, (512,), generator=g)
    centres = 3 * torch.randn(10, 4, generator=torch.Generator().manual_seed(5))  # a cluster per digit
    codes = centres[labels] + 0.5 * torch.randn(512, 4, generator=g)
    with pytest.raises(ValueError, match="aux_weight needs labels"):
        _train(codes, objective="nsgan", steps=1, aux_weight=1.0)
    # both runs train the same classifier and draw the same batches; only the term's weight differs
    runs = {w: _train(codes, labels, objective="nsgan", steps=30, batch_size=32, aux_weight=w)[0]
            for w in (1e-12, 5.0)}
    classifier = train_code_classifier(codes, labels, seed=0)  # the one the loop trained (seeded)
    z, y = torch.randn(1000, 3, generator=torch.Generator().manual_seed(1)), torch.arange(1000) % 10
    with torch.no_grad():
        ce = {w: torch.nn.functional.cross_entropy(classifier(G(z, y)), y).item() for w, G in runs.items()}
    assert ce[5.0] < ce[1e-12] - 0.03, ce


def test_unrolled_discriminator_changes_the_generator_update_only(monkeypatch):
    import helpers.gan as gan

    codes, _ = _codes()
    unrolled = _train(codes, objective="nsgan", steps=4, batch_size=32, unrolled_steps=2)[0]
    real_unroll = gan._unrolled_discriminator_params

    def not_unrolled(D, opt_d, objective, G, draw, k, real_target):
        for _ in range(k):  # the same batches drawn, D left where it is
            draw()
        return dict(D.named_parameters())

    monkeypatch.setattr(gan, "_unrolled_discriminator_params", not_unrolled)
    same_draws = _train(codes, objective="nsgan", steps=4, batch_size=32, unrolled_steps=2)[0]
    monkeypatch.setattr(gan, "_unrolled_discriminator_params", real_unroll)
    z = torch.randn(8, 3)
    assert torch.isfinite(unrolled(z)).all()
    assert not torch.allclose(unrolled(z), same_draws(z))
    with pytest.raises(ValueError, match="unrolled_steps must be >= 0"):
        _train(codes, objective="nsgan", steps=1, unrolled_steps=-1)
    with pytest.raises(ValueError, match="unrolled_steps is for"):
        _train(codes, objective="wgan-gp", steps=1, unrolled_steps=2)


def test_the_gan_loop_fits_a_known_gaussian():
    """d2l's first GAN: samples of a 2-D Gaussian with a given mean and covariance (an untrained
    generator, whose outputs are only shifted and scaled to the data's mean and spread, has a
    tenth of the spread and the opposite correlation)."""
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([2.0, -1.0])
    mix = torch.tensor([[1.0, 0.0], [0.8, 0.5]])  # covariance mix @ mix.T, correlated coordinates
    data = torch.randn(4096, 2, generator=g) @ mix.T + mean
    G = _train(data, noise_dim=2, objective="nsgan", steps=800, batch_size=256)[0]
    fake = sample_codes(G, 4096, seed=1)
    assert torch.allclose(fake.mean(0), data.mean(0), atol=0.15)
    assert torch.allclose(fake.std(0), data.std(0), rtol=0.2)
    r_fake, r_real = (torch.corrcoef(x.T)[0, 1] for x in (fake, data))
    assert abs(r_fake - r_real) < 0.15


def test_unrolled_steps_are_bounded_by_the_learning_rate():
    from helpers.gan import _unrolled_discriminator_params
    from helpers.models import LatentDiscriminator, LatentGenerator

    codes, _ = _codes()
    G, D = LatentGenerator(3, 4), LatentDiscriminator(4)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3)  # no state yet: every step is at most lr

    def draw():
        return codes[:32], None, torch.randn(32, 3), None

    params = _unrolled_discriminator_params(D, opt, "nsgan", G, draw, 3, 1.0)
    moved = max((params[n] - p).abs().max().item() for n, p in D.named_parameters())
    assert 0 < moved <= 3 * 1e-3 * (1 + 1e-4)  # float32 rounding
    params[next(iter(params))].sum().backward()  # differentiable with respect to G
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def test_pixel_gan_makes_images_and_stops_at_its_time_budget():
    import time

    from helpers.gan import train_pixel_gan

    images = torch.rand(64, 1, 32, 32)
    G, D, history, snaps = train_pixel_gan(images, PixelGANSpec(noise_dim=16, steps=3, batch_size=16, width=8,
                                                                snapshot_every=1), progress=False)
    out = sample_codes(G, 5, batch_size=2)
    assert out.shape == (5, 1, 32, 32) and 0 <= out.min() and out.max() <= 1
    assert D(out).shape == (5,) and sorted(snaps) == [1, 2, 3]
    start = time.perf_counter()
    _, _, history, _ = train_pixel_gan(images, PixelGANSpec(noise_dim=16, steps=10 ** 6, max_seconds=0.5,
                                                            batch_size=16, width=8), progress=False)
    assert time.perf_counter() - start < 5 and 1 <= history.rows[-1]["step"] < 10 ** 6
    with pytest.raises(ValueError, match="32, 32"):
        train_pixel_gan(torch.rand(4, 1, 28, 28), PixelGANSpec(steps=1))
    with pytest.raises(ValueError, match="max_seconds"):
        PixelGANSpec(steps=1, max_seconds=0)


@pytest.mark.parametrize("objective", ["nsgan", "lsgan", "hinge", "wgan-gp"])
def test_one_d_step_and_one_g_step_move_their_losses_the_right_way(objective):
    """On a fixed batch, a discriminator step lowers D's loss and a generator step lowers G's
    (the sign of either update flipped would raise it)."""
    from helpers.gan import d_step, g_step
    from helpers.models import LatentDiscriminator, LatentGenerator

    torch.manual_seed(0)
    codes, _ = _codes(256, 4)
    G, D = LatentGenerator(3, 4, (32,)), LatentDiscriminator(4, (32,))
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=1e-3), torch.optim.SGD(D.parameters(), lr=1e-3)
    batch = (codes[:128], None, torch.randn(128, 3), None)

    def d_loss():
        with torch.no_grad():
            return discriminator_loss(objective, D(batch[0]), D(G(batch[2])))

    def g_loss():
        with torch.no_grad():
            return generator_loss(objective, D(G(batch[2])))

    before = d_loss()
    d_step(G, D, opt_d, batch, objective, gp_weight=0.0)  # the penalty term aside
    assert d_loss() < before
    before = g_loss()
    D.zero_grad(set_to_none=True)
    g_step(G, D, opt_g, batch[2], None, objective)
    assert g_loss() < before
    assert all(p.grad is None for p in D.parameters())  # the generator's step leaves D's gradients alone
