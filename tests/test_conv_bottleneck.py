import pytest
import torch
from torch import nn

from helpers.conv_bottleneck import ConvBottleneckAutoEncoder, ConvEncoder
from helpers.specs import AutoencoderSpec
from helpers.training import reconstruction_loss, train_autoencoder


def test_code_is_a_2x2_map_and_no_layer_is_fully_connected():
    model = ConvBottleneckAutoEncoder(code_channels=3)
    x = torch.rand(5, 1, 32, 32)
    codes = model.encoder(x)
    assert codes.shape == (5, 12) and model.latent_dim == 12
    assert model.decoder.logits(codes).shape == (5, 1, 32, 32)
    assert not any(isinstance(m, nn.Linear) for m in model.modules())


def test_each_code_number_sees_only_part_of_the_image():
    torch.manual_seed(0)
    encoder = ConvEncoder(code_channels=1).eval()
    x = torch.rand(1, 1, 32, 32)
    changed = x.clone()
    changed[..., 24:, 24:] = 0  # the bottom-right corner only
    diff = (encoder(x) - encoder(changed)).abs().view(2, 2)
    assert diff[0, 0] == 0 and diff[1, 1] > 0  # the top-left number never sees that corner


@pytest.mark.slow
def test_trains_with_the_autoencoders_loop(mnist_small):
    train, test = mnist_small
    torch.manual_seed(0)
    model = ConvBottleneckAutoEncoder(code_channels=3)
    before = reconstruction_loss(model, test.images)["mse"]
    history = train_autoencoder(model, AutoencoderSpec(epochs=3, lr=4e-3, batch_size=64), train.images, test.images,
                                progress=False)
    assert history.last("test_mse") < 0.8 * before


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="code_channels"):
        ConvEncoder(code_channels=0)
    with pytest.raises(ValueError, match="2x2"):
        ConvEncoder(code_channels=2, channels=(16, 32))
    with pytest.raises(ValueError, match=r"\(N, 12\)"):
        ConvBottleneckAutoEncoder(3).decoder.logits(torch.zeros(2, 10))
