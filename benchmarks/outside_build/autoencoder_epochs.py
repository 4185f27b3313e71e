"""The main autoencoder (d=10, two FC layers) trained for more epochs (argv): test MSE per epoch.
Run from the project root: .venv/bin/python benchmarks/outside_build/autoencoder_epochs.py 8"""
import sys
import time

from helpers import profiles, zoo
from helpers.training import train_autoencoder

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
for epochs in map(int, sys.argv[1:] or ["8"]):
    spec = profile.autoencoder(epochs=epochs)
    start = time.time()
    history = train_autoencoder(spec.build(), spec, data.train.images, data.test.images, progress=False)
    print(epochs, [round(x, 5) for x in history.column("test_mse")], f"{time.time() - start:.0f} s", flush=True)
