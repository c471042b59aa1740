"""What the paper's Table I measures, and two reference levels.

* :func:`accuracy` of the released labels.
* :func:`logit_distortion` — the paper's "confidence distortion": mean ``|n|`` per
  entry of the logit noise (the author's code divides the summed ``|c - c0|`` by
  samples x classes).
* :func:`prob_distortion` — L1 change of the probability vector, per sample.
* :func:`mse` — per-pixel mean squared error between images in [0, 1].
* :func:`mean_image_mse` — the error of an attacker who always answers the mean
  auxiliary image. A defense cannot push a *useful* attacker above this level
  for long: an adaptive attacker can always fall back to it.
* The label-only reference (an inversion model trained on one-hot labels) lives
  in :mod:`mi_lib.experiments`, since it needs a trained model: it is what any
  defense that keeps the label still leaks.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of rows whose argmax equals ``labels``."""
    return (logits.argmax(dim=1) == labels).float().mean().item()


def logit_distortion(c0: torch.Tensor, c: torch.Tensor) -> float:
    """Mean absolute change per logit entry: ``sum |c - c0| / (N * K)``."""
    return (c - c0).abs().mean().item()


def prob_distortion(c0: torch.Tensor, c: torch.Tensor) -> float:
    """Mean over samples of ``|| softmax(c) - softmax(c0) ||_1`` (between 0 and 2)."""
    change = F.softmax(c, dim=1) - F.softmax(c0, dim=1)
    return change.abs().sum(dim=1).mean().item()


def mse_per_sample(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per-pixel MSE of each image pair, ``(N,)``."""
    if x.shape != x_hat.shape:
        raise ValueError(f"image shapes differ: {tuple(x.shape)} vs {tuple(x_hat.shape)}")
    return (x - x_hat).pow(2).flatten(1).mean(dim=1)


def mse(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Per-pixel MSE averaged over images in [0, 1] (the paper's reconstruction
    error)."""
    return mse_per_sample(x, x_hat).mean().item()


def mean_image_mse(aux_images: torch.Tensor, images: torch.Tensor) -> float:
    """MSE of always guessing the mean auxiliary image."""
    guess = aux_images.mean(dim=0, keepdim=True).expand_as(images)
    return mse(images, guess)
