import pytest
import torch

from helpers.models import Encoder
from helpers.specs import HeadSpec
from helpers.transfer import Features, balanced_subset, build_classifier, code_statistics, run_arm


def test_balanced_subset_counts_determinism_and_errors(mnist_small):
    train, _ = mnist_small
    idx = balanced_subset(train.labels, 30, seed=0)
    counts = torch.bincount(train.labels[idx], minlength=10)
    assert counts.tolist() == [3] * 10 and len(set(idx.tolist())) == 30
    assert torch.equal(idx, balanced_subset(train.labels, 30, seed=0))
    assert not torch.equal(idx, balanced_subset(train.labels, 30, seed=1))
    odd = torch.bincount(train.labels[balanced_subset(train.labels, 25, seed=0)], minlength=10)
    assert odd.sum() == 25 and odd.max() - odd.min() <= 1
    assert idx.max() < len(train.labels)  # indices into the training split only
    with pytest.raises(ValueError, match="exceeds"):
        balanced_subset(train.labels, 10_000, seed=0)
    with pytest.raises(ValueError, match=">= 1"):
        balanced_subset(train.labels, 0, seed=0)


@pytest.mark.parametrize("arm", ["frozen", "finetune", "scratch"])
def test_arms_train_what_they_should(arm, mnist_small):
    train, test = mnist_small
    torch.manual_seed(0)
    pretrained = Encoder(6, fc_layers=1, fc_width=32)
    before = {k: v.clone() for k, v in pretrained.state_dict().items()}
    idx = balanced_subset(train.labels, 40, seed=0)
    features = Features.of(pretrained, train.images[:128], test.images)
    model, acc, hist = run_arm(arm, features, train.images[idx], train.labels[idx], test,
                               HeadSpec(hidden=(16,), epochs=5), curve_every=1)
    assert 0 <= acc <= 1 and len(hist.rows) == 5
    # the caller's encoder is never modified
    assert all(torch.equal(before[k], v) for k, v in pretrained.state_dict().items())
    changed = any(not torch.equal(before[k], v) for k, v in model.encoder.state_dict().items())
    assert changed == (arm != "frozen")


@pytest.mark.parametrize("arm", ["frozen", "finetune", "scratch"])
def test_features_standardise_the_pretrained_arms_and_not_the_scratch_one(arm, mnist_small):
    """The frozen and fine-tuned arms standardise codes with the pretrained encoder's statistics,
    computed once in Features; the scratch arm's random encoder gets its own."""
    train, test = mnist_small
    torch.manual_seed(5)  # not the seed the arms build with: the scratch encoder differs
    pretrained = Encoder(6, fc_layers=1, fc_width=32)
    unlabelled = train.images[:128]
    features = Features.of(pretrained, unlabelled, test.images)
    mean, std = code_statistics(pretrained, unlabelled)
    assert torch.equal(features.mean, mean) and torch.equal(features.std, std)
    model = build_classifier(arm, features, HeadSpec(hidden=(16,), epochs=3), seed=0)
    assert torch.equal(model.code_mean, mean) == (arm != "scratch")
    if arm == "scratch":
        torch.testing.assert_close(model.code_mean, code_statistics(model.encoder, unlabelled)[0])


def test_batched_frozen_heads_equal_one_by_one_runs(mnist_small):
    """Copies with different label budgets and seeds, trained as one batch, end where each run
    alone ends (same weights to float tolerance, same test accuracy)."""
    from helpers.transfer import frozen_arm_batched

    train, test = mnist_small
    torch.manual_seed(0)
    pretrained = Encoder(6, fc_layers=1, fc_width=32)
    features = Features.of(pretrained, train.images[:128], test.images)
    settings = HeadSpec(hidden=(16, 8), epochs=12, batch_size=16)
    jobs = []
    for budget, seed in [(10, 0), (40, 1), (25, 2), (40, 3)]:  # 1, 3 and 2 batches per epoch
        idx = balanced_subset(train.labels, budget, seed=seed)
        jobs.append((train.images[idx], train.labels[idx], seed))
    batched = frozen_arm_batched(features, jobs, settings, test, progress=False)
    for (images, labels, seed), (model, acc) in zip(jobs, batched):
        alone, acc_alone, _ = run_arm("frozen", features, images, labels, test, settings, seed=seed)
        for p, q in zip(model.head.parameters(), alone.head.parameters()):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
        assert abs(acc - acc_alone) <= 2 / len(test.labels)
        start = build_classifier("frozen", features, settings, seed)
        assert not torch.equal(start.head[0].weight, model.head[0].weight)  # it did train


