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
# The PDF prints figures at their size in inches, at most this wide (the text width less a margin);
# with the font sizes below no text in a figure is smaller than 8 pt on paper.
PAGE_WIDTH = 5.8
SMALL_FONT = 8.5


def setup_style() -> None:
    sns.set_theme(context="paper", style="whitegrid")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 220, "axes.titleweight": "bold",
                         "figure.autolayout": False, "font.size": 9, "axes.titlesize": 9.5,
                         "axes.labelsize": 9, "xtick.labelsize": SMALL_FONT, "ytick.labelsize": SMALL_FONT,
                         "legend.fontsize": SMALL_FONT, "legend.title_fontsize": SMALL_FONT,
                         "figure.titlesize": 10, "lines.markersize": 4})


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


def image_rows(rows: Sequence, row_labels: Sequence[str], title: str | None,
               col_labels: Sequence[str] | None = None, scale: float = 0.5, label_width: float = 1.2):
    """A figure with one labelled row of images per entry of ``rows`` (each (N, 1, 32, 32)),
    at most ``PAGE_WIDTH`` inches wide."""
    n_cols = max(len(r) for r in rows)
    scale = min(scale, (PAGE_WIDTH - label_width) / n_cols)
    fig, axes = plt.subplots(len(rows), 1, squeeze=False,
                             figsize=(scale * n_cols + label_width, scale * len(rows) + (0.5 if title else 0.2)))
    for ax, imgs, label in zip(axes[:, 0], rows, row_labels):
        show_grid(ax, imgs, n_cols)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=SMALL_FONT)
    if col_labels is not None:
        ax0 = axes[0, 0]
        width = 33
        ax0.set_xticks([1 + width * i + 16 for i in range(len(col_labels))])
        ax0.set_xticklabels(col_labels, fontsize=SMALL_FONT)
        ax0.xaxis.tick_top()
    if title:
        fig.suptitle(title, y=1.0)
    fig.tight_layout(h_pad=0.2)
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
    ax.legend(markerscale=3, ncol=2, loc="best", title="digit")


def plain_log_scale(ax, axis: str = "x", ticks=None, fmt: str = "{x:g}") -> None:
    """Logarithmic ``axis`` ("x" or "y") with plain-number tick labels (no 10^k notation)."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    if ticks is not None:
        target.set_ticks(list(ticks))
    else:  # 1-2-5 steps, so that even a range of less than a decade gets labelled ticks
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(StrMethodFormatter(fmt))
    target.set_minor_formatter(NullFormatter())


def code_map(ax, codes, labels, path=None, path_labels=None, samples=None, points: int = 3000,
             seed: int = 0):
    """The codes (N, d) on their first two principal components (fitted on ``codes``), a seeded
    random ``points`` of them drawn, coloured by digit; ``path`` (frames, d) drawn on it as a black
    line whose markers take the colour of ``path_labels`` (e.g. the digit each frame is read as), and
    ``samples`` (M, d), e.g. generated codes, as black crosses. Returns the share of the codes'
    variance the two components hold and the projection (any (M, d) codes -> (M, 2) numpy array)."""
    as_np = lambda x: x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, float)
    x, labels = as_np(codes), np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if x.ndim != 2 or len(x) != len(labels) or len(x) < 3:
        raise ValueError(f"need (N >= 3, d) codes and N labels, got {x.shape} and {labels.shape}")
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:2].T if vt.shape[0] >= 2 else np.pad(vt.T, ((0, 0), (0, 2 - vt.shape[0])))
    project = lambda y: (as_np(y).reshape(-1, x.shape[1]) - mean) @ comps
    xy = project(x)
    shown = np.random.default_rng(seed).permutation(len(x))[:points]
    for digit in range(10):
        pts = xy[shown[labels[shown] == digit]]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color=DIGIT_COLORS[digit], label=str(digit), alpha=0.5,
                   linewidths=0, rasterized=True)
    if samples is not None:
        g = project(samples)
        ax.scatter(g[:, 0], g[:, 1], s=7, marker="x", color="black", linewidths=0.5, alpha=0.7, label="GAN")
    if path is not None:
        p = project(path)
        ax.plot(p[:, 0], p[:, 1], color="black", lw=1.2, zorder=3)
        colours = [DIGIT_COLORS[int(c)] for c in path_labels] if path_labels is not None else "white"
        ax.scatter(p[:, 0], p[:, 1], s=22, c=colours, edgecolors="black", linewidths=0.8, zorder=4)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.legend(markerscale=2.5, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5), handletextpad=0.1,
              columnspacing=0.6, borderaxespad=0.3)
    return (float((s[:2] ** 2).sum() / (s ** 2).sum()) if s.sum() > 0 else 0.0), project
