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
