"""GANs in the autoencoder's latent space (Q4, and conditional for Q5).

One training function serves both: pass ``labels`` (and conditional networks) for the
digit-conditional generator. Objectives: ``"gan"`` (the original minimax BCE, whose generator
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

from .models import LatentDiscriminator, LatentGenerator
from .training import History, adam_optimizer, seeded

OBJECTIVES = ("nsgan", "gan", "lsgan", "wgan-clip", "wgan-gp", "hinge")
WASSERSTEIN = ("wgan-clip", "wgan-gp")


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


def train_latent_gan(codes: torch.Tensor, noise_dim: int, objective: str = "wgan-gp",
                     steps: int = 5000, batch_size: int = 256, labels: torch.Tensor | None = None,
                     hidden=(256, 256), lr: float = 2e-4, critic_steps: int | None = None,
                     gp_weight: float = 10.0, aux_weight: float = 0.0, label_smoothing: float = 0.0,
                     clip: float = 0.01, unrolled_steps: int = 0, seed: int = 0, snapshot_every: int = 0,
                     n_snapshot: int = 64, progress: bool = True):
    """Train G: noise -> code and D: code -> score on ``codes`` (N, d) (conditional on ``labels``
    when given). ``aux_weight`` > 0 (conditional only) adds ``aux_weight`` x the cross-entropy of a
    code classifier, trained beforehand on the real (code, label) pairs, on G's codes for the
    requested digits (the AC-GAN idea, with a fixed classifier). Returns
    ``(G, D, history, snapshots)``; ``snapshots`` maps a step to the codes G makes for a fixed
    noise batch (empty unless ``snapshot_every`` > 0). Training options as in
    :func:`train_adversarial`."""
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"need (N >= 2, d) codes, got {tuple(codes.shape)}")
    if labels is not None and len(labels) != len(codes):
        raise ValueError(f"{len(labels)} labels for {len(codes)} codes")
    if aux_weight and labels is None:
        raise ValueError("aux_weight needs labels (a conditional GAN)")
    _check_options(objective, steps, label_smoothing, critic_steps, unrolled_steps)
    with seeded(seed) as gen:  # seeding local to this call
        aux = train_code_classifier(codes, labels, seed=seed) if aux_weight else None
        d = codes.shape[1]
        n_classes = 10 if labels is not None else None
        G = LatentGenerator(noise_dim, d, hidden, n_classes).to(codes.device)
        D = LatentDiscriminator(d, hidden, n_classes).to(codes.device)
        mean, std = codes.mean(0), codes.std(0).clamp_min(1e-6)
        for net in (G, D):
            net.code_mean.copy_(mean)
            net.code_std.copy_(std)
        history, snapshots = train_adversarial(
            G, D, codes, noise_dim, objective, steps, batch_size, gen, labels=labels, lr=lr,
            critic_steps=critic_steps, gp_weight=gp_weight, aux=aux, aux_weight=aux_weight,
            label_smoothing=label_smoothing, clip=clip, unrolled_steps=unrolled_steps,
            snapshot_every=snapshot_every, n_snapshot=n_snapshot, progress=progress)
        return G.eval(), D.eval(), history, snapshots


def train_pixel_gan(images: torch.Tensor, noise_dim: int = 64, objective: str = "nsgan",
                    steps: int = 100_000, max_seconds: float | None = None, batch_size: int = 64,
                    width: int = 32, lr: float = 2e-4, seed: int = 0, snapshot_every: int = 0,
                    progress: bool = True):
    """A DCGAN on the (N, 1, 32, 32) images themselves: the baseline the latent GAN is measured
    against. ``max_seconds`` stops training after that much wall time (a same-time comparison);
    the steps reached are in the history's last row. Returns ``(G, D, history, snapshots)``."""
    from .models import DCGANDiscriminator, DCGANGenerator

    if images.ndim != 4 or images.shape[1:] != (1, 32, 32):
        raise ValueError(f"expected (N, 1, 32, 32) images, got {tuple(images.shape)}")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
    _check_options(objective, steps, 0.0, None, 0)
    with seeded(seed) as gen:  # seeding local to this call
        G = DCGANGenerator(noise_dim, width).to(images.device)
        D = DCGANDiscriminator(width, batch_norm=objective != "wgan-gp").to(images.device)
        history, snapshots = train_adversarial(G, D, images, noise_dim, objective, steps, batch_size, gen,
                                               lr=lr, max_seconds=max_seconds, snapshot_every=snapshot_every,
                                               progress=progress)
        return G.eval(), D.eval(), history, snapshots


def _check_options(objective, steps, label_smoothing, critic_steps, unrolled_steps):
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing}")
    if critic_steps is not None and critic_steps < 1:
        raise ValueError(f"critic_steps must be >= 1, got {critic_steps}")
    if unrolled_steps < 0:
        raise ValueError(f"unrolled_steps must be >= 0, got {unrolled_steps}")
    if unrolled_steps and objective in WASSERSTEIN:
        raise ValueError("unrolled_steps is for the BCE, least-squares and hinge objectives")


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


