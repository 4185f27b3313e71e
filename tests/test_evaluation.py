"""The evaluator's numbers, checked with a classifier whose answers are known: it reads digit d from
pixel d of the image (logit 100 x that pixel), its features are the first 12 pixels."""
import math

import pytest
import torch

from helpers.evaluation import Evaluator, Predictions, path_metrics
from helpers.metrics import frechet_distance
from helpers.models import DigitCNN


class Known(DigitCNN):
    def __init__(self):
        super().__init__()
        self.out = torch.nn.Linear(12, 10, bias=False)  # one-hot logits from the first 10 features
        with torch.no_grad():
            self.out.weight.zero_()
            self.out.weight[:, :10] = 100 * torch.eye(10)

    def features(self, x):
        return x.flatten(1)[:, :12]


def images_for(digits, noise=0.0, strength=1.0, seed=0):
    """Images the known classifier reads as ``digits`` (with confidence ~1 at ``strength`` 1, about
    e / (e + 9) at 0.01), with ``noise`` in the two features it does not read."""
    x = torch.zeros(len(digits), 1, 32, 32)
    flat = x.view(len(digits), -1)
    flat[torch.arange(len(digits)), torch.tensor(digits)] = strength
    flat[:, 10:12] = noise * torch.randn(len(digits), 2, generator=torch.Generator().manual_seed(seed))
    return x


def test_evaluate_reports_the_class_histogram_confidence_and_fid_of_what_it_is_shown():
    reference = images_for(torch.arange(10).repeat(5).tolist(), noise=1.0)
    ev = Evaluator(Known(), reference, batch_size=7)  # batches that do not divide the image counts
    # 20 clear threes, 10 faint sevens (read as 7, but with confidence e / (e + 9) ~ 0.23)
    generated = torch.cat([images_for([3] * 20, noise=1.0, seed=1),
                           images_for([7] * 10, noise=1.0, strength=0.01, seed=2)])
    out = ev.evaluate(generated)
    share = [0.0] * 10
    share[3], share[7] = 2 / 3, 1 / 3
    assert out["share"] == pytest.approx(share) and out["classes_covered"] == 2
    assert out["class_share_min"] == 0.0 and out["class_share_max"] == pytest.approx(2 / 3)
    assert out["entropy"] == pytest.approx(-(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3))
    faint = math.e / (math.e + 9)
    assert out["mean_confidence"] == pytest.approx((20 * 1.0 + 10 * faint) / 30, rel=1e-4)
    assert out["confident_share"] == pytest.approx(2 / 3)
    assert ev.evaluate(generated, confident=0.2)["confident_share"] == 1.0
    # MNIST-FID: the Fréchet distance of the features (not the probabilities) to the reference's
    expected = frechet_distance(generated.flatten(1)[:, :12], reference.flatten(1)[:, :12])
    assert out["fid"] == pytest.approx(expected, rel=1e-6) and out["fid"] > 1
    assert ev.evaluate(reference)["fid"] == pytest.approx(0.0, abs=1e-6)
    assert ev.evaluate(reference)["classes_covered"] == 10
    # predictions computed once give the same numbers as the images
    predictions = ev.predict(generated)
    assert isinstance(predictions, Predictions) and ev.evaluate(predictions) == out
    with pytest.raises(ValueError, match="32, 32"):
        ev.evaluate(torch.zeros(4, 1, 28, 28))


def test_conditional_report_and_path_metrics_with_a_known_classifier():
    real_labels = torch.arange(10).repeat(5)
    ev = Evaluator(Known(), images_for(real_labels.tolist(), noise=1.0))
    requested = torch.arange(10).repeat(4)
    produced = requested.clone()
    produced[:4] = (produced[:4] + 1) % 10  # 4 of 40 wrong
    rep = ev.conditional_report(images_for(produced.tolist(), noise=1.0), requested, real_labels)
    assert rep["accuracy"] == pytest.approx(0.9)
    m = path_metrics(ev, images_for([3, 3, 5, 8, 8]), 3, 8)
    assert m["third_digit"] is True and m["confident_share"] == 1.0
    assert path_metrics(ev, images_for([3, 3, 8, 8]), 3, 8)["third_digit"] is False
