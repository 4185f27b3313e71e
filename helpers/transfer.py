"""Q3 transfer learning: classify digits from a few labels with an encoder + small MLP head.

Arms: ``frozen`` (pretrained encoder fixed, head trained), ``scratch`` (same architecture,
random init, everything trained) and ``finetune`` (pretrained encoder trained too, with a
smaller learning rate). Codes are standardised with statistics of unlabelled training images.
The frozen arm's many small heads train together (:func:`train_frozen_heads`), as one batched
computation written out by hand: ``torch.func`` (``vmap(grad(...))`` over stacked heads with
``torch.optim.AdamW``) gives the same heads but took 3.4 s against 0.94 s for the report's 25
trainings (7.3 s one by one), its per-operation overhead dominating at this size.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import random_affine
from .models import Encoder, EncoderClassifier
from .seeding import seeded
from .specs import EvaluatorSpec, HeadSpec
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


def code_statistics(encoder: nn.Module, unlabelled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std (floored at 1e-6) of ``encoder``'s codes of ``unlabelled`` images."""
    codes = latent_codes(encoder, unlabelled)
    return codes.mean(0), codes.std(0).clamp_min(1e-6)


@dataclass
class Features:
    """What every arm needs of one pretrained feature map (the encoder, or its last hidden layer),
    computed once: the ``module``, the ``unlabelled`` images that standardise its outputs, their
    ``mean`` and ``std``, and the ``test_codes``, its outputs for the test images."""

    module: nn.Module
    unlabelled: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    test_codes: torch.Tensor

    @classmethod
    def of(cls, module: nn.Module, unlabelled: torch.Tensor, test_images: torch.Tensor) -> "Features":
        mean, std = code_statistics(module, unlabelled)
        return cls(module, unlabelled, mean, std, latent_codes(module, test_images))


def build_classifier(arm: str, features: Features, settings: HeadSpec, seed: int) -> EncoderClassifier:
    """The arm's network with a fresh head (initialised from ``seed``): on a copy of the pretrained
    module (``frozen``: its weights fixed; ``finetune``), or on an encoder of the same shape with
    random weights (``scratch``, whose codes are standardised with their own statistics)."""
    if arm not in ARMS or arm == "head-then-finetune":
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    pretrained, device = features.module, features.unlabelled.device
    with seeded(seed):
        if arm == "scratch":
            encoder = Encoder(pretrained.latent_dim, pretrained.channels, fc_layers=pretrained.fc_layers,
                              fc_width=pretrained.fc_width)
        else:
            encoder = copy.deepcopy(pretrained)
        encoder.to(device)
        model = settings.build(encoder).to(device)
    mean, std = code_statistics(encoder, features.unlabelled) if arm == "scratch" else (features.mean, features.std)
    model.code_mean.copy_(mean)
    model.code_std.copy_(std)
    if arm == "frozen":
        for p in model.encoder.parameters():
            p.requires_grad_(False)
    return model


def run_arm(arm: str, features: Features, images: torch.Tensor, labels: torch.Tensor, test, settings: HeadSpec,
            seed: int = 0, curve_every: int = 0, progress: bool = False):
    """Train one arm on (images, labels), one network alone; test on ``test`` (its ``images`` and
    ``labels``); return ``(model, test_accuracy, history)``. ``curve_every`` > 0 also records train
    and test loss and accuracy every that many epochs. For the frozen arm the encoder runs once
    over the images (its output cannot change)."""
    model = build_classifier(arm, features, settings, seed)
    common = dict(lr=settings.lr, weight_decay=settings.weight_decay, batch_size=settings.batch_size, seed=seed,
                  progress=progress)
    if arm == "frozen":
        head, codes = _CodeHead(model), latent_codes(model.encoder, images)
        evals = {"train": (codes, labels), "test": (features.test_codes, test.labels)} if curve_every else None
        history = train_classifier(head, codes, labels, settings.epochs, eval_sets=evals, eval_every=curve_every or 1,
                                   param_groups=[{"params": list(model.head.parameters())}], **common)
        return model, accuracy(head, features.test_codes, test.labels), history
    groups = [{"params": list(model.head.parameters())},
              {"params": list(model.encoder.parameters()),
               "lr": settings.encoder_lr if arm == "finetune" else settings.lr}]
    evals = {"train": (images, labels), "test": (test.images, test.labels)} if curve_every else None
    history = train_classifier(model, images, labels, settings.epochs, param_groups=groups,
                               eval_sets=evals, eval_every=curve_every or 1, **common)
    return model, accuracy(model, test.images, test.labels), history


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
                       seeds: list[int], settings: HeadSpec, progress: bool = True) -> None:
    """Train the heads of many frozen-arm classifiers at once, in place: copy k learns from the
    (precomputed) ``codes[k]`` and ``labels[k]`` with its own seed, exactly as
    :func:`run_arm` ("frozen") trains it alone (same initial weights, batches and AdamW updates;
    a test checks equality to float tolerance), but as one batched computation.

    Label sets may differ in size: copies are ordered by batches per epoch, so at each step the
    copies that still have a batch in this epoch are a prefix of the stack."""
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


