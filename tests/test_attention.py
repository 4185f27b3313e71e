import pytest
import torch
from torch import nn

from helpers.attention import ConvAsSelfAttention, mlp_as_token, transformer_block_as_mlp


def test_attention_reproduces_a_3x3_convolution_on_mnist(mnist_small):
    _, test = mnist_small
    x = test.images[:4]
    x = torch.cat([x, x ** 2, 1 - x], 1)
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1)
    with torch.no_grad():
        err = (ConvAsSelfAttention.from_conv(conv)(x) - conv(x)).abs().max()
    assert err <= 1e-5


def test_attention_reproduces_a_5x5_convolution_without_bias():
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 5, padding=2, bias=False)
    x = torch.randn(2, 2, 9, 7)
    with torch.no_grad():
        assert (ConvAsSelfAttention.from_conv(conv)(x) - conv(x)).abs().max() <= 1e-5


def test_unsupported_convolutions_are_refused():
    with pytest.raises(ValueError):
        ConvAsSelfAttention.from_conv(nn.Conv2d(1, 1, 3, stride=2, padding=1))


def test_transformer_block_reproduces_an_mlp(mnist_small):
    _, test = mnist_small
    x = test.images[:8]
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(1024, 32), nn.Linear(32, 10)
    block = transformer_block_as_mlp(fc1, fc2)
    with torch.no_grad():
        err = (block(mlp_as_token(x, 10))[:, 0, -10:] - fc2(torch.relu(fc1(x.flatten(1))))).abs().max()
    assert err <= 1e-5
