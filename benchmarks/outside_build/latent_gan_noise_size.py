"""Q4's latent GAN with another noise size k (argv) and otherwise Q4's recipe: MNIST-FID as Q4 measures it.
Run from the project root: .venv/bin/python benchmarks/outside_build/latent_gan_noise_size.py 10"""
import sys

from helpers import profiles, zoo
from helpers.evaluation import Evaluator
from helpers.gan import sample_codes
from helpers.training import decode, latent_codes

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
ae, _ = zoo.get_autoencoder(profile, data, progress=False)
evaluator = Evaluator(zoo.get_evaluator(profile, data, progress=False)[0], data.test.images)
codes = latent_codes(ae.encoder, data.train.images)
for k in map(int, sys.argv[1:] or ["10"]):
    G, history, _ = zoo.get_latent_gan(profile, profile.latent_gan(ae.spec, noise_dim=k), codes)
    fid = evaluator.evaluate(decode(ae.decoder, sample_codes(G.eval(), profile.gan_eval_samples, seed=1)))["fid"]
    print(f"k={k}: MNIST-FID {fid:.2f} ({history.seconds:.0f} s of training)", flush=True)
