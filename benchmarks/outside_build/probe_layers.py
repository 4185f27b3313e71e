"""Which layer of the frozen Q1 encoder carries the most label information? Logistic-regression
probes on 100 labels (5 subsets) per layer, and, for scale, probes that see many more labels.
Run from the project root: .venv/bin/python benchmarks/outside_build/probe_layers.py"""
import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from helpers import profiles, zoo
from helpers.transfer import balanced_subset

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
encoder = zoo.get_autoencoder(profile, data, progress=False)[0].encoder.eval()
fc = list(encoder.fc)  # Linear, LeakyReLU, Linear, LeakyReLU, Linear (two hidden FC layers)


@torch.no_grad()
def layers(x):
    conv = encoder.conv(x).flatten(1)
    fc1 = fc[1](fc[0](conv))
    fc2 = fc[3](fc[2](fc1))
    return {"conv": conv, "fc1": fc1, "fc2 (last hidden)": fc2, "code": fc[4](fc2)}


train = {k: v.numpy() for k, v in layers(data.train.images).items()}
test = {k: v.numpy() for k, v in layers(data.test.images).items()}
y, y_test = data.train.labels.numpy(), data.test.labels.numpy()
for name in train:
    mu, sd = train[name][:5000].mean(0), train[name][:5000].std(0) + 1e-6
    z, z_test = (train[name] - mu) / sd, (test[name] - mu) / sd
    accs = []
    for subset in range(5):
        idx = balanced_subset(data.train.labels, 100, seed=subset).numpy()
        accs.append(LogisticRegression(C=0.1, max_iter=2000).fit(z[idx], y[idx]).score(z_test, y_test))
    line = f"{name}: 100 labels {np.mean(accs):.3f} ± {np.std(accs):.3f}"
    if name in ("code", "fc2 (last hidden)"):
        many = LogisticRegression(C=1.0, max_iter=300).fit(z[:20000], y[:20000]).score(z_test, y_test)
        pca = PCA(50, random_state=0).fit(z) if z.shape[1] > 50 else None
        zp, zp_test = (pca.transform(z), pca.transform(z_test)) if pca else (z, z_test)
        vote = KNeighborsClassifier(10).fit(zp, y).score(zp_test, y_test)
        line += f"; 20,000 labels {many:.3f}; 10-NN vote, all 60,000 labels {vote:.3f}"
    print(line, flush=True)
