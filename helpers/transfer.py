"""Q3 transfer learning: classify digits from a few labels with an encoder + small MLP head.

Arms: ``frozen`` (pretrained encoder fixed, head trained), ``scratch`` (same architecture,
random init, everything trained) and ``finetune`` (pretrained encoder trained too, with a
smaller learning rate). Codes are standardised with statistics of unlabelled training images.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .models import Encoder, EncoderClassifier
from .training import History, train_classifier, accuracy, latent_codes, train_classifier

ARMS = ("frozen", "scratch", "finetune", "head-then-finetune")


def balanced_subset(labels: torch.Tensor, n: int, seed: int, n_classes: int = 10) -> torch.Tensor:
    """Indices of ``n`` examples, ``n // n_classes`` per class plus one more for ``n % n_classes``
    classes picked at random; deterministic for a seed."""
    labels = labels.cpu()
    if n < 1:
        raise ValueError(f"label budget must be >= 1, got {n}")
    if n > len(labels):
        raise ValueError(f"label budget {n} exceeds the {len(labels)} available examples")
    gen = torch.Generator().manual_seed(seed)
    per_class = torch.full((n_classes,), n // n_classes)
    per_class[torch.randperm(n_classes, generator=gen)[: n % n_classes]] += 1
    chosen = []
    for c in range(n_classes):
        pool = (labels == c).nonzero().flatten()
        if len(pool) < per_class[c]:
            raise ValueError(f"class {c} has {len(pool)} examples, {int(per_class[c])} needed")
        chosen.append(pool[torch.randperm(len(pool), generator=gen)[: per_class[c]]])
    index = torch.cat(chosen)
    return index[torch.randperm(len(index), generator=gen)]


@dataclass(frozen=True)
class HeadSettings:
    """Fixed up front (no tuning on the test set)."""

    hidden: tuple[int, ...] = (64,)
    dropout: float = 0.0
    lr: float = 1e-3
    encoder_lr: float = 1e-4  # fine-tune arm only
    weight_decay: float = 1e-4
    epochs: int = 300
    batch_size: int = 64

    def as_dict(self) -> dict:
        return asdict(self)


class _CodeHead(nn.Module):
    """The head of an EncoderClassifier applied to precomputed codes (frozen arm)."""

    def __init__(self, classifier: EncoderClassifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, codes):
        return self.classifier.classify_codes(codes)


def code_statistics(encoder: Encoder, unlabelled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std (floored at 1e-6) of ``encoder``'s codes of ``unlabelled`` images."""
    codes = latent_codes(encoder, unlabelled)
    return codes.mean(0), codes.std(0).clamp_min(1e-6)


