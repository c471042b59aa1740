"""The target classifier and the inversion models.

* :class:`DigitClassifier` — the target F for 28x28 digits: two convolutions, max
  pooling, dropout, two linear layers (the classic PyTorch MNIST network, which the
  paper's author uses). It returns logits ``c``; the black box releases
  ``softmax(c)``.
* :class:`InversionModel` — the attack of Yang et al. (CCS 2019): it keeps the
  top-k log-confidences of a released vector, shifts them to be non-negative
  (:func:`confidence_features`), and decodes them into an image with transposed
  convolutions (batch norm + tanh between layers, sigmoid at the end).
* :func:`attacker_inversion` / :func:`defender_inversion` — the attacker's decoder
  and the defender's smaller one, which is the attacker's with two hidden layers
  removed, so that the defense is tested against a model it has never seen.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# (out_channels, kernel, stride, padding) of each transposed convolution, from a
# 1x1 input up to the image size. The last entry produces the single image channel.
DECODERS = {
    ("attacker", 28): [(128, 4, 1, 0), (64, 3, 2, 1), (32, 4, 2, 1), (1, 4, 2, 1)],
    ("defender", 28): [(128, 7, 1, 0), (1, 4, 4, 0)],
    ("attacker", 64): [(1024, 4, 1, 0), (512, 4, 2, 1), (256, 4, 2, 1),
                       (128, 4, 2, 1), (1, 4, 2, 1)],
    ("defender", 64): [(1024, 4, 1, 0), (128, 4, 4, 0), (1, 4, 4, 0)],
}


class DigitClassifier(nn.Module):
    """Target classifier for ``(B, 1, 28, 28)`` images in [0, 1]; returns logits
    ``(B, num_classes)``."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 64, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        )
        self.head = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def confidence_features(probs: torch.Tensor, top_k: int, shift: float = 50.0
                        ) -> torch.Tensor:
    """Turn released probability vectors into the inversion model's input.

    Keeps the ``top_k`` largest entries of each row, takes their log (clamped at
    -1000 so that a zero probability stays finite), adds ``shift``, lifts each row
    so that its smallest kept value is at least 0, and puts the values back at
    their positions in a vector of zeros.

    Args:
        probs: ``(B, K)`` probabilities (rows sum to 1).
        top_k: entries kept, ``1 <= top_k <= K``.
        shift: the constant ``c`` added to the log-confidences (50 in Yang et al.).

    Returns:
        ``(B, K)`` non-negative features, differentiable with respect to ``probs``.
    """
    values, index = probs.topk(top_k, dim=1)
    logs = torch.log(values.clamp_min(torch.finfo(probs.dtype).tiny))
    logs = logs.clamp_min(-1000.0) + shift
    logs = logs + F.relu(-logs.min(dim=1, keepdim=True).values)
    return torch.zeros_like(probs).scatter(1, index, logs)


class InversionModel(nn.Module):
    """Maps released probability vectors ``(B, K)`` to images ``(B, 1, H, W)`` in
    [0, 1].

    Args:
        num_classes: length ``K`` of the released vector.
        layers: ``(out_channels, kernel, stride, padding)`` per transposed
            convolution; see :data:`DECODERS`.
        top_k: how many top confidences the model sees (default: all).
        shift: constant added to the log-confidences.
    """

    def __init__(self, num_classes: int, layers: list[tuple[int, int, int, int]],
                 top_k: int | None = None, shift: float = 50.0):
        super().__init__()
        top_k = num_classes if top_k is None else top_k
        if not 1 <= top_k <= num_classes:
            raise ValueError(f"top_k must be in [1, {num_classes}], got {top_k}")
        self.num_classes, self.top_k, self.shift = num_classes, top_k, shift
        blocks: list[nn.Module] = []
        channels = num_classes
        for i, (out, kernel, stride, pad) in enumerate(layers):
            blocks.append(nn.ConvTranspose2d(channels, out, kernel, stride, pad))
            last = i == len(layers) - 1
            blocks += [nn.Sigmoid()] if last else [nn.BatchNorm2d(out), nn.Tanh()]
            channels = out
        self.decoder = nn.Sequential(*blocks)

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        features = confidence_features(probs, self.top_k, self.shift)
        return self.decoder(features[:, :, None, None])


def _inversion(role: str, num_classes: int, image_size: int, top_k: int | None
               ) -> InversionModel:
    if (role, image_size) not in DECODERS:
        sizes = sorted({size for _, size in DECODERS})
        raise ValueError(f"image_size must be one of {sizes}, got {image_size}")
    return InversionModel(num_classes, DECODERS[role, image_size], top_k)


def attacker_inversion(num_classes: int = 10, image_size: int = 28,
                       top_k: int | None = None) -> InversionModel:
    """The attacker's inversion model (Yang et al.'s decoder)."""
    return _inversion("attacker", num_classes, image_size, top_k)


def defender_inversion(num_classes: int = 10, image_size: int = 28,
                       top_k: int | None = None) -> InversionModel:
    """The defender's own inversion model: the attacker's with two hidden layers
    removed."""
    return _inversion("defender", num_classes, image_size, top_k)