def test_batched_heads_refuse_what_they_cannot_match():
    from helpers.models import mlp
    from helpers.transfer import _StackedHeads

    with pytest.raises(ValueError, match="dropout"):
        _StackedHeads([mlp([4, 8, 10], dropout=0.3)])
    with pytest.raises(ValueError, match="same layer sizes"):
        _StackedHeads([mlp([4, 8, 10]), mlp([4, 6, 10])])
    with pytest.raises(ValueError, match="LeakyReLU"):
        _StackedHeads([mlp([4, 8, 10], activation=torch.nn.ReLU)])


def test_protocol_arms_and_head_then_finetune_start(mnist_small):
    """run_protocol: every (budget, subset, arm) once; head-then-finetune continues from the frozen
    arm's trained head (so its accuracy differs from the frozen one but starts from it)."""
    from types import SimpleNamespace

    from helpers.transfer import run_protocol

    train, test = mnist_small
    torch.manual_seed(0)
    pretrained = Encoder(6, fc_layers=1, fc_width=32)
    data = SimpleNamespace(train=train, test=test)
    settings = HeadSpec(hidden=(16,), epochs=40)
    runs = run_protocol(pretrained, data, [10, 20], range(2), ("frozen", "head-then-finetune"), settings,
                        n_unlabelled=128, progress=False)
    assert len(runs) == 8 and set(runs.arm) == {"frozen", "head-then-finetune"}
    idx = balanced_subset(train.labels, 20, seed=1)
    features = Features.of(pretrained, train.images[:128], test.images)
    _, acc, _ = run_arm("frozen", features, train.images[idx], train.labels[idx], test, settings, seed=1)
    got = runs.query("labels == 20 and subset == 1 and arm == 'frozen'").test_acc.item()
    assert abs(got - acc) <= 2 / len(test.labels)
    # head-then-finetune = the frozen run, then everything trained from there (one by one, same seed)
    from helpers.transfer import _finetune_after_head

    frozen_alone, _, _ = run_arm("frozen", features, train.images[idx], train.labels[idx], test, settings, seed=1)
    _, alone, _ = _finetune_after_head(frozen_alone, train.images[idx], train.labels[idx], test, settings, seed=1)
    got = runs.query("labels == 20 and subset == 1 and arm == 'head-then-finetune'").test_acc.item()
    assert abs(got - alone) <= 2 / len(test.labels)
    with pytest.raises(ValueError, match="arms must be among"):
        run_protocol(pretrained, data, [10], range(1), ("frozen", "probe"), settings, progress=False)


def test_hidden_features_are_what_the_code_is_computed_from():
    from helpers.transfer import HiddenFeatures

    torch.manual_seed(0)
    for fc_layers, width in ((2, 24), (0, 64 * 16)):
        encoder = Encoder(5, fc_layers=fc_layers, fc_width=24)
        hidden = HiddenFeatures(encoder)
        x = torch.rand(3, 1, 32, 32)
        assert hidden.latent_dim == width and hidden(x).shape == (3, width)
        torch.testing.assert_close(encoder.fc[-1](hidden(x)), encoder(x))


