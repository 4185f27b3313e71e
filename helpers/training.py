"""Training loops, one per objective, and the device plumbing they share (seeding:
:mod:`helpers.seeding`).

Each loop takes tensors already on the device, draws batches by seeded index permutation, shows a
tqdm.auto progress bar, and returns a :class:`History` of per-epoch numbers.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import batch_indices
from .environment import env
from .metrics import normal_moment_penalty
from .seeding import keep_random_state, seeded  # noqa: F401 (their home is helpers.seeding)


def sum_dtype(device) -> torch.dtype:
    """The dtype of running sums kept on ``device``: float64 (as Python floats), or float32 where
    the device has no float64 (Apple's MPS)."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


DEVICES = "cpu, cuda, cuda:<index> or mps (unset: cuda, else mps, else cpu)"


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def device_from_env(value: str) -> torch.device:
    """``$EX3_DEVICE`` as a torch device this machine has; a ValueError in one line naming the
    variable and what it may be otherwise (torch's own error names neither)."""
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"EX3_DEVICE={value!r} is not a device: it must be {DEVICES}")
    present = {"cpu": True, "mps": _mps_available(),
               "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()}
    if not present[device.type]:
        raise ValueError(f"EX3_DEVICE={value!r}: this machine has no such device (it must be {DEVICES})")
    return device


def default_device(verbose: bool = False) -> torch.device:
    """cuda > mps > cpu, overridable with ``$EX3_DEVICE``."""
    if env("EX3_DEVICE"):
        device = device_from_env(env("EX3_DEVICE"))
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif _mps_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if verbose:
        extra = torch.cuda.get_device_name(device) if device.type == "cuda" else \
            f"{torch.get_num_threads()} CPU threads"
        print(f"device: {device} ({extra}), torch {torch.__version__}", file=sys.stderr)
    return device


@dataclass
class History:
    """Per-epoch metrics: ``history.rows`` is a list of dicts, one per epoch."""

    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def log(self, **values) -> None:
        self.rows.append(values)

    def column(self, key: str) -> list:
        return [r[key] for r in self.rows if key in r]

    def last(self, key: str):
        return self.column(key)[-1]

    def to_dict(self) -> dict:
        return {"rows": self.rows, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(rows=list(d["rows"]), seconds=float(d["seconds"]))


def adam_optimizer(params, lr: float, device, decoupled: bool = False, **kwargs) -> torch.optim.Optimizer:
    """Adam (or AdamW with ``decoupled``) with the fused single-kernel update where the device
    supports it: on small networks the per-parameter update loop is a large share of a step."""
    fused = torch.device(device).type in ("cpu", "cuda")
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    return cls(params, lr=lr, fused=fused or None, **kwargs)


def _progress(iterable, desc: str, total: int | None = None, enabled: bool = True):
    return tqdm(iterable, desc=desc, total=total, leave=False, disable=not enabled,
                mininterval=1.0)


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x


@torch.no_grad()
def reconstruction_loss(model: nn.Module, images: torch.Tensor, batch_size: int = 1000,
                        input_noise: float = 0.0, seed: int = 0) -> dict:
    """Mean per-pixel MSE, BCE and PSNR (dB, peak 1) of ``model``'s reconstructions of ``images``;
    with ``input_noise`` the model sees the images plus seeded Gaussian noise of that std and is
    scored against the clean images (denoising)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    # sums stay on the device and are read once at the end
    se, bce, psnr = (torch.zeros((), dtype=sum_dtype(images.device), device=images.device) for _ in range(3))
    n = 0
    for idx in batch_indices(len(images), batch_size, shuffle=False, device=images.device):
        x = _channels_last(images[idx])
        seen = x + input_noise * torch.randn(x.shape, generator=gen).to(x.device) if input_noise > 0 else x
        logits = model.decoder.logits(model.encoder(seen))
        recon = torch.sigmoid(logits)
        per_image_mse = (recon - x).pow(2).flatten(1).mean(1)
        se += per_image_mse.sum().to(se.dtype)
        bce += F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).mean(1).sum().to(se.dtype)
        psnr += (-10 * torch.log10(per_image_mse.clamp_min(1e-10))).sum().to(se.dtype)
        n += len(idx)
    se, bce, psnr = torch.stack([se, bce, psnr]).tolist()
    return {"mse": se / n, "bce": bce / n, "psnr": psnr / n}


def autoencoder_step(model: nn.Module, opt: torch.optim.Optimizer, images: torch.Tensor, spec,
                     gen: torch.Generator) -> torch.Tensor:
    """One update of an autoencoder on a batch of ``images``, as ``spec`` (an
    :class:`~helpers.specs.AutoencoderSpec`) says: reconstruct them, from a noisy copy for a
    denoising spec, under per-pixel BCE, plus the code penalty if any. Returns the loss."""
    x = images
    if spec.input_noise > 0:
        x = images + spec.input_noise * torch.randn(images.shape, generator=gen).to(images.device)
    codes = model.encoder(x)
    loss = F.binary_cross_entropy_with_logits(model.decoder.logits(codes), images)
    if spec.code_penalty > 0:  # codes pushed towards N(0, I): a generator without a GAN (extras)
        loss = loss + spec.code_penalty * normal_moment_penalty(codes)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def train_autoencoder(model: nn.Module, spec, train_images: torch.Tensor, test_images: torch.Tensor,
                      progress: bool = True) -> History:
    """Train ``model`` (an autoencoder: ``encoder``, ``decoder.logits``) on ``train_images`` as
    ``spec`` (an :class:`~helpers.specs.AutoencoderSpec`) says: :func:`autoencoder_step` on
    seeded batches, Adam with a one-cycle learning-rate schedule up to ``spec.lr`` (AdamW,
    decoupled, when ``spec.weight_decay`` > 0), for ``spec.epochs``. Returns per-epoch train loss
    and test MSE/BCE/PSNR."""
    device = train_images.device
    with seeded(spec.seed) as gen:  # seeding local to this call
        model.to(device).to(memory_format=torch.channels_last)
        opt = adam_optimizer(model.parameters(), spec.lr, device, decoupled=True, weight_decay=spec.weight_decay) \
            if spec.weight_decay > 0 else adam_optimizer(model.parameters(), spec.lr, device)
        per_epoch = -(-len(train_images) // spec.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=max(1, spec.epochs * per_epoch),
                                                    pct_start=0.15)
        history, start = History(), time.perf_counter()
        for epoch in _progress(range(spec.epochs), "AE epochs", enabled=progress):
            model.train()
            total, count = torch.zeros((), dtype=sum_dtype(device), device=device), 0
            batches = batch_indices(len(train_images), spec.batch_size, gen, device=device)
            for idx in _progress(batches, f"epoch {epoch + 1}", per_epoch, enabled=progress):
                loss = autoencoder_step(model, opt, _channels_last(train_images[idx]), spec, gen)
                sched.step()
                total += loss.to(total.dtype) * len(idx)  # summed on the device: no sync per step
                count += len(idx)
            test = reconstruction_loss(model, test_images)
            history.log(epoch=epoch + 1, train_loss=total.item() / count,
                        **{f"test_{k}": v for k, v in test.items()})
        history.seconds = time.perf_counter() - start
        model.eval()
        return history


@torch.no_grad()
def latent_codes(encoder: nn.Module, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Encode ``images`` in evaluation mode, batch by batch; returns (N, latent_dim)."""
    encoder.eval()
    out = [encoder(_channels_last(images[i:i + batch_size])) for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0, encoder.latent_dim)


def in_batches(fn, *inputs: torch.Tensor | None, batch_size: int):
    """``fn`` applied to consecutive slices of ``batch_size`` rows of ``inputs`` (the same rows of
    each; ``None`` is passed on as is), the outputs concatenated: inference on more rows than fit
    in memory at once. An ``fn`` returning a tuple gives the tuple of its concatenated parts."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(next(x for x in inputs if x is not None))
    outs = [fn(*(None if x is None else x[i:i + batch_size] for x in inputs)) for i in range(0, n, batch_size)]
    if outs and isinstance(outs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outs))
    return torch.cat(outs)


@torch.no_grad()
def decode(decoder: nn.Module, codes: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    decoder.eval()
    return in_batches(decoder, codes, batch_size=batch_size)


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 2000) -> float:
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=images.device)
    for i in range(0, len(images), batch_size):
        correct += (model(_channels_last(images[i:i + batch_size])).argmax(1) == labels[i:i + batch_size]).sum()
    return correct.item() / len(images)


def classifier_step(model: nn.Module, opt: torch.optim.Optimizer, images: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
    """One update of a classifier on a batch: the cross-entropy of its logits for the true labels."""
    loss = F.cross_entropy(model(images), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int,
                     lr: float = 1e-3, weight_decay: float = 0.0, batch_size: int = 128,
                     param_groups: list[dict] | None = None, seed: int = 0,
                     eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
                     eval_every: int = 1, schedule: str = "constant",
                     progress: bool = True) -> History:
    """:func:`classifier_step` over seeded batches, with AdamW at a constant learning rate or with a one-cycle
    schedule (``schedule="onecycle"``). ``param_groups`` overrides which parameters train
    (e.g. a frozen encoder is simply left out, a fine-tuned one gets a smaller lr).
    ``eval_sets`` maps a name to (images, labels), evaluated every ``eval_every`` epochs."""
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (>0), got {len(images)} and {len(labels)}")
    with seeded(seed) as gen:  # seeding local to this call
        model.to(images.device)
        if images.ndim == 4:
            model.to(memory_format=torch.channels_last)
        groups = param_groups or [{"params": [p for p in model.parameters() if p.requires_grad]}]
        if schedule not in ("constant", "onecycle"):
            raise ValueError(f"schedule must be 'constant' or 'onecycle', got {schedule!r}")
        opt = adam_optimizer(groups, lr, images.device, decoupled=True, weight_decay=weight_decay)
        sched = None
        if schedule == "onecycle":
            steps = max(1, epochs * -(-len(images) // batch_size))
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g.get("lr", lr) for g in opt.param_groups],
                                                        total_steps=steps, pct_start=0.15)
        history, start = History(), time.perf_counter()
        for epoch in _progress(range(epochs), "classifier epochs", enabled=progress):
            model.train()
            total, count = torch.zeros((), dtype=sum_dtype(images.device), device=images.device), 0
            for idx in batch_indices(len(images), batch_size, gen, device=images.device):
                loss = classifier_step(model, opt, _channels_last(images[idx]), labels[idx])
                if sched is not None:
                    sched.step()
                total += loss.to(total.dtype) * len(idx)  # summed on the device: no sync per step
                count += len(idx)
            if eval_sets and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
                row = {"epoch": epoch + 1, "train_loss": total.item() / count}
                for name, (x, y) in eval_sets.items():
                    row.update(_loss_and_accuracy(model, x, y, prefix=name))
                history.log(**row)
        history.seconds = time.perf_counter() - start
        model.eval()
        return history


@torch.no_grad()
def _loss_and_accuracy(model, images, labels, prefix: str, batch_size: int = 2000) -> dict:
    model.eval()
    loss = torch.zeros((), dtype=sum_dtype(images.device), device=images.device)
    correct = torch.zeros((), dtype=torch.long, device=images.device)
    for i in range(0, len(images), batch_size):
        logits = model(_channels_last(images[i:i + batch_size]))
        y = labels[i:i + batch_size]
        loss += F.cross_entropy(logits, y, reduction="sum").to(loss.dtype)
        correct += (logits.argmax(1) == y).sum()
    model.train()
    return {f"{prefix}_loss": loss.item() / len(images), f"{prefix}_acc": correct.item() / len(images)}
