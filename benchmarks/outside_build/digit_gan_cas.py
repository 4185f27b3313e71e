"""The classification accuracy score of Q5's digit generator at several auxiliary-classifier weights
(argv): a classifier with the evaluator's architecture and budget trained only on 60,000 generated
digits, tested on the real test images, exactly as Q5 computes it for each weight.
Run from the project root: .venv/bin/python benchmarks/outside_build/digit_gan_cas.py 0 0.3 1 3"""
import sys

import torch

from helpers import profiles, zoo
from helpers.evaluation import classification_accuracy_score
from helpers.gan import DigitGenerator
from helpers.training import latent_codes

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
ae, _ = zoo.get_autoencoder(profile, data, progress=False)
codes = latent_codes(ae.encoder, data.train.images)
n_each = len(data.train) // 10
for weight in map(float, sys.argv[1:] or ["0", "0.3", "1", "3"]):
    G, _, _ = zoo.get_latent_gan(profile, profile.digit_gan(ae.spec, weight, seed=0), codes, data.train.labels,
                                 progress=False)
    generate = DigitGenerator(G, ae.decoder)
    images = torch.cat([generate(d, n_each, seed=1000 + d) for d in range(10)])
    labels = torch.arange(10, device=images.device).repeat_interleave(n_each)
    cas = classification_accuracy_score(profile.evaluator(data.name), images, labels, data.test, progress=False)
    print(f"aux weight {weight:g}: CAS {cas:.4f}", flush=True)
