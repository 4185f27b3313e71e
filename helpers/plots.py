"""Plotting helpers: image grids and the report's common chart styles."""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep inline in notebooks, Agg elsewhere
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

DIGIT_COLORS = sns.color_palette("tab10", 10)


def setup_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "axes.titleweight": "bold",
                         "figure.autolayout": False})


def tile(images, nrow: int, pad: int = 1) -> np.ndarray:
    """(N, 1, H, W) images in [0, 1] -> one (rows*H, nrow*W) array, padded with ``pad`` px."""
    x = images.detach().cpu().float().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if x.ndim == 4:
        x = x[:, 0]
    n, h, w = x.shape
    rows = -(-n // nrow)
    out = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad))
    for i in range(n):
        r, c = divmod(i, nrow)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = x[i]
    return out


def show_grid(ax, images, nrow: int, title: str | None = None) -> None:
    ax.imshow(tile(images, nrow), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title)


def image_rows(rows: Sequence, row_labels: Sequence[str], title: str,
               col_labels: Sequence[str] | None = None, scale: float = 0.55):
    """A figure with one labelled row of images per entry of ``rows`` (each (N, 1, 32, 32))."""
    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(scale * n_cols + 1.2, scale * len(rows) + 0.6),
                             squeeze=False)
    for ax, imgs, label in zip(axes[:, 0], rows, row_labels):
        show_grid(ax, imgs, n_cols)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if col_labels is not None:
        ax0 = axes[0, 0]
        width = 33
        ax0.set_xticks([1 + width * i + 16 for i in range(len(col_labels))])
        ax0.set_xticklabels(col_labels, fontsize=7)
        ax0.xaxis.tick_top()
    fig.suptitle(title, y=1.0)
    fig.tight_layout()
    return fig


def digit_scatter(ax, xy, labels, title: str, xlabel: str, ylabel: str, size: float = 4) -> None:
    """2-D points coloured by digit (0-9), with a legend."""
    xy, labels = np.asarray(xy), np.asarray(labels)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(labels):
        raise ValueError(f"need (N, 2) points and N labels, got {xy.shape} and {labels.shape}")
    for digit in range(10):
        pts = xy[labels == digit]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, color=DIGIT_COLORS[digit], label=str(digit),
                   alpha=0.7, linewidths=0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(markerscale=3, fontsize=7, ncol=2, loc="best", title="digit", title_fontsize=7)
