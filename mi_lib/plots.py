"""Figures shared by the chapters and the CLI."""

from __future__ import annotations

import matplotlib

import matplotlib.pyplot as plt
import torch


def reconstruction_grid(rows: dict[str, torch.Tensor], n: int = 10,
                        size: float = 1.0) -> "matplotlib.figure.Figure":
    """One row of ``n`` images per entry of ``rows`` (title -> ``(N, 1, H, W)``)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    fig, axes = plt.subplots(len(rows), n, figsize=(n * size, len(rows) * size * 1.1),
                             squeeze=False)
    for r, (title, images) in enumerate(rows.items()):
        for i in range(n):
            ax = axes[r, i]
            ax.imshow(images[i, 0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title, rotation=0, ha="right", va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.1)
    return fig
