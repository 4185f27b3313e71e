"""Theory demonstration: a transformer layer can compute a convolution and an MLP exactly.

* :class:`ConvAsSelfAttention` is multi-head self-attention over pixel tokens with one head per
  kernel offset. Each head's attention logits come only from a quadratic relative positional
  encoding, -alpha * ||(p_key - p_query) - delta_h||^2 (Cordonnier, Loukas & Jaggi, ICLR 2020),
  so for large alpha head h attends to the single pixel at offset delta_h. A zero "padding" token
  wins when that pixel lies outside the image, which reproduces zero padding. With value/output
  projections set from a Conv2d's weights, the layer's output equals the convolution.
* :func:`transformer_block_as_mlp` sets a (LayerNorm-free) transformer block acting on one
  token, the flattened image, so that it computes a given 2-layer MLP: attention on a single
  token is switched off (zero value projection) and the feed-forward block *is* the MLP, writing
  its output into a reserved slice of the residual stream.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvAsSelfAttention(nn.Module):
    """Multi-head self-attention with K*K heads that reproduces a KxK, stride-1, zero-padded
    ("same") convolution once its projections are copied from that convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 alpha: float = 50.0):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.in_channels, self.out_channels, self.k, self.alpha = in_channels, out_channels, kernel_size, alpha
        r = kernel_size // 2
        # head h looks at offset delta_h = (dy, dx), in the kernel's row-major order
        self.register_buffer("offsets", torch.tensor(
            [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)], dtype=torch.float64))
        self.value = nn.Parameter(torch.zeros(kernel_size ** 2, in_channels, out_channels))  # W_V^h W_O^h
        self.bias = nn.Parameter(torch.zeros(out_channels))

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, alpha: float = 50.0) -> "ConvAsSelfAttention":
        k = conv.kernel_size[0]
        if conv.kernel_size != (k, k) or conv.stride != (1, 1) or conv.padding != (k // 2, k // 2) \
                or conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError("only square, stride-1, 'same'-padded, ungrouped convolutions")
        layer = cls(conv.in_channels, conv.out_channels, k, alpha)
        with torch.no_grad():
            w = conv.weight.detach()  # (out, in, k, k)
            layer.value.copy_(w.permute(2, 3, 1, 0).reshape(k * k, conv.in_channels, conv.out_channels))
            if conv.bias is not None:
                layer.bias.copy_(conv.bias.detach())
        return layer

    def attention(self, height: int, width: int) -> torch.Tensor:
        """(heads, T, T + 1) attention probabilities: T pixel queries, T pixel keys + a padding key."""
        ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float64),
                                torch.arange(width, dtype=torch.float64), indexing="ij")
        pos = torch.stack([ys.flatten(), xs.flatten()], 1)  # (T, 2)
        rel = pos[None, :, :] - pos[:, None, :]  # (T query, T key, 2): p_key - p_query
        logits = -self.alpha * ((rel[None] - self.offsets[:, None, None, :]) ** 2).sum(-1)  # (H, T, T)
        # the padding key sits between an exact match (0) and the nearest miss (-alpha)
        pad = torch.full(logits.shape[:2] + (1,), -self.alpha / 2, dtype=logits.dtype)
        return torch.softmax(torch.cat([logits, pad], dim=2), dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if c != self.in_channels:
            raise ValueError(f"expected {self.in_channels} channels, got {c}")
        tokens = x.flatten(2).transpose(1, 2).to(torch.float64)  # (N, T, C_in)
        tokens = torch.cat([tokens, tokens.new_zeros(n, 1, c)], dim=1)  # + zero padding token
        attn = self.attention(h, w).to(x.device)  # (H, T, T+1)
        values = torch.einsum("ntc,hco->nhto", tokens, self.value.to(torch.float64))
        out = torch.einsum("hqk,nhko->nqo", attn, values) + self.bias.to(torch.float64)
        return out.transpose(1, 2).reshape(n, self.out_channels, h, w).to(x.dtype)


class TransformerBlock(nn.Module):
    """A single-head, LayerNorm-free transformer block: x + Attn(x), then h + FFN(h)."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.ff1, self.ff2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, tokens, d_model)
        scores = self.q(x) @ self.k(x).transpose(1, 2) / x.shape[-1] ** 0.5
        h = x + self.o(torch.softmax(scores, -1) @ self.v(x))
        return h + self.ff2(F.relu(self.ff1(h)))


def transformer_block_as_mlp(fc1: nn.Linear, fc2: nn.Linear) -> TransformerBlock:
    """A block whose output's last ``fc2.out_features`` entries equal fc2(relu(fc1(x))) for the
    single token [x, 0]. Read the result with ``block(token)[..., -fc2.out_features:]``."""
    d_in, d_hidden, d_out = fc1.in_features, fc1.out_features, fc2.out_features
    if fc2.in_features != d_hidden:
        raise ValueError("fc2 must take fc1's output")
    block = TransformerBlock(d_in + d_out, d_hidden)
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()  # attention contributes nothing: the residual carries [x, 0] through
        block.ff1.weight[:, :d_in] = fc1.weight
        block.ff1.bias.copy_(fc1.bias)
        block.ff2.weight[d_in:, :] = fc2.weight  # write into the reserved output slice
        block.ff2.bias[d_in:] = fc2.bias
    return block


def mlp_as_token(x: torch.Tensor, d_out: int) -> torch.Tensor:
    """Images (N, ...) -> one token per image, (N, 1, D + d_out): the flattened image, then zeros."""
    flat = x.flatten(1)
    return torch.cat([flat, flat.new_zeros(len(flat), d_out)], 1).unsqueeze(1)