def frozen_arm_batched(features: Features, jobs: list[tuple[torch.Tensor, torch.Tensor, int]], settings: HeadSpec,
                       test, progress: bool = True):
    """The frozen arm for many ``(images, labels, seed)`` jobs at once, tested on ``test``'s
    labels (their codes are ``features.test_codes``); returns ``[(model, test_accuracy), ...]`` in
    job order, as :func:`run_arm` would one by one (one by one it is, when the head has dropout:
    random masks could not match)."""
    if settings.dropout > 0:
        return [run_arm("frozen", features, x, y, test, settings, seed=seed)[:2] for x, y, seed in jobs]
    models = [build_classifier("frozen", features, settings, seed) for _, _, seed in jobs]
    codes = [latent_codes(features.module, images) for images, _, _ in jobs]
    train_frozen_heads(models, codes, [y for _, y, _ in jobs], [seed for _, _, seed in jobs], settings, progress)
    return [(m, accuracy(_CodeHead(m), features.test_codes, test.labels)) for m in models]


def full_data_reference(pretrained: Encoder, data, recipe: EvaluatorSpec, unlabelled: torch.Tensor,
                        settings: HeadSpec = HeadSpec(), progress: bool = True):
    """Upper bound: the classifier (random init) trained on every label of ``data`` with the
    evaluator's recipe (``recipe``: epochs, one-cycle learning rate, batch size, seed) and the
    head's weight decay; returns ``(model, test_accuracy, history)``."""
    model = build_classifier("scratch", Features.of(pretrained, unlabelled, data.test.images), settings,
                             recipe.seed)
    history = train_classifier(model, data.train.images, data.train.labels, recipe.epochs, lr=recipe.lr,
                               weight_decay=settings.weight_decay, batch_size=recipe.batch_size, seed=recipe.seed,
                               schedule="onecycle", progress=progress)
    return model, accuracy(model, data.test.images, data.test.labels), history


def _finetune_after_head(model: EncoderClassifier, images, labels, test, settings: HeadSpec, seed: int,
                         curve_every: int = 0):
    """Second phase of the head-then-finetune arm: ``model``'s head was trained on the frozen
    encoder; now everything trains, the encoder at a small learning rate, so the head's first,
    random gradients never reached the pretrained features."""
    for p in model.encoder.parameters():
        p.requires_grad_(True)
    groups = [{"params": list(model.head.parameters())},
              {"params": list(model.encoder.parameters()), "lr": settings.encoder_lr}]
    evals = {"train": (images, labels), "test": (test.images, test.labels)} if curve_every else None
    history = train_classifier(model, images, labels, settings.epochs, lr=settings.lr,
                               weight_decay=settings.weight_decay, batch_size=settings.batch_size, seed=seed,
                               param_groups=groups, eval_sets=evals, eval_every=curve_every or 1, progress=False)
    return model, accuracy(model, test.images, test.labels), history


