"""Q5's digit-conditional GAN at other auxiliary-classifier weights (argv): the requested digit's
accuracy (all, worst digit), the diversity ratio (mean, lowest digit) and MNIST-FID, as Q5 measures them.
Run from the project root: .venv/bin/python benchmarks/outside_build/digit_gan_aux_sweep.py 0.3 3"""
import sys

import torch

from helpers import profiles, zoo
from helpers.evaluation import Evaluator
from helpers.gan import DigitGenerator
from helpers.training import latent_codes

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
ae, _ = zoo.get_autoencoder(profile, data, progress=False)
evaluator = Evaluator(zoo.get_evaluator(profile, data, progress=False)[0], data.test.images)
codes = latent_codes(ae.encoder, data.train.images)
per = profile.gan_eval_samples // 10
requested = torch.arange(10).repeat_interleave(per)
for weight in map(float, sys.argv[1:] or ["0.3", "3"]):
    G, _, _ = zoo.get_latent_gan(profile, profile.digit_gan(ae.spec, weight, seed=0), codes, data.train.labels)
    generate = DigitGenerator(G, ae.decoder)
    images = torch.cat([generate(d, per, seed=100 + d) for d in range(10)])
    r = evaluator.conditional_report(images, requested, data.test.labels)
    acc = [v["accuracy"] for v in r["per_digit"].values()]
    div = [v["diversity_ratio"] for v in r["per_digit"].values()]
    print(f"aux weight {weight}: accuracy {r['accuracy']:.4f}, worst digit {min(acc):.4f}, diversity mean "
          f"{sum(div) / 10:.3f}, lowest {min(div):.3f}, MNIST-FID {evaluator.fid(images):.2f}", flush=True)
