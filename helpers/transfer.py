"""Q3 transfer learning: classify digits from a few labels with an encoder + small MLP head.

Arms: ``frozen`` (pretrained encoder fixed, head trained), ``scratch`` (same architecture,
random init, everything trained) and ``finetune`` (pretrained encoder trained too, with a
smaller learning rate). Codes are standardised with statistics of unlabelled training images.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import random_affine
from .models import Encoder, EncoderClassifier
from .seeding import seeded
from .training import accuracy, latent_codes, sum_dtype, train_classifier

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


class HiddenFeatures(nn.Module):
    """A frozen encoder's last hidden layer (the flattened conv map when it has no FC layers):
    what it computes just before the linear map to its code, offered to the head in place of the
    code. ``latent_dim`` is that layer's width, so the frozen arm's machinery applies unchanged."""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder
        self.latent_dim = encoder.fc[-1].in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.fc[:-1](self.encoder.conv(x).flatten(1))


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
    with seeded(seed):
        if arm == "scratch":
            encoder = Encoder(pretrained.latent_dim, pretrained.channels, pretrained.fc_layers,
                              pretrained.fc_width)
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


class _StackedHeads:
    """K copies of one MLP head (Linear layers with LeakyReLU(0.2) between) with their weights in
    one flat (K, P) tensor, trained together: forward, backward and AdamW written out as batched
    matrix products, without autograd, because at this size per-operation overhead is the cost."""

    def __init__(self, heads: list[nn.Sequential]):
        shapes = [tuple(m.weight.shape) for m in heads[0] if isinstance(m, nn.Linear)]
        for h in heads:
            if any(isinstance(m, nn.Dropout) for m in h):
                raise ValueError("batched heads need dropout 0 (dropout draws would differ from one-by-one runs)")
            layers = list(h)
            if not (len(layers) % 2 and all(isinstance(m, nn.Linear) for m in layers[0::2])
                    and all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in layers[1::2])):
                raise ValueError("batched heads must be Linear layers with LeakyReLU(0.2) between them")
            if [tuple(m.weight.shape) for m in h if isinstance(m, nn.Linear)] != shapes:
                raise ValueError("batched heads must all have the same layer sizes")
        self.shapes = shapes
        self.theta = torch.stack([torch.cat([t.detach().flatten() for m in h if isinstance(m, nn.Linear)
                                             for t in (m.weight, m.bias)]) for h in heads])

    def layers(self, flat: torch.Tensor):
        """(weight (K, out, in), bias (K, out)) views of a (K, P) tensor laid out like ``theta``."""
        k, offset = flat.shape[0], 0
        for out_f, in_f in self.shapes:
            w = flat[:, offset:offset + out_f * in_f].view(k, out_f, in_f)
            offset += out_f * in_f
            yield w, flat[:, offset:offset + out_f]
            offset += out_f

    def logits(self, x: torch.Tensor, flat: torch.Tensor, keep: list | None = None) -> torch.Tensor:
        """x (K, B, in) -> logits (K, B, classes); ``keep`` collects each layer's input and
        pre-activation for :meth:`gradient`."""
        layers = list(self.layers(flat))
        for i, (w, b) in enumerate(layers):
            h = torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))
            if keep is not None:
                keep.append((x, h))
            x = F.leaky_relu(h, 0.2) if i < len(layers) - 1 else h
        return x

    def gradient(self, x, targets, weights, flat) -> torch.Tensor:
        """Gradient (K, P) of each copy's weighted cross-entropy sum(weights * CE) over its batch."""
        keep: list = []
        logits = self.logits(x, flat, keep)
        d_out = torch.softmax(logits, -1)
        d_out.scatter_add_(-1, targets.unsqueeze(-1), -torch.ones_like(d_out[..., :1]))
        d_out.mul_(weights.unsqueeze(-1))
        grad = torch.empty_like(flat)
        layers, grads = list(self.layers(flat)), list(self.layers(grad))
        for i in reversed(range(len(layers))):
            a, h = keep[i]
            if i < len(layers) - 1:  # through the LeakyReLU after layer i
                d_out = (h > 0).to(h.dtype).mul_(0.8).add_(0.2).mul_(d_out)  # 1 where h > 0, else 0.2
            grads[i][0].copy_(torch.bmm(d_out.transpose(1, 2), a))
            grads[i][1].copy_(d_out.sum(1))
            if i:
                d_out = torch.bmm(d_out, layers[i][0])
        return grad

    def copy_into(self, heads: list[nn.Sequential]) -> None:
        with torch.no_grad():
            for h, row in zip(heads, self.theta):
                linears = [m for m in h if isinstance(m, nn.Linear)]
                for m, (w, b) in zip(linears, self.layers(row.unsqueeze(0))):
                    m.weight.copy_(w[0])
                    m.bias.copy_(b[0])