def run_protocol(encoder: Encoder, data, budgets, subsets, arms=ARMS, settings: HeadSpec = HeadSpec(),
                 n_unlabelled: int = 5000, progress: bool = True):
    """Every (label budget, labelled subset, arm): train on a class-balanced subset of the
    training images (subset s drawn with seed s, the same for every arm), test on all test
    images. Returns a DataFrame with columns labels, subset, arm, test_acc.

    The frozen arm's heads are trained all at once (:func:`train_frozen_heads`); the
    head-then-finetune arm continues from those same trained heads."""
    import pandas as pd

    unknown = set(arms) - set(ARMS)
    if unknown:
        raise ValueError(f"arms must be among {ARMS}, got {sorted(unknown)}")
    # the unlabelled images only standardise the codes: their labels are never read
    features = Features.of(encoder, data.train.images[:n_unlabelled], data.test.images)
    pairs = [(b, s) for b in budgets for s in subsets]
    labelled = {}
    for budget, subset in pairs:
        idx = balanced_subset(data.train.labels, budget, seed=subset).to(data.train.images.device)
        labelled[budget, subset] = (data.train.images[idx], data.train.labels[idx])
    frozen = {}
    if {"frozen", "head-then-finetune"} & set(arms):
        runs = frozen_arm_batched(features, [(*labelled[p], p[1]) for p in pairs], settings, data.test, progress)
        frozen = dict(zip(pairs, runs))
    acc = {(b, s, "frozen"): frozen[b, s][1] for b, s in pairs} if "frozen" in arms else {}
    jobs = [(b, s, a) for b, s in pairs for a in arms if a != "frozen"]
    for budget, subset, arm in tqdm(jobs, desc="few-label runs", disable=not progress or not jobs):
        images, labels = labelled[budget, subset]
        if arm == "head-then-finetune":
            _, acc[budget, subset, arm], _ = _finetune_after_head(frozen[budget, subset][0], images, labels,
                                                                  data.test, settings, seed=subset)
        else:
            _, acc[budget, subset, arm], _ = run_arm(arm, features, images, labels, data.test, settings, seed=subset)
    return pd.DataFrame([{"labels": b, "subset": s, "arm": a, "test_acc": acc[b, s, a]}
                         for b, s in pairs for a in arms])


def training_curves(encoder: Encoder, data, budget: int, arms, settings: HeadSpec = HeadSpec(),
                    subset: int = 0, points: int = 30, n_unlabelled: int = 5000) -> dict:
    """Train and test loss and accuracy during training, per arm, on one labelled subset:
    {arm: DataFrame(epoch, train_loss, test_loss, train_acc, test_acc)}."""
    import pandas as pd

    features = Features.of(encoder, data.train.images[:n_unlabelled], data.test.images)
    idx = balanced_subset(data.train.labels, budget, seed=subset).to(data.train.images.device)
    every = max(1, settings.epochs // points)
    return {arm: pd.DataFrame(run_arm(arm, features, data.train.images[idx], data.train.labels[idx], data.test,
                                      settings, seed=subset, curve_every=every)[2].rows) for arm in arms}


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
                    settings: HeadSpec = HeadSpec(), folds: int = 5, n_unlabelled: int = 5000,
                    progress: bool = True):
    """The frozen arm in each variant ``{name: (hidden_layer, copies)}``: the head reads the code
    or, with ``hidden_layer``, the encoder's last hidden layer (:class:`HiddenFeatures`), and
    trains on the labelled images plus ``copies`` randomly moved versions of each
    (:func:`~helpers.data.random_affine`, through the frozen encoder) for
    ``settings.epochs / (copies + 1)`` epochs: about as many examples seen as without copies.
    Each (budget, subset) is scored by ``folds``-fold cross-validation inside its labelled images
    (no test label involved) and on the test set. Returns a DataFrame: variant, labels, subset,
    cv_acc, test_acc."""
    from dataclasses import replace

    import pandas as pd

    unlabelled = data.train.images[:n_unlabelled]
    layers = {hidden_layer: Features.of(HiddenFeatures(encoder) if hidden_layer else encoder, unlabelled,
                                        data.test.images)
              for hidden_layer in {h for h, _ in variants.values()}}
    rows = []
    for name, (hidden_layer, copies) in variants.items():
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
        runs = frozen_arm_batched(layers[hidden_layer], jobs, per_copy, data.test, progress)
        correct, test_acc = defaultdict(float), {}
        for (budget, subset, fold_images), (model, acc) in zip(held_out, runs):
            if fold_images is None:
                test_acc[budget, subset] = acc
            else:
                correct[budget, subset] += accuracy(model, *fold_images) * len(fold_images[1])
        rows += [{"variant": name, "labels": b, "subset": s, "cv_acc": correct[b, s] / b, "test_acc": acc}
                 for (b, s), acc in test_acc.items()]
    return pd.DataFrame(rows)
