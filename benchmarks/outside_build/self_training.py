"""Self-training on the frozen encoder's last hidden layer: spread 100 labels over the kNN graph
(train + test features, 50 principal components), keep the 80% most confident training images
with their spread labels, train an MLP head on them, score it on the test set (3 subsets).
Run from the project root: .venv/bin/python benchmarks/outside_build/self_training.py"""
import numpy as np
import torch
import torch.nn.functional as F

from helpers import profiles, zoo
from helpers.models import mlp
from helpers.semisupervised import CodeGraph
from helpers.training import latent_codes
from helpers.transfer import HiddenFeatures, balanced_subset

profile = profiles.get_profile("full")
data = zoo.mnist(profile)
hidden = HiddenFeatures(zoo.get_autoencoder(profile, data, progress=False)[0].encoder)
feats = torch.cat([latent_codes(hidden, data.train.images), latent_codes(hidden, data.test.images)])
feats = (feats - feats[:5000].mean(0)) / (feats[:5000].std(0) + 1e-6)
graph = CodeGraph(feats, components=50)
n, y_test = len(data.train), data.test.labels
for subset in range(3):
    idx = balanced_subset(data.train.labels, 100, seed=subset)
    y = np.zeros((graph.n, 10))
    y[idx.numpy(), data.train.labels[idx].numpy()] = 1
    f = y.copy()
    for _ in range(200):
        f = 0.99 * (graph.S @ f) + 0.01 * y
    pseudo = torch.from_numpy(f.argmax(1)[:n])
    pseudo[idx] = data.train.labels[idx]
    conf = f.max(1)[:n] / f.sum(1)[:n].clip(1e-12)
    keep = torch.from_numpy(conf >= np.quantile(conf, 0.2))
    keep[idx] = True
    gen = torch.Generator().manual_seed(subset)
    torch.manual_seed(subset)
    head = mlp([feats.shape[1], 64, 10])
    opt = torch.optim.AdamW(head.parameters(), 1e-3, weight_decay=1e-4)
    x, t = feats[:n][keep], pseudo[keep]
    for _ in range(6000):
        i = torch.randint(len(x), (256,), generator=gen)
        loss = F.cross_entropy(head(x[i]), t[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (head(feats[n:]).argmax(1) == y_test).float().mean().item()
    print(f"subset {subset}: spreading {(f.argmax(1)[n:] == y_test.numpy()).mean():.4f}, self-trained head {acc:.4f}")