def g_step(G, D, opt_g, noise, labels, objective: str, aux=None, aux_weight: float = 0.0, critic=None) -> torch.Tensor:
    """One update of the generator: its samples for ``noise`` (and ``labels``) should score high
    with D (or with ``critic(fake, labels)``, e.g. an unrolled D); ``aux`` adds a classifier's
    cross-entropy for the requested labels. Returns the loss."""
    fake = G(noise, labels)
    loss = generator_loss(objective, D(fake, labels) if critic is None else critic(fake, labels))
    if aux is not None:
        loss = loss + aux_weight * F.cross_entropy(aux(fake), labels)
    params = [p for p in G.parameters() if p.requires_grad]
    for p, grad in zip(params, torch.autograd.grad(loss, params)):  # G's gradients only, not D's
        p.grad = grad
    opt_g.step()
    return loss.detach()


def train_adversarial(G: nn.Module, D: nn.Module, real_data: torch.Tensor, noise_dim: int,
                      objective: str, steps: int, batch_size: int, gen: torch.Generator,
                      labels: torch.Tensor | None = None, lr: float = 2e-4,
                      critic_steps: int | None = None, gp_weight: float = 10.0,
                      aux: nn.Module | None = None, aux_weight: float = 0.0,
                      label_smoothing: float = 0.0, clip: float = 0.01, unrolled_steps: int = 0,
                      max_seconds: float | None = None, snapshot_every: int = 0, n_snapshot: int = 64,
                      progress: bool = True):
    """The one GAN training loop, for any ``G(noise, labels)`` and ``D(x, labels)`` and real
    samples ``real_data`` (N, ...), codes or images. ``critic_steps`` D updates per G update
    (default 5 for the Wasserstein objectives, else 1); ``label_smoothing`` 0.1 trains D towards
    0.9 on real samples; ``clip`` bounds the critic's weights for ``"wgan-clip"``;
    ``unrolled_steps`` k > 0 trains G against D unrolled k updates ahead; ``max_seconds`` stops
    early. Returns ``(history, snapshots)``."""
    device = real_data.device
    critic_steps = critic_steps or (5 if objective in WASSERSTEIN else 1)
    betas = (0.5, 0.9) if objective in WASSERSTEIN else (0.5, 0.999)
    opt_g = adam_optimizer(G.parameters(), lr, device, betas=betas)
    opt_d = adam_optimizer(D.parameters(), lr, device, betas=betas)
    real_target = 1 - label_smoothing

    fixed_noise = torch.randn(n_snapshot, noise_dim, generator=gen).to(device)
    fixed_labels = (torch.arange(n_snapshot) % 10).to(device) if labels is not None else None
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
        for _ in range(critic_steps):
            loss_d = d_step(G, D, opt_d, draw(), objective, real_target, gp_weight, clip)
        _, _, noise, fake_y = draw()
        loss_g = g_step(G, D, opt_g, noise, fake_y, objective, aux, aux_weight, critic)
        d_sum += loss_d
        g_sum += loss_g
        logged += 1
        if step % log_every == 0:
            log_window(step)
            d_sum.zero_()
            g_sum.zero_()
            logged = 0
        if snapshot_every and (step % snapshot_every == 0 or step == 1):
            with torch.no_grad():
                G.eval()
                snapshots[step] = G(fixed_noise, fixed_labels)  # stays on the device until the end
                G.train()
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
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
    batch_size = batch_size or n
    return torch.cat([G(noise[i:i + batch_size], labels[i:i + batch_size] if labels is not None else None)
                      for i in range(0, n, batch_size)])


def invert_generator(G: LatentGenerator, targets: torch.Tensor, restarts: int = 8,
                     steps: int = 300, lr: float = 0.05, prior_weight: float = 1e-3,
                     seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
    """For each target code, the noise z (best of ``restarts`` random starts) minimising
    ||G(z) - target||^2 (in standardised units) + prior_weight * ||z||^2. Returns (N, noise_dim)."""
    gen = torch.Generator().manual_seed(seed)
    n, device = len(targets), targets.device
    z = torch.randn(restarts * n, G.noise_dim, generator=gen).to(device).requires_grad_(True)
    tgt = targets.repeat(restarts, 1)
    y = labels.repeat(restarts) if labels is not None else None
    opt = torch.optim.Adam([z], lr=lr)
    for p in G.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            err = (((G(z, y) - tgt) / G.code_std) ** 2).sum(1)
            loss = (err + prior_weight * (z ** 2).sum(1)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        for p in G.parameters():
            p.requires_grad_(True)
    with torch.no_grad():
        err = (((G(z, y) - tgt) / G.code_std) ** 2).sum(1).view(restarts, n)
        best = err.argmin(0)
        return z.detach().view(restarts, n, -1)[best, torch.arange(n)]


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int = 11) -> torch.Tensor:
    """Frames alpha*a + (1-alpha)*b for alpha = 0..1: the path runs from ``b`` to ``a``."""
    if a.shape != b.shape:
        raise ValueError(f"endpoints differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    alpha = torch.linspace(0, 1, steps, device=a.device).view(-1, *([1] * a.ndim))
    return alpha * a + (1 - alpha) * b


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