def build_classifier(arm: str, pretrained: Encoder, settings: HeadSettings, seed: int,
                     unlabelled: torch.Tensor,
                     pretrained_stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> EncoderClassifier:
    """The arm's network, its code standardisation set from ``unlabelled`` images.
    ``pretrained_stats`` (from :func:`code_statistics` of ``pretrained``) saves re-encoding them
    for the frozen and fine-tune arms, which start from the pretrained encoder."""
    if arm not in ARMS or arm == "head-then-finetune":
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    torch.manual_seed(seed)
    if arm == "scratch":
        encoder = Encoder(pretrained.latent_dim, pretrained.channels, pretrained.fc_layers,
                          pretrained.fc[0].out_features if pretrained.fc_layers else 256)
    else:
        encoder = copy.deepcopy(pretrained)
    encoder.to(unlabelled.device)
    model = EncoderClassifier(encoder, settings.hidden, dropout=settings.dropout).to(unlabelled.device)
    mean, std = (pretrained_stats if arm != "scratch" and pretrained_stats is not None
                 else code_statistics(encoder, unlabelled))
    model.code_mean.copy_(mean)
    model.code_std.copy_(std)
    if arm == "frozen":
        for p in model.encoder.parameters():
            p.requires_grad_(False)
    return model


def run_arm(arm: str, pretrained: Encoder, images: torch.Tensor, labels: torch.Tensor,
            test_images: torch.Tensor, test_labels: torch.Tensor, settings: HeadSettings,
            unlabelled: torch.Tensor, seed: int = 0, curve_every: int = 0,
            test_codes: torch.Tensor | None = None,
            pretrained_stats: tuple[torch.Tensor, torch.Tensor] | None = None, progress: bool = False):
    """Train one arm on (images, labels); return ``(model, test_accuracy, history)``.

    ``curve_every`` > 0 also records train/test loss and accuracy every that many epochs.
    For the frozen arm the encoder runs once over the images (its output cannot change), and
    ``test_codes`` may pass the test images' codes to skip re-encoding them, and
    ``pretrained_stats`` the pretrained encoder's code statistics (see :func:`build_classifier`)."""
    model = build_classifier(arm, pretrained, settings, seed, unlabelled, pretrained_stats)
    common = dict(lr=settings.lr, weight_decay=settings.weight_decay,
                  batch_size=settings.batch_size, seed=seed, progress=progress)
    if arm == "frozen":
        head = _CodeHead(model)
        codes = latent_codes(model.encoder, images)
        test_codes = latent_codes(model.encoder, test_images) if test_codes is None else test_codes
        evals = {"train": (codes, labels), "test": (test_codes, test_labels)} if curve_every else None
        history = train_classifier(head, codes, labels, settings.epochs, eval_sets=evals,
                                   eval_every=curve_every or 1,
                                   param_groups=[{"params": list(model.head.parameters())}], **common)
        return model, accuracy(head, test_codes, test_labels), history
    groups = [{"params": list(model.head.parameters())},
              {"params": list(model.encoder.parameters()),
               "lr": settings.encoder_lr if arm == "finetune" else settings.lr}]
    evals = {"train": (images, labels), "test": (test_images, test_labels)} if curve_every else None
    history = train_classifier(model, images, labels, settings.epochs, param_groups=groups,
                               eval_sets=evals, eval_every=curve_every or 1, **common)
    return model, accuracy(model, test_images, test_labels), history


def full_data_reference(pretrained: Encoder, images, labels, test_images, test_labels,
                        epochs: int, unlabelled: torch.Tensor, seed: int = 0,
                        settings: HeadSettings = HeadSettings(), progress: bool = True):
    """Upper bound: the same network (random init) trained on every label (AdamW, one-cycle
    learning rate up to 3e-3, batches of 128); returns
    ``(model, test_accuracy, history)``."""
    model = build_classifier("scratch", pretrained, settings, seed, unlabelled)
    history = train_classifier(model, images, labels, epochs, lr=3e-3, weight_decay=settings.weight_decay,
                               batch_size=128, seed=seed, schedule="onecycle", progress=progress)
    return model, accuracy(model, test_images, test_labels), history



def _head_then_finetune(pretrained: Encoder, images, labels, test_images, test_labels, settings: HeadSettings,
                        unlabelled, seed: int, pretrained_stats, test_codes=None, curve_every: int = 0):
    """Train the head on the frozen encoder first, then everything with the encoder at a small
    learning rate: the head's first, random gradients never reach the pretrained features."""
    model, _, first = run_arm("frozen", pretrained, images, labels, test_images, test_labels, settings, unlabelled,
                              seed=seed, test_codes=test_codes, pretrained_stats=pretrained_stats,
                              curve_every=curve_every)
    for p in model.encoder.parameters():
        p.requires_grad_(True)
    groups = [{"params": list(model.head.parameters())},
              {"params": list(model.encoder.parameters()), "lr": settings.encoder_lr}]
    evals = {"train": (images, labels), "test": (test_images, test_labels)} if curve_every else None
    second = train_classifier(model, images, labels, settings.epochs, lr=settings.lr,
                              weight_decay=settings.weight_decay, batch_size=settings.batch_size, seed=seed,
                              param_groups=groups, eval_sets=evals, eval_every=curve_every or 1, progress=False)
    history = History(rows=first.rows + [{**r, "epoch": r["epoch"] + settings.epochs} for r in second.rows])
    return model, accuracy(model, test_images, test_labels), history


def run_protocol(encoder: Encoder, data, budgets, subsets, arms=ARMS, settings: HeadSettings = HeadSettings(),
                 n_unlabelled: int = 5000, progress: bool = True):
    """Every (label budget, labelled subset, arm): train on a class-balanced subset of the
    training images (subset s drawn with seed s, the same for every arm), test on all test
    images. Returns a DataFrame with columns labels, subset, arm, test_acc."""
    import pandas as pd
    from tqdm.auto import tqdm

    unlabelled = data.train.images[:n_unlabelled]  # only to standardise the codes; labels unused
    stats = code_statistics(encoder, unlabelled)
    test_codes = latent_codes(encoder, data.test.images)
    rows = []
    jobs = [(b, s, a) for b in budgets for s in subsets for a in arms]
    for budget, subset, arm in tqdm(jobs, desc="few-label runs", disable=not progress):
        idx = balanced_subset(data.train.labels, budget, seed=subset).to(data.train.images.device)
        args = (encoder, data.train.images[idx], data.train.labels[idx], data.test.images, data.test.labels,
                settings, unlabelled)
        if arm == "head-then-finetune":
            _, acc, _ = _head_then_finetune(*args, seed=subset, pretrained_stats=stats, test_codes=test_codes)
        else:
            _, acc, _ = run_arm(arm, *args, seed=subset, test_codes=test_codes if arm == "frozen" else None,
                                pretrained_stats=stats)
        rows.append({"labels": budget, "subset": subset, "arm": arm, "test_acc": acc})
    return pd.DataFrame(rows)


def training_curves(encoder: Encoder, data, budget: int, arms, settings: HeadSettings = HeadSettings(),
                    subset: int = 0, points: int = 30, n_unlabelled: int = 5000) -> dict:
    """Train and test loss and accuracy during training, per arm, on one labelled subset:
    {arm: DataFrame(epoch, train_loss, test_loss, train_acc, test_acc)}."""
    import pandas as pd

    unlabelled = data.train.images[:n_unlabelled]
    stats = code_statistics(encoder, unlabelled)
    idx = balanced_subset(data.train.labels, budget, seed=subset).to(data.train.images.device)
    out = {}
    for arm in arms:
        _, _, history = run_arm(arm, encoder, data.train.images[idx], data.train.labels[idx], data.test.images,
                                data.test.labels, settings, unlabelled, seed=subset,
                                curve_every=max(1, settings.epochs // points), pretrained_stats=stats)
        out[arm] = pd.DataFrame(history.rows)
    return out
