"""Q3's frozen-arm variants (Table 3.5) on a denoising-trained encoder (input noise sigma, argv).
Run from the project root: .venv/bin/python benchmarks/outside_build/denoising_encoder.py 0.35"""
import sys

from helpers import profiles, transfer, zoo

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
variants = {"code": (False, 0), "code + moved copies": (False, 30), "last hidden layer": (True, 0),
            "last hidden layer + moved copies": (True, 30)}
for sigma in map(float, sys.argv[1:] or ["0.35"]):
    ae, _ = zoo.get_autoencoder(profile, data, progress=False, input_noise=sigma)
    tried = transfer.frozen_variants(ae.encoder, data, [50, 100], range(5), variants, profile.head(),
                                     progress=False)
    print(f"input noise {sigma}")
    print(tried.groupby(["labels", "variant"])[["cv_acc", "test_acc"]].agg(["mean", "std"]).round(4), flush=True)