def test_stratified_folds_deal_every_class_evenly():
    from helpers.transfer import stratified_folds

    labels = torch.tensor([0] * 5 + [1] * 10 + [2] * 7)
    fold = stratified_folds(labels, 5)
    for c, n in ((0, 5), (1, 10), (2, 7)):
        counts = torch.bincount(fold[labels == c], minlength=5)
        assert counts.sum() == n and counts.max() - counts.min() <= 1
    sizes = torch.bincount(stratified_folds(torch.tensor([0, 0, 1, 1, 2, 2]), 4), minlength=4)
    assert sizes.max() - sizes.min() <= 1  # leftovers of each class do not pile up in the first folds


def test_frozen_variants_score_inside_the_labels_and_match_the_frozen_arm(mnist_small, monkeypatch):
    """Each fold's head trains on the other folds' images (and their moved copies) only, and is
    scored on its own fold, weighted by the fold's size; the plain-code variant trained on all
    labelled images is exactly the protocol's frozen arm; too few labels per class is refused."""
    from types import SimpleNamespace

    from helpers import transfer
    from helpers.transfer import frozen_variants, run_protocol, stratified_folds

    train, test = mnist_small
    torch.manual_seed(0)
    pretrained = Encoder(6, fc_layers=1, fc_width=32)
    data = SimpleNamespace(train=train, test=test)
    settings = HeadSpec(hidden=(16,), epochs=40)
    variants = {"code": (False, 0), "hidden + copies": (True, 2)}
    calls = []
    real = transfer.frozen_arm_batched

    def spy(features, jobs, *args, **kwargs):
        calls.append(jobs)
        return real(features, jobs, *args, **kwargs)

    monkeypatch.setattr(transfer, "frozen_arm_batched", spy)
    tried = frozen_variants(pretrained, data, [40], range(2), variants, settings, folds=3, n_unlabelled=128,
                            progress=False)
    assert len(tried) == 4 and set(tried.variant) == set(variants)
    # the fold jobs of subset 0, copies variant: originals are exactly the other folds' images
    idx = balanced_subset(train.labels, 40, seed=0)
    x, y = train.images[idx], train.labels[idx]
    fold = stratified_folds(y, 3)
    for f, (images, labels, seed) in enumerate(calls[1][:3]):
        kept = fold != f
        assert seed == 0 and len(images) == 3 * int(kept.sum())
        torch.testing.assert_close(images[:int(kept.sum())], x[kept])
        assert torch.equal(labels, y[kept].repeat(3))
    # folds of 14/13/13 images: the score is the share of all 40 held-out images read correctly
    assert sorted(torch.bincount(fold).tolist()) == [13, 13, 14]
    assert ((tried.cv_acc * 40).sub((tried.cv_acc * 40).round()).abs() < 1e-9).all()
    frozen = run_protocol(pretrained, data, [40], range(2), ("frozen",), settings, n_unlabelled=128, progress=False)
    for s in range(2):
        got = tried.query(f"variant == 'code' and subset == {s}").test_acc.item()
        assert abs(got - frozen.query(f"subset == {s}").test_acc.item()) <= 2 / len(test)
    with pytest.raises(ValueError, match="per class"):
        frozen_variants(pretrained, data, [20], range(1), variants, settings, folds=3, progress=False)


def test_random_affine_keeps_the_originals_and_is_seeded():
    from helpers.data import random_affine

    x = torch.zeros(4, 1, 32, 32)
    x[:, :, 12:20, 14:18] = 1.0
    moved = random_affine(x, 3, torch.Generator().manual_seed(0))
    assert moved.shape == (16, 1, 32, 32)
    torch.testing.assert_close(moved[:4], x)
    assert not torch.equal(moved[4:8], x)  # the copies moved
    assert (moved[4:].sum((1, 2, 3)) - x.sum((1, 2, 3)).repeat(3)).abs().max() < 0.25 * x[0].sum()  # the ink stays
    torch.testing.assert_close(random_affine(x, 3, torch.Generator().manual_seed(0)), moved)
    assert torch.equal(random_affine(x, 0, torch.Generator()), x)
    with pytest.raises(ValueError, match="copies"):
        random_affine(x, -1, torch.Generator())
