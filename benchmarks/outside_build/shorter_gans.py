"""Could the GANs train for fewer steps, to buy back build time? Q4's recipe and Q5's kept generator
(auxiliary weight 1) trained for a half and a third of their 12,000 steps, with the three seeds the
report uses, scored as the notebooks score them (MNIST-FID of 10,000 samples; for Q5 the evaluator's
reading of 1,000 samples per digit). The report's 12,000-step numbers are in Tables 4.1, 5.1 and 5.2.
Run from the project root, with nothing else running: .venv/bin/python benchmarks/outside_build/shorter_gans.py"""
import numpy as np
import torch

from helpers import profiles, zoo
from helpers.evaluation import Evaluator
from helpers.gan import DigitGenerator, sample_codes
from helpers.training import decode, latent_codes

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
ae, _ = zoo.get_autoencoder(profile, data, progress=False)
evaluator = Evaluator(zoo.get_evaluator(profile, data, progress=False)[0], data.test.images)
codes = latent_codes(ae.encoder, data.train.images)

for steps in (6000, 4000):
    for seed in (0, 1, 2):
        G, history, _ = zoo.get_latent_gan(profile, profile.latent_gan(ae.spec, seed=seed, steps=steps), codes,
                                           progress=False)
        fid = evaluator.fid(decode(ae.decoder, sample_codes(G.eval(), profile.gan_eval_samples, seed=1)))
        print(f"Q4 recipe, {steps} steps, seed {seed}: MNIST-FID {fid:.1f} ({history.seconds:.0f} s)", flush=True)

per = profile.gan_eval_samples // 10
requested = torch.arange(10).repeat_interleave(per)
for seed in (0, 1, 2):
    G, history, _ = zoo.get_latent_gan(profile, profile.digit_gan(ae.spec, 1.0, seed=seed, steps=6000), codes,
                                       data.train.labels, progress=False)
    generate = DigitGenerator(G, ae.decoder)
    images = torch.cat([generate(d, per, seed=100 + d) for d in range(10)])
    r = evaluator.conditional_report(images, requested, data.test.labels)
    digits = r["per_digit"].values()
    print(f"Q5 weight 1, 6000 steps, seed {seed}: read {r['accuracy']:.1%}, worst digit "
          f"{min(v['accuracy'] for v in digits):.1%}, diversity mean "
          f"{np.mean([v['diversity_ratio'] for v in digits]):.2f}, lowest "
          f"{min(v['diversity_ratio'] for v in digits):.2f}, MNIST-FID {evaluator.fid(images):.1f} "
          f"({history.seconds:.0f} s)", flush=True)
