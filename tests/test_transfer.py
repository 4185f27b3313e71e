import pytest
import torch

from helpers.models import Encoder
from helpers.transfer import HeadSettings, balanced_subset, code_statistics, run_arm


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
    model, acc, hist = run_arm(arm, pretrained, train.images[idx], train.labels[idx], test.images,
                               test.labels, HeadSettings(hidden=(16,), epochs=5), train.images[:128],
                               curve_every=1)
    assert 0 <= acc <= 1 and len(hist.rows) == 5
    # the caller's encoder is never modified
    assert all(torch.equal(before[k], v) for k, v in pretrained.state_dict().items())
    changed = any(not torch.equal(before[k], v) for k, v in model.encoder.state_dict().items())
    assert changed == (arm != "frozen")


@pytest.mark.parametrize("arm", ["frozen", "finetune", "scratch"])
def test_precomputed_code_statistics_give_the_same_run(arm, mnist_small):
    train, test = mnist_small
    torch.manual_seed(0)
    pretrained = Encoder(6, fc_layers=1, fc_width=32)
    idx = balanced_subset(train.labels, 20, seed=0)
    unlabelled = train.images[:128]
    stats = code_statistics(pretrained, unlabelled)
    args = (arm, pretrained, train.images[idx], train.labels[idx], test.images, test.labels,
            HeadSettings(hidden=(16,), epochs=3), unlabelled)
    plain, acc_plain, _ = run_arm(*args)
    reused, acc_reused, _ = run_arm(*args, pretrained_stats=stats)
    assert acc_plain == acc_reused
    assert torch.equal(plain.code_mean, reused.code_mean) and torch.equal(plain.code_std, reused.code_std)
    if arm != "scratch":  # the scratch arm's random encoder has its own statistics
        assert torch.equal(reused.code_mean, stats[0])
