"""GANs in the autoencoder's latent space (Q4, and conditional for Q5).

One training function serves both, driven by a :class:`~helpers.specs.LatentGANSpec`: a
conditional spec and the digits' ``labels`` give the digit-conditional generator. Objectives: ``"gan"`` (the original minimax BCE, whose generator
loss saturates), ``"nsgan"`` (non-saturating BCE), ``"lsgan"`` (least squares), ``"wgan-clip"``
(Wasserstein, critic weights clipped), ``"wgan-gp"`` (Wasserstein with gradient penalty) and
``"hinge"``. The same loop (:func:`train_adversarial`) also trains the pixel-space DCGAN baseline.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .models import GAN
from .specs import WASSERSTEIN, GANRecipe, LatentGANSpec, PixelGANSpec
from .seeding import seeded
from .training import History, adam_optimizer, in_batches


def _gradient_penalty(D, real, fake, labels):
    alpha = torch.rand(len(real), *[1] * (real.ndim - 1), device=real.device)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = D(mix, labels)
    (grad,) = torch.autograd.grad(score.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def discriminator_loss(objective: str, real_score, fake_score, real_target: float = 1.0) -> torch.Tensor:
    """``real_target`` < 1 is one-sided label smoothing (BCE and least-squares objectives)."""
    if objective in ("nsgan", "gan"):
        return (real_target * F.softplus(-real_score) + (1 - real_target) * F.softplus(real_score)).mean() \
            + F.softplus(fake_score).mean()
    if objective == "lsgan":
        return 0.5 * ((real_score - real_target) ** 2).mean() + 0.5 * (fake_score ** 2).mean()
    if objective == "hinge":
        return F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()
    return fake_score.mean() - real_score.mean()  # Wasserstein (gp: penalty added by the caller)


def generator_loss(objective: str, fake_score) -> torch.Tensor:
    if objective == "nsgan":
        return F.softplus(-fake_score).mean()  # -log D(G(z))
    if objective == "gan":
        return -F.softplus(fake_score).mean()  # log(1 - D(G(z))): flat where D rejects the fakes
    if objective == "lsgan":
        return 0.5 * ((fake_score - 1) ** 2).mean()
    return -fake_score.mean()  # Wasserstein and hinge


def train_code_classifier(codes: torch.Tensor, labels: torch.Tensor, epochs: int = 3,
                          hidden=(256,), seed: int = 0) -> nn.Module:
    """A small MLP digit classifier on (standardised) latent codes, for the auxiliary loss."""
    from .models import mlp

    gen = torch.Generator().manual_seed(seed)
    with seeded(seed):
        net = mlp([codes.shape[1], *hidden, 10]).to(codes.device)
    mean, std = codes.mean(0), codes.std(0).clamp_min(1e-6)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(codes), generator=gen).to(codes.device).split(256):
            loss = F.cross_entropy(net((codes[idx] - mean) / std), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    classifier = nn.Sequential(_Standardise(mean, std), net).eval()
    for p in classifier.parameters():
        p.requires_grad_(False)
    return classifier


class _Standardise(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x):
        return (x - self.mean) / self.std


def auxiliary_loss(classifier: nn.Module, weight: float):
    """Q5's term in G's loss: ``weight`` x a fixed code classifier's cross-entropy for the digits
    G was asked for (the AC-GAN idea, with a classifier trained beforehand on real codes)."""
    def loss(fake_codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return weight * F.cross_entropy(classifier(fake_codes), labels)
    return loss


def train_latent_gan(codes: torch.Tensor, spec: LatentGANSpec, labels: torch.Tensor | None = None,
                     progress: bool = True, gan: GAN | None = None):
    """Train G: noise -> code and D: code -> score (``gan``, default ``spec.build``) on ``codes``
    (N, d) as ``spec`` says (conditional on ``labels``). With ``spec.aux_weight`` > 0 a code
    classifier is trained first on the real (code, label) pairs and :func:`auxiliary_loss` adds
    its cross-entropy for the requested digits to G's loss. Returns ``(G, D, history, snapshots)``;
    ``snapshots`` maps a step to the codes G makes for a fixed noise batch."""
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"need (N >= 2, d) codes, got {tuple(codes.shape)}")
    if spec.conditional != (labels is not None):
        raise ValueError("a conditional spec needs labels, an unconditional one none")
    if labels is not None and len(labels) != len(codes):
        raise ValueError(f"{len(labels)} labels for {len(codes)} codes")
    with seeded(spec.seed) as gen:  # seeding local to this call
        aux = train_code_classifier(codes, labels, seed=spec.seed) if spec.aux_weight else None
        gan = (gan or spec.build(codes.shape[1])).to(codes.device)
        G, D = gan.generator, gan.discriminator
        mean, std = codes.mean(0), codes.std(0).clamp_min(1e-6)
        for net in (G, D):
            net.code_mean.copy_(mean)
            net.code_std.copy_(std)
        extra_loss = None if aux is None else auxiliary_loss(aux, spec.aux_weight)
        history, snapshots = train_adversarial(G, D, codes, spec, gen, labels, extra_loss, progress)
        return G.eval(), D.eval(), history, snapshots


def train_pixel_gan(images: torch.Tensor, spec: PixelGANSpec, progress: bool = True, gan: GAN | None = None):
    """The DCGAN of ``spec`` (``gan``, default ``spec.build()``) on the (N, 1, 32, 32) images
    themselves; the steps reached within ``spec.max_seconds`` are in the history's last row.
    Returns ``(G, D, history, snapshots)``."""
    if images.ndim != 4 or images.shape[1:] != (1, 32, 32):
        raise ValueError(f"expected (N, 1, 32, 32) images, got {tuple(images.shape)}")
    with seeded(spec.seed) as gen:  # seeding local to this call
        gan = (gan or spec.build()).to(images.device)
        G, D = gan.generator, gan.discriminator
        history, snapshots = train_adversarial(G, D, images, spec, gen, progress=progress)
        return G.eval(), D.eval(), history, snapshots


def _unrolled_discriminator_params(D, opt_d, objective, G, draw, k, real_target):
    """D's parameters after ``k`` more updates, as a differentiable function of G (Metz et al.,
    2017): G then trains against the discriminator's answer to its move. Each update is a step
    of D's own Adam size: the gradient over the root of Adam's second-moment estimate (frozen at
    its current value, no momentum), each coordinate's step bounded by the learning rate as in
    Adam."""
    from torch.func import functional_call

    names = [n for n, _ in D.named_parameters()]
    params = dict(D.named_parameters())
    group = opt_d.param_groups[0]
    root_v = {}
    for n, p in zip(names, D.parameters()):
        state = opt_d.state.get(p, {})
        if "exp_avg_sq" in state:
            root_v[n] = (state["exp_avg_sq"] / (1 - group["betas"][1] ** float(state["step"]))).sqrt()
        else:
            root_v[n] = torch.zeros_like(p)
    for _ in range(k):
        real, real_y, noise, fake_y = draw()
        loss = discriminator_loss(objective, functional_call(D, params, (real, real_y)),
                                  functional_call(D, params, (G(noise, fake_y), fake_y)), real_target)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {n: p - group["lr"] * g / (torch.maximum(root_v[n], g.detach().abs()) + group["eps"])
                  for (n, p), g in zip(params.items(), grads)}
    return params


def d_step(G, D, opt_d, batch, objective: str, real_target: float = 1.0, gp_weight: float = 10.0,
           clip: float = 0.01) -> torch.Tensor:
    """One update of the discriminator (critic) on ``batch`` = (real, real labels, noise, fake
    labels): it learns to score real samples high and G's samples low. Returns the loss."""
    real, real_y, noise, fake_y = batch
    with torch.no_grad():
        fake = G(noise, fake_y)
    loss = discriminator_loss(objective, D(real, real_y), D(fake, fake_y), real_target)
    if objective == "wgan-gp":
        loss = loss + gp_weight * _gradient_penalty(D, real, fake, real_y)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    if objective == "wgan-clip":
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-clip, clip)
    return loss.detach()


