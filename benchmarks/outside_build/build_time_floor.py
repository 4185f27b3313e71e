"""Where the core build's CPU time goes, and whether running trainings side by side would shorten it.

1. The training seconds stored with each cached model of the full profile that the core build trains
   (autoencoders, the evaluator, Q4's and Q5's 12,000-step GANs): the part of the build that only
   less training, not faster glue code, can shorten.
2. Thread scaling of the two kinds of training step: one autoencoder epoch slice (12,800 images) and
   1,500 steps of Q4's GAN, with 2 threads, with 1 thread, and as two 1-thread processes at once.
Run from the project root after a full build, with nothing else running:
.venv/bin/python benchmarks/outside_build/build_time_floor.py"""
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch

WORKLOAD = sys.argv[1:3]  # internal: "<threads> <ae|gan>" runs one timed workload and prints its seconds


def workload(threads: int, kind: str) -> float:
    torch.set_num_threads(threads)
    from helpers import profiles, specs
    from helpers.data import load_mnist
    from helpers.gan import train_latent_gan
    from helpers.training import train_autoencoder

    profile = profiles.get_profile("full")
    start = time.perf_counter()
    if kind == "ae":
        spec = profile.autoencoder(epochs=1)
        train_autoencoder(spec.build(), spec, load_mnist(True, 12800, "cpu").images, load_mnist(False, 1000, "cpu").images,
                          progress=False)
    else:
        train_latent_gan(torch.randn(60000, profile.latent_dim),
                         specs.LatentGANSpec(steps=1500, batch_size=profile.gan_batch_size), progress=False)
    return time.perf_counter() - start


if WORKLOAD:
    print(f"{workload(int(WORKLOAD[0]), WORKLOAD[1]):.2f}")
    sys.exit()

seconds, count = Counter(), Counter()
for path in Path("artifacts/full").glob("*.pt"):
    stored = torch.load(path, map_location="cpu", weights_only=False)
    config, extra = stored["config"], stored.get("extra", {})
    if config["kind"] in ("gan", "cgan") and config["steps"] != 12000 or config.get("dataset", "mnist") != "mnist":
        continue  # trained outside the build (shorter GANs) or by the extras
    seconds[config["kind"]] += extra.get("seconds") or extra["history"]["seconds"]
    count[config["kind"]] += 1
for kind in seconds:
    print(f"{kind}: {count[kind]} models, {seconds[kind]:.0f} s of training")
print(f"all: {sum(count.values())} models, {sum(seconds.values()) / 60:.1f} min of training")

run = lambda threads, kind: subprocess.Popen([sys.executable, __file__, str(threads), kind], stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True)
for kind, unit in (("ae", "12,800 images"), ("gan", "1,500 GAN steps")):
    two, one = (float(run(t, kind).communicate()[0]) for t in (2, 1))
    pair = [run(1, kind) for _ in range(2)]
    both = max(float(p.communicate()[0]) for p in pair)
    print(f"{kind}: {unit} take {two:.2f} s with 2 threads, {one:.2f} s with 1; two 1-thread runs at once "
          f"{both:.2f} s, i.e. {2 * two / both:.2f}x the throughput of running them one after the other")
