"""Q4's latent GAN against variants given the same wall time: the objective (non-saturating, least
squares, hinge, WGAN-GP), the noise size k and twice the training time; plus Q4's recipe with a
third seed. Every run is stopped after the seconds Q4's own recipe took on this machine (measured
first, in the same process), so "better" means better per second of CPU. MNIST-FID as Q4 measures it.
Run from the project root, with nothing else running: .venv/bin/python benchmarks/outside_build/latent_gan_equal_time.py"""
import dataclasses

from helpers import profiles, zoo
from helpers.evaluation import Evaluator
from helpers.gan import sample_codes
from helpers.training import decode, latent_codes

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
ae, _ = zoo.get_autoencoder(profile, data, progress=False)
evaluator = Evaluator(zoo.get_evaluator(profile, data, progress=False)[0], data.test.images)
codes = latent_codes(ae.encoder, data.train.images)
q4 = profile.latent_gan(ae.spec)


def fid(spec) -> tuple[float, float, int]:
    G, history, _ = zoo.get_latent_gan(profile, spec, codes, progress=False)
    images = decode(ae.decoder, sample_codes(G.eval(), profile.gan_eval_samples, seed=1))
    return evaluator.evaluate(images)["fid"], history.seconds, int(history.rows[-1]["step"])


base, seconds, _ = fid(dataclasses.replace(q4, seed=2))  # the recipe, third seed: also measures its time here
print(f"Q4 recipe, seed 2: MNIST-FID {base:.2f} ({seconds:.0f} s, {q4.steps} steps)", flush=True)
budget = round(seconds)
variants = {
    "least squares": dict(objective="lsgan"), "hinge": dict(objective="hinge"), "WGAN-GP": dict(objective="wgan-gp"),
    "k = 4": dict(noise_dim=4), "k = 6": dict(noise_dim=6),
    "twice the time": dict(max_seconds=2 * budget, steps=4 * q4.steps),
}
for name, change in variants.items():
    spec = dataclasses.replace(q4, **{"steps": 4 * q4.steps, "max_seconds": budget, **change})
    score, took, steps = fid(spec)
    print(f"{name}: MNIST-FID {score:.2f} ({took:.0f} s, {steps} generator steps)", flush=True)
