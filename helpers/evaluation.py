"""Judging generated digits by numbers: the evaluator CNN's class histogram, confidence,
intra-class diversity and "MNIST-FID" (Fréchet distance of its penultimate-layer features), and
the classification accuracy score of labelled samples (Q5); how the evaluator is trained."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .metrics import class_histogram_stats, frechet_distance, mean_pairwise_distance
from .models import DigitCNN
from .specs import EvaluatorSpec
from .training import History, accuracy, in_batches, train_classifier


def train_evaluator(model: DigitCNN, spec: EvaluatorSpec, images: torch.Tensor, labels: torch.Tensor,
                    progress: bool = True) -> History:
    """Train ``model`` on (``images``, ``labels``) as the evaluator's ``spec`` says."""
    return train_classifier(model, images, labels, spec.epochs, lr=spec.lr, batch_size=spec.batch_size,
                            seed=spec.seed, schedule="onecycle", progress=progress)


def classification_accuracy_score(spec: EvaluatorSpec, images: torch.Tensor, labels: torch.Tensor, test,
                                  progress: bool = True) -> float:
    """Classification accuracy score (Ravuri & Vinyals, 2019): a classifier built and trained as
    the evaluator's ``spec`` says, on ``images`` (generated) with the ``labels`` they were
    generated for, then tested on ``test``'s real images. Compare with the evaluator's own test
    accuracy, the same classifier trained on real images."""
    model = spec.build().to(images.device)
    train_evaluator(model, spec, images, labels, progress)
    return accuracy(model, test.images, test.labels)


@dataclass
class Predictions:
    probs: torch.Tensor  # (N, 10) softmax
    features: torch.Tensor  # (N, k) penultimate layer

    @property
    def labels(self) -> torch.Tensor:
        return self.probs.argmax(1)

    @property
    def confidence(self) -> torch.Tensor:
        return self.probs.max(1).values


class Evaluator:
    """Wraps a trained :class:`DigitCNN`; real test images are the FID reference."""

    def __init__(self, model: DigitCNN, reference_images: torch.Tensor, batch_size: int = 2000):
        self.model = model.eval()
        self.batch_size = batch_size
        self.reference = self.predict(reference_images)

    @torch.inference_mode()
    def predict(self, images: torch.Tensor) -> Predictions:
        if images.ndim != 4 or images.shape[1:] != (1, 32, 32):
            raise ValueError(f"expected (N, 1, 32, 32) images, got {tuple(images.shape)}")

        def probs_and_features(x):
            f = self.model.features(x.contiguous(memory_format=torch.channels_last))
            return torch.softmax(self.model.out(f), 1).cpu(), f.cpu()

        return Predictions(*in_batches(probs_and_features, images, batch_size=self.batch_size))

    def fid(self, images_or_predictions, reference: Predictions | None = None) -> float:
        p = self._pred(images_or_predictions)
        return frechet_distance(p.features, (reference or self.reference).features)

    def evaluate(self, images_or_predictions, confident: float = 0.9) -> dict:
        """Histogram stats (coverage, shares, entropy), mean confidence, share of confident
        predictions and MNIST-FID against the real test images."""
        p = self._pred(images_or_predictions)
        out = class_histogram_stats(p.labels)
        out.update(mean_confidence=float(p.confidence.mean()),
                   confident_share=float((p.confidence >= confident).float().mean()),
                   fid=self.fid(p))
        return out

    def conditional_report(self, images_or_predictions, requested: torch.Tensor,
                           reference_labels: torch.Tensor) -> dict:
        """For images generated for ``requested`` digits: accuracy of the evaluator's prediction
        against the request (overall and per digit), intra-class diversity relative to real test
        images of the same digit (mean pairwise feature distance ratio) and per-digit FID."""
        p = self._pred(images_or_predictions)
        requested = requested.cpu()
        reference_labels = reference_labels.cpu()
        if len(requested) != len(p.labels):
            raise ValueError(f"{len(requested)} requested labels for {len(p.labels)} images")
        per_digit = {}
        for digit in range(10):
            mine, real = requested == digit, reference_labels == digit
            if mine.sum() < 2 or real.sum() < 2:
                continue
            per_digit[digit] = {
                "accuracy": float((p.labels[mine] == digit).float().mean()),
                "diversity_ratio": mean_pairwise_distance(p.features[mine])
                / mean_pairwise_distance(self.reference.features[real]),
                "fid": frechet_distance(p.features[mine], self.reference.features[real]),
            }
        return {"accuracy": float((p.labels == requested).float().mean()), "per_digit": per_digit}

    def _pred(self, x) -> Predictions:
        return x if isinstance(x, Predictions) else self.predict(x)


def path_metrics(evaluator: Evaluator, frames: torch.Tensor, start_digit: int, end_digit: int,
                 confident: float = 0.9, third_confidence: float = 0.5) -> dict:
    """How good an interpolation path of images is: share of frames the evaluator calls a digit
    with confidence >= ``confident``, whether a third digit (neither endpoint's) appears with
    confidence >= ``third_confidence``, and the mean / max-over-mean L2 step between frames."""
    p = evaluator.predict(frames)
    labels, conf = p.labels, p.confidence
    third = (labels != start_digit) & (labels != end_digit) & (conf >= third_confidence)
    steps = (frames[1:] - frames[:-1]).flatten(1).norm(dim=1).cpu()
    return {"confident_share": float((conf >= confident).float().mean()),
            "third_digit": bool(third.any()), "mean_step": float(steps.mean()),
            "max_step_ratio": float(steps.max() / steps.mean().clamp_min(1e-12))}