def g_step(G, D, opt_g, noise, labels, objective: str, extra_loss=None, critic=None) -> torch.Tensor:
    """One update of the generator: its samples for ``noise`` (and ``labels``) should score high
    with D (or with ``critic(fake, labels)``, e.g. an unrolled D); ``extra_loss(fake, labels)`` is
    added (Q5: a classifier's cross-entropy for the requested digits). Returns the loss."""
    fake = G(noise, labels)
    loss = generator_loss(objective, D(fake, labels) if critic is None else critic(fake, labels))
    if extra_loss is not None:
        loss = loss + extra_loss(fake, labels)
    params = [p for p in G.parameters() if p.requires_grad]
    for p, grad in zip(params, torch.autograd.grad(loss, params)):  # G's gradients only, not D's
        p.grad = grad
    opt_g.step()
    return loss.detach()


def train_adversarial(G: nn.Module, D: nn.Module, real_data: torch.Tensor, recipe: GANRecipe,
                      gen: torch.Generator, labels: torch.Tensor | None = None, extra_loss=None,
                      progress: bool = True):
    """The one GAN training loop, for any ``G(noise, labels)`` and ``D(x, labels)`` and real
    samples ``real_data`` (N, ...), codes or images, trained as ``recipe`` says (a spec from
    :mod:`helpers.specs`); ``extra_loss`` as in :func:`g_step`. Returns ``(history, snapshots)``."""
    device, objective, batch_size = real_data.device, recipe.objective, recipe.batch_size
    noise_dim, steps, unrolled_steps = recipe.noise_dim, recipe.steps, recipe.unrolled_steps
    betas = (0.5, 0.9) if objective in WASSERSTEIN else (0.5, 0.999)
    opt_g = adam_optimizer(G.parameters(), recipe.lr, device, betas=betas)
    opt_d = adam_optimizer(D.parameters(), recipe.lr, device, betas=betas)
    real_target = 1 - recipe.label_smoothing

    fixed_noise = torch.randn(recipe.n_snapshot, noise_dim, generator=gen).to(device)
    fixed_labels = (torch.arange(recipe.n_snapshot) % 10).to(device) if labels is not None else None
    # batches and noise are drawn on the device by a generator seeded from ``gen``, and the losses
    # are summed there and read once per logging window: no host round trip per step
    draws = torch.Generator(device=device)
    draws.manual_seed(int(torch.randint(0, 2 ** 62, (1,), generator=gen)))
    snapshots: dict[int, torch.Tensor] = {}
    history, start = History(), time.perf_counter()
    log_every = max(1, steps // 100)
    d_sum = torch.zeros((), device=device)
    g_sum = torch.zeros((), device=device)
    logged = 0

    def draw():
        idx = torch.randint(len(real_data), (batch_size,), generator=draws, device=device)
        noise = torch.randn(batch_size, noise_dim, generator=draws, device=device)
        # conditional: fakes are asked for the batch's own digits, so both sides (and the
        # gradient-penalty interpolates) have the same class mix
        y = labels[idx] if labels is not None else None
        return real_data[idx], y, noise, y

    def log_window(step):
        d, g = (torch.stack([d_sum, g_sum]) / logged).tolist()  # the one sync per window
        history.log(step=step, d_loss=d, g_loss=g)

    def unrolled_critic(fake, y):  # D as it will be k updates ahead, as a function of G
        from torch.func import functional_call

        params = _unrolled_discriminator_params(D, opt_d, objective, G, draw, unrolled_steps, real_target)
        return functional_call(D, params, (fake, y))

    critic = unrolled_critic if unrolled_steps else None

    G.train()
    D.train()
    bar = tqdm(range(1, steps + 1), desc=f"GAN ({objective})", disable=not progress, leave=False,
               mininterval=1.0)
    for step in bar:
        for _ in range(recipe.d_steps):
            loss_d = d_step(G, D, opt_d, draw(), objective, real_target, recipe.gp_weight, recipe.clip)
        _, _, noise, fake_y = draw()
        loss_g = g_step(G, D, opt_g, noise, fake_y, objective, extra_loss, critic)
        d_sum += loss_d
        g_sum += loss_g
        logged += 1
        if step % log_every == 0:
            log_window(step)
            d_sum.zero_()
            g_sum.zero_()
            logged = 0
        if recipe.snapshot_every and (step % recipe.snapshot_every == 0 or step == 1):
            with torch.no_grad():
                G.eval()
                snapshots[step] = G(fixed_noise, fixed_labels)  # stays on the device until the end
                G.train()
        if recipe.max_seconds is not None and time.perf_counter() - start >= recipe.max_seconds:
            if logged:
                log_window(step)
            break
    bar.close()
    history.seconds = time.perf_counter() - start
    return history, {step: codes.cpu() for step, codes in snapshots.items()}


@torch.no_grad()
def sample_codes(G: nn.Module, n: int, seed: int = 0, labels: torch.Tensor | None = None,
                 device=None, batch_size: int | None = None) -> torch.Tensor:
    """``n`` outputs of G for seeded noise (and the given labels if conditional): latent codes
    for a :class:`LatentGenerator`, images for the pixel-space DCGAN (pass a ``batch_size`` to
    bound the memory)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    device = device or next(G.parameters()).device
    noise = torch.randn(n, G.noise_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    labels = labels.to(device) if labels is not None else None
    return in_batches(G, noise, labels, batch_size=batch_size or n)


class DigitGenerator:
    """User-facing digit generator: ``generate(digit, n, seed=None)`` -> (n, 1, 32, 32) images.

    Wraps a conditional :class:`LatentGenerator` and the autoencoder's decoder; the noise only
    changes the style, the requested digit fixes the class."""

    def __init__(self, G: LatentGenerator, decoder: nn.Module):
        if G.n_classes != 10:
            raise ValueError("DigitGenerator needs a generator conditioned on the 10 digits")
        self.G, self.decoder = G.eval(), decoder.eval()

    @torch.no_grad()
    def __call__(self, digit: int, n: int, seed: int | None = None) -> torch.Tensor:
        if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
            raise ValueError(f"digit must be an integer from 0 to 9, got {digit!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        device = self.G.code_mean.device
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        noise = torch.randn(n, self.G.noise_dim, generator=gen).to(device)
        labels = torch.full((n,), digit, dtype=torch.long, device=device)
        return self.decoder(self.G(noise, labels))
