import pytest
import torch

from helpers.models import AutoEncoder, Decoder, DigitCNN, Encoder, EncoderClassifier, LatentGenerator, LatentDiscriminator


@pytest.mark.parametrize("d", [1, 2, 10, 64])
@pytest.mark.parametrize("fc_layers", [0, 1, 2])
def test_autoencoder_round_trip_shapes(d, fc_layers):
    ae = AutoEncoder(d, fc_layers=fc_layers, fc_width=32)
    x = torch.rand(5, 1, 32, 32)
    z = ae.encoder(x)
    assert z.shape == (5, d)
    y = ae.decoder(z)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1


def test_bad_shapes_and_sizes_fail_clearly():
    with pytest.raises(ValueError, match="latent_dim"):
        Encoder(0, fc_layers=1)
    with pytest.raises(ValueError, match="fc_layers"):
        Encoder(10, fc_layers=-1)
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\)"):
        Encoder(10, fc_layers=1)(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        Decoder(10, fc_layers=1)(torch.rand(2, 9))


def test_classifier_and_evaluator_logits():
    x = torch.rand(4, 1, 32, 32)
    assert EncoderClassifier(Encoder(10, fc_layers=1), hidden=(16,))(x).shape == (4, 10)
    cnn = DigitCNN()
    assert cnn(x).shape == (4, 10) and cnn.features(x).shape == (4, 128)


def test_conditional_gan_networks_need_labels():
    G, D = LatentGenerator(4, 10, (16,), n_classes=10), LatentDiscriminator(10, (16,), n_classes=10)
    z, y = torch.randn(6, 4), torch.randint(10, (6,))
    assert G(z, y).shape == (6, 10) and D(G(z, y), y).shape == (6,)
    with pytest.raises(ValueError, match="labels"):
        G(z)
    with pytest.raises(ValueError, match="noise"):
        G(torch.randn(6, 5), y)


def test_dcgan_networks_map_noise_to_images_and_images_to_scores():
    from helpers.models import DCGANDiscriminator, DCGANGenerator

    G, D = DCGANGenerator(noise_dim=16, width=8), DCGANDiscriminator(width=8)
    images = G(torch.randn(3, 16))
    assert images.shape == (3, 1, 32, 32) and 0 <= images.min() and images.max() <= 1
    assert D(images).shape == (3,)
    with pytest.raises(ValueError, match=r"\(N, 16\) noise"):
        G(torch.randn(3, 15))


def test_dcgan_discriminator_batch_norm_is_optional_and_init_follows_dcgan():
    from helpers.models import DCGANDiscriminator, DCGANGenerator

    with_bn, without = DCGANDiscriminator(width=8), DCGANDiscriminator(width=8, batch_norm=False)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in with_bn.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in without.modules())
    # without batch norm a sample's score does not depend on the rest of the batch (gradient penalty)
    x = torch.rand(4, 1, 32, 32)
    without.train()
    assert torch.allclose(without(x)[:1], without(x[:1]))
    conv = DCGANGenerator(noise_dim=16, width=64).net[1]
    assert abs(conv.weight.std().item() - 0.02) < 0.002 and conv.bias.abs().max() == 0
    with pytest.raises(ValueError, match="width"):
        DCGANDiscriminator(width=0)
