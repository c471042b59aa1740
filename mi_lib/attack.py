"""The black-box inversion attack of Yang et al. (CCS 2019).

The attacker queries the released model on auxiliary images it owns, trains an
inversion model on the (vector, image) pairs with an MSE loss
(:func:`mi_lib.training.train_inversion`), then applies it to the vectors released
for the victims. This module holds the querying and reconstruction steps; both
run in batches so that full-size test sets fit in memory.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .defense import NoDefense, OutputDefense


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def logits_of(target_model: nn.Module, images: torch.Tensor, batch_size: int = 1000
              ) -> torch.Tensor:
    """The target's logits ``c0`` ``(N, K)`` for images ``(N, 1, H, W)``, on the CPU."""
    target_model.eval()
    dev = _device_of(target_model)
    return torch.cat([target_model(images[i:i + batch_size].to(dev)).cpu()
                      for i in range(0, len(images), batch_size)])


def release(logits: torch.Tensor, images: torch.Tensor,
            defense: OutputDefense | None = None, batch_size: int = 1000,
            device: torch.device | str = "cpu") -> torch.Tensor:
    """What the black box returns: ``defense(c0, x)`` released logits ``(N, K)``.

    The probabilities the attacker sees are ``softmax`` of the result. Runs the
    defense on ``device`` in batches and returns CPU tensors.
    """
    defense = defense or NoDefense()
    out = []
    for i in range(0, len(logits), batch_size):
        c0 = logits[i:i + batch_size].to(device)
        x = images[i:i + batch_size].to(device)
        out.append(defense(c0, x).detach().cpu())
    return torch.cat(out)


@torch.no_grad()
def reconstruct(inversion_model: nn.Module, released_logits: torch.Tensor,
                batch_size: int = 1000) -> torch.Tensor:
    """The attacker's reconstructions ``(N, 1, H, W)`` in [0, 1] from released
    logits ``(N, K)`` (the model sees ``softmax`` of them, as the attacker does)."""
    inversion_model.eval()
    dev = _device_of(inversion_model)
    probs = F.softmax(released_logits, dim=1)
    return torch.cat([inversion_model(probs[i:i + batch_size].to(dev)).cpu()
                      for i in range(0, len(probs), batch_size)])
