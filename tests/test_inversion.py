import pytest
import torch
from torch import nn

from helpers.gan import sample_codes, train_latent_gan
from helpers.specs import LatentGANSpec
from helpers.inversion import MASKS, invert_images, make_mask, masked_mse


def test_masks_hide_what_they_say():
    pepper = make_mask("pepper", 20, seed=0)
    assert pepper.shape == (20, 1, 32, 32) and abs((1 - pepper).mean().item() - 0.3) < 0.02
    rows = make_mask("every other row", 2)
    assert (1 - rows).mean().item() == 0.5 and rows[:, :, 0].eq(1).all() and rows[:, :, 1].eq(0).all()
    square = make_mask("8x8 square", 50, seed=1)
    hidden = 1 - square
    assert hidden.flatten(1).sum(1).eq(64).all()
    assert hidden[:, :, :4].sum() == 0 and hidden[:, :, 28:].sum() == 0  # inside the central 24x24
    assert torch.equal(make_mask("pepper", 3, seed=7), make_mask("pepper", 3, seed=7))
    with pytest.raises(ValueError, match="mask must be one of"):
        make_mask("stripes", 1)


def test_masked_mse_counts_only_the_selected_pixels():
    a, b = torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)
    b[:, :, 0] = 1.0
    where = torch.zeros_like(a)
    where[:, :, 0] = 1
    assert masked_mse(a, b, where) == 1.0 and masked_mse(a, b, 1 - where) == 0.0 and masked_mse(a, b) == 0.25


def _gan_and_decoder():
    """A briefly trained latent GAN and a random 'decoder' whose images change strongly with the code."""
    torch.manual_seed(0)
    codes = torch.randn(512, 4)
    G, _, _, _ = train_latent_gan(codes, LatentGANSpec(noise_dim=3, steps=20, batch_size=64), progress=False)
    decoder = nn.Sequential(nn.Linear(4, 32 * 32), nn.Sigmoid(), nn.Unflatten(1, (1, 32, 32)))
    with torch.no_grad():
        decoder[0].weight.mul_(4)
    return G, decoder.eval()


def test_inversion_finds_images_the_gan_can_make_and_leaves_the_networks_alone():
    G, decoder = _gan_and_decoder()
    before = [p.clone() for p in (*G.parameters(), *decoder.parameters())]
    with torch.no_grad():
        targets = decoder(sample_codes(G, 4, seed=3))
        random_fit = decoder(sample_codes(G, 4, seed=99))
    _, restored = invert_images(G, decoder, targets, restarts=3, steps=150, lr=0.05, progress=False)
    assert restored.shape == targets.shape
    assert masked_mse(restored, targets) < 0.1 * masked_mse(random_fit, targets)
    assert all(torch.equal(a, b) for a, b in zip(before, (*G.parameters(), *decoder.parameters())))
    assert all(p.requires_grad for p in (*G.parameters(), *decoder.parameters()))


def test_inpainting_ignores_hidden_pixels():
    G, decoder = _gan_and_decoder()
    with torch.no_grad():
        targets = decoder(sample_codes(G, 2, seed=3))
    mask = make_mask("every other row", 2)
    garbage = targets * mask + (1 - mask) * torch.rand(targets.shape)  # hidden pixels scrambled
    _, a = invert_images(G, decoder, targets, mask=mask, restarts=2, steps=20, progress=False)
    _, b = invert_images(G, decoder, garbage, mask=mask, restarts=2, steps=20, progress=False)
    assert torch.allclose(a, b, atol=1e-6)


def test_inversion_rejects_bad_input():
    G, decoder = _gan_and_decoder()
    with pytest.raises(ValueError, match="mask shape"):
        invert_images(G, decoder, torch.zeros(2, 1, 32, 32), mask=torch.ones(1, 1, 32, 32))
    with pytest.raises(ValueError, match="images"):
        invert_images(G, decoder, torch.zeros(2, 32, 32))
    with pytest.raises(ValueError, match="restarts"):
        invert_images(G, decoder, torch.zeros(2, 1, 32, 32), restarts=0)
    with pytest.raises(ValueError, match="n must be"):
        make_mask("pepper", 0)


def test_every_listed_mask_is_its_own_kind_of_damage():
    """The extras loop over MASKS: each name makes a mask that hides some of the digit but not
    most of it, and no two names make the same mask."""
    masks = {kind: make_mask(kind, 3, seed=2) for kind in MASKS}
    assert len(masks) >= 2, "the extras compare several masks"
    for kind, mask in masks.items():
        hidden = (1 - mask).flatten(1).mean(1)
        assert mask.shape == (3, 1, 32, 32) and set(mask.unique().tolist()) == {0.0, 1.0}, kind
        assert (0.05 < hidden).all() and (hidden <= 0.5).all(), kind
    kinds = list(masks)
    assert all(not torch.equal(masks[a], masks[b]) for i, a in enumerate(kinds) for b in kinds[i + 1:])