def _adamw_(theta, grad, avg, avg_sq, steps, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8) -> None:
    """torch.optim.AdamW's update (its defaults), in place, one row per copy; ``steps`` (K, 1)
    counts each copy's updates including this one."""
    beta1, beta2 = betas
    theta.mul_(1 - lr * weight_decay)
    avg.lerp_(grad, 1 - beta1)
    avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    correction1 = (1 - beta1 ** steps).to(theta.dtype)
    correction2 = (1 - beta2 ** steps).to(theta.dtype)
    denom = (avg_sq.sqrt() / correction2.sqrt()).add_(eps)
    theta.sub_(avg / denom * (lr / correction1))


def train_frozen_heads(models: list[EncoderClassifier], codes: list[torch.Tensor], labels: list[torch.Tensor],
                       seeds: list[int], settings: HeadSettings, progress: bool = True) -> None:
    """Train the heads of many frozen-arm classifiers at once, in place: copy k learns from the
    (precomputed) ``codes[k]`` and ``labels[k]`` with its own seed, exactly as
    :func:`run_arm` ("frozen") trains it alone (same initial weights, batches and AdamW updates;
    a test checks equality to float tolerance), but as one batched computation.

    Label sets may differ in size: copies are ordered by batches per epoch, so at each step the
    copies that still have a batch in this epoch are a prefix of the stack."""
    from tqdm.auto import tqdm

    if not (len(models) == len(codes) == len(labels) == len(seeds)) or not models:
        raise ValueError("need one code set, label set and seed per model (and at least one model)")
    sizes, batch = [len(c) for c in codes], settings.batch_size
    if min(sizes) == 0 or any(len(c) != len(y) for c, y in zip(codes, labels)):
        raise ValueError(f"need as many labels as codes (>0) per model, got {sizes} and {[len(y) for y in labels]}")
    order = sorted(range(len(models)), key=lambda i: -sizes[i])
    models, codes, labels, seeds, sizes = ([xs[i] for i in order] for xs in (models, codes, labels, seeds, sizes))
    device, k = codes[0].device, len(models)
    heads = _StackedHeads([m.head for m in models])
    inputs = torch.zeros(k, sizes[0], codes[0].shape[1], device=device)
    targets = torch.zeros(k, sizes[0], dtype=torch.long, device=device)
    for i, (m, c, y) in enumerate(zip(models, codes, labels)):
        inputs[i, :len(c)] = m.standardise(c)
        targets[i, :len(c)] = y
    gens = [torch.Generator().manual_seed(s) for s in seeds]  # as train_classifier's seeded(seed)
    batches = [-(-n // batch) for n in sizes]
    active = [sum(b > j for b in batches) for j in range(batches[0])]  # copies with a j-th batch
    per_epoch = torch.tensor(batches, dtype=sum_dtype(device), device=device)
    theta, avg, avg_sq = heads.theta, torch.zeros_like(heads.theta), torch.zeros_like(heads.theta)
    lr = settings.lr
    rows = torch.arange(k, device=device).unsqueeze(1)
    weight = torch.zeros(k, batches[0] * batch)  # each batch's mean loss, as F.cross_entropy's default
    for i, n in enumerate(sizes):
        for j in range(0, n, batch):
            weight[i, j:min(j + batch, n)] = 1 / min(batch, n - j)
    weight = weight.to(device)
    for epoch in tqdm(range(settings.epochs), desc=f"{k} frozen-encoder heads at once", disable=not progress,
                      leave=False, mininterval=1.0):
        perm = torch.zeros(k, batches[0] * batch, dtype=torch.long)  # padding: index 0 with weight 0
        for i, (n, g) in enumerate(zip(sizes, gens)):
            perm[i, :n] = torch.randperm(n, generator=g)
        perm = perm.to(device)
        for j, n_active in enumerate(active):
            cols = slice(j * batch, (j + 1) * batch)
            idx, r = perm[:n_active, cols], rows[:n_active]
            flat = theta[:n_active]
            grad = heads.gradient(inputs[r, idx], targets[r, idx], weight[:n_active, cols], flat)
            steps = (epoch * per_epoch[:n_active] + j + 1).unsqueeze(1)  # each copy's update count
            _adamw_(flat, grad, avg[:n_active], avg_sq[:n_active], steps, lr, settings.weight_decay)
    heads.copy_into([m.head for m in models])
    for m in models:
        m.eval()


def frozen_arm_batched(pretrained: Encoder, jobs: list[tuple[torch.Tensor, torch.Tensor, int]],
                       settings: HeadSettings, unlabelled: torch.Tensor, test_codes: torch.Tensor,
                       test_labels: torch.Tensor, pretrained_stats=None, progress: bool = True):
    """The frozen arm for many ``(images, labels, seed)`` jobs at once; returns
    ``[(model, test_accuracy), ...]`` in job order, as :func:`run_arm` would one by one."""
    stats = pretrained_stats if pretrained_stats is not None else code_statistics(pretrained, unlabelled)
    models = [build_classifier("frozen", pretrained, settings, seed, unlabelled, stats) for _, _, seed in jobs]
    codes = [latent_codes(pretrained, images) for images, _, _ in jobs]
    train_frozen_heads(models, codes, [y for _, y, _ in jobs], [seed for _, _, seed in jobs], settings, progress)
    return [(m, accuracy(_CodeHead(m), test_codes, test_labels)) for m in models]


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



def _finetune_after_head(model: EncoderClassifier, images, labels, test_images, test_labels,
                         settings: HeadSettings, seed: int, curve_every: int = 0):
    """Second phase of the head-then-finetune arm: ``model``'s head was trained on the frozen
    encoder; now everything trains, the encoder at a small learning rate, so the head's first,
    random gradients never reached the pretrained features."""
    for p in model.encoder.parameters():
        p.requires_grad_(True)
    groups = [{"params": list(model.head.parameters())},
              {"params": list(model.encoder.parameters()), "lr": settings.encoder_lr}]
    evals = {"train": (images, labels), "test": (test_images, test_labels)} if curve_every else None
    history = train_classifier(model, images, labels, settings.epochs, lr=settings.lr,
                               weight_decay=settings.weight_decay, batch_size=settings.batch_size, seed=seed,
                               param_groups=groups, eval_sets=evals, eval_every=curve_every or 1, progress=False)
    return model, accuracy(model, test_images, test_labels), history


def _frozen_runs(encoder, jobs, settings, unlabelled, test_images, test_labels, stats, test_codes, progress):
    """The frozen arm for ``[(images, labels, seed), ...]``: one batched training, or one by one
    when the head uses dropout (its random masks could not match the one-by-one runs)."""
    if settings.dropout > 0:
        return [run_arm("frozen", encoder, x, y, test_images, test_labels, settings, unlabelled, seed=seed,
                        test_codes=test_codes, pretrained_stats=stats)[:2] for x, y, seed in jobs]
    return frozen_arm_batched(encoder, jobs, settings, unlabelled, test_codes, test_labels, stats, progress)


def run_protocol(encoder: Encoder, data, budgets, subsets, arms=ARMS, settings: HeadSettings = HeadSettings(),
                 n_unlabelled: int = 5000, progress: bool = True):
    """Every (label budget, labelled subset, arm): train on a class-balanced subset of the
    training images (subset s drawn with seed s, the same for every arm), test on all test
    images. Returns a DataFrame with columns labels, subset, arm, test_acc.

    The frozen arm's heads are trained all at once (:func:`train_frozen_heads`); the
    head-then-finetune arm continues from those same trained heads."""
    import pandas as pd
    from tqdm.auto import tqdm

    unknown = set(arms) - set(ARMS)
    if unknown:
        raise ValueError(f"arms must be among {ARMS}, got {sorted(unknown)}")
    unlabelled = data.train.images[:n_unlabelled]  # only to standardise the codes; labels unused
    stats = code_statistics(encoder, unlabelled)
    test_codes = latent_codes(encoder, data.test.images)
    pairs = [(b, s) for b in budgets for s in subsets]
    labelled = {}
    for budget, subset in pairs:
        idx = balanced_subset(data.train.labels, budget, seed=subset).to(data.train.images.device)
        labelled[budget, subset] = (data.train.images[idx], data.train.labels[idx])
    frozen = {}
    if {"frozen", "head-then-finetune"} & set(arms):
        runs = _frozen_runs(encoder, [(*labelled[p], p[1]) for p in pairs], settings, unlabelled,
                            data.test.images, data.test.labels, stats, test_codes, progress)
        frozen = dict(zip(pairs, runs))
    acc = {(b, s, "frozen"): frozen[b, s][1] for b, s in pairs} if "frozen" in arms else {}
    jobs = [(b, s, a) for b, s in pairs for a in arms if a != "frozen"]
    for budget, subset, arm in tqdm(jobs, desc="few-label runs", disable=not progress or not jobs):
        images, labels = labelled[budget, subset]
        if arm == "head-then-finetune":
            _, acc[budget, subset, arm], _ = _finetune_after_head(frozen[budget, subset][0], images, labels,
                                                                  data.test.images, data.test.labels, settings,
                                                                  seed=subset)
        else:
            _, acc[budget, subset, arm], _ = run_arm(arm, encoder, images, labels, data.test.images,
                                                     data.test.labels, settings, unlabelled, seed=subset,
                                                     pretrained_stats=stats)
    return pd.DataFrame([{"labels": b, "subset": s, "arm": a, "test_acc": acc[b, s, a]}
                         for b, s in pairs for a in arms])


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


def stratified_folds(labels: torch.Tensor, folds: int) -> torch.Tensor:
    """The fold (0 .. folds - 1) of each example: every class dealt evenly over the folds, and the
    folds as even in size as the classes allow."""
    labels = labels.cpu()
    fold, offset = torch.empty(len(labels), dtype=torch.long), 0
    for c in labels.unique():  # each class continues where the last one stopped, so the folds stay even
        members = (labels == c).nonzero().flatten()
        fold[members] = (torch.arange(len(members)) + offset) % folds
        offset += len(members)
    return fold


def frozen_variants(encoder: Encoder, data, budgets, subsets, variants: dict[str, tuple[bool, int]],
                    settings: HeadSettings = HeadSettings(), folds: int = 5, n_unlabelled: int = 5000,
                    progress: bool = True):
    """The frozen arm in each variant ``{name: (hidden_layer, copies)}``: the head reads the code
    or, with ``hidden_layer``, the encoder's last hidden layer (:class:`HiddenFeatures`), and
    trains on the labelled images plus ``copies`` randomly moved versions of each
    (:func:`~helpers.data.random_affine`, through the frozen encoder) for
    ``settings.epochs / (copies + 1)`` epochs: about as many examples seen as without copies.
    Each (budget, subset) is scored by ``folds``-fold cross-validation inside its labelled images
    (no test label involved) and on the test set. Returns a DataFrame: variant, labels, subset,
    cv_acc, test_acc."""
    from collections import defaultdict
    from dataclasses import replace

    import pandas as pd

    unlabelled = data.train.images[:n_unlabelled]
    layers = {}  # per layer read: the feature module, its statistics and the test images' features
    for hidden_layer in {h for h, _ in variants.values()}:
        features = HiddenFeatures(encoder) if hidden_layer else encoder
        layers[hidden_layer] = (features, code_statistics(features, unlabelled),
                                latent_codes(features, data.test.images))
    rows = []
    for name, (hidden_layer, copies) in variants.items():
        features, stats, test_features = layers[hidden_layer]
        jobs, held_out = [], []
        for budget in budgets:
            for subset in subsets:
                idx = balanced_subset(data.train.labels, budget, seed=subset).to(data.train.images.device)
                x, y = data.train.images[idx], data.train.labels[idx]
                if torch.bincount(y.cpu()).min() < folds:
                    raise ValueError(f"{folds}-fold cross-validation needs at least {folds} labelled images per "
                                     f"class; a budget of {budget} has fewer")
                fold = stratified_folds(y, folds).to(x.device)
                gen = torch.Generator().manual_seed(subset)
                for f in [*range(folds), None]:  # None: all labelled images, scored on the test set
                    train = fold != f if f is not None else torch.ones_like(fold, dtype=torch.bool)
                    jobs.append((random_affine(x[train], copies, gen), y[train].repeat(copies + 1), subset))
                    held_out.append((budget, subset, None if f is None else (x[~train], y[~train])))
        per_copy = replace(settings, epochs=max(1, round(settings.epochs / (copies + 1))))
        runs = frozen_arm_batched(features, jobs, per_copy, unlabelled, test_features, data.test.labels, stats, progress)
        correct, test_acc = defaultdict(float), {}
        for (budget, subset, fold_images), (model, acc) in zip(held_out, runs):
            if fold_images is None:
                test_acc[budget, subset] = acc
            else:
                correct[budget, subset] += accuracy(model, *fold_images) * len(fold_images[1])
        rows += [{"variant": name, "labels": b, "subset": s, "cv_acc": correct[b, s] / b, "test_acc": acc}
                 for (b, s), acc in test_acc.items()]
    return pd.DataFrame(rows)
