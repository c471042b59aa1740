"""The adversarial-noise defense of Wen, Yiu and Hui (IEEE CSR 2021).

The classifier's logits ``c0`` are perturbed to ``c = c0 + n`` before release, so
that the released vector ``softmax(c)`` makes an inversion model reconstruct
something far from the input, while the predicted label stays the same.

* :func:`label_modifier` — the paper's ``m_l``: lifts the original label back to
  the top. Any output defense can be followed by it (:func:`keep_label`).
* :func:`project` — shrinks the noise onto the Lp ball of radius ``eps``.
* :func:`get_noise` — Algorithm 1, one sign-gradient step.
* :class:`AdversarialNoiseDefense` — Algorithm 2, ``steps`` (the paper's T)
  iterations against the defender's own inversion model.

Every function works on a batch: argmax, max and norms are taken per row.

Every defense in this library has one call shape, :class:`OutputDefense`: logits
``(B, K)`` in, plus the images where the defense needs them, released logits out.
The black box then releases ``softmax`` of those logits.
"""

from __future__ import annotations

import math
import numbers
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

NORMS = (1, 2, math.inf)


class OutputDefense(Protocol):
    """What every output defense looks like to the attack, metrics and sweeps."""

    name: str

    def __call__(self, logits: torch.Tensor, images: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """Map logits ``(B, K)`` (and images ``(B, 1, H, W)``) to released logits."""


class NoDefense:
    """Releases the logits unchanged."""

    name = "none"

    def __call__(self, logits, images=None):
        return logits.detach().clone()


def _check_eta(eta: float) -> float:
    if isinstance(eta, bool) or not (isinstance(eta, numbers.Real) and math.isfinite(eta)
                                     and eta >= 0):
        raise ValueError(f"eta must be a finite, non-negative step size, got {eta!r}")
    return float(eta)


def _check_p(p: float) -> float:
    if p not in NORMS:
        raise ValueError(f"p must be one of 1, 2 or math.inf, got {p!r}")
    return p


def _margin(c: torch.Tensor) -> torch.Tensor:
    """A gap large enough to survive float rounding at the logits' magnitude."""
    scale = c.abs().amax(dim=1, keepdim=True)
    return 1e-3 + 1e-6 * scale


def label_modifier(c: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Add ``m_l = ReLU(max_j c_j - c_l + margin)`` to entry ``l = label``.

    The paper's modifier brings ``c_l`` level with the maximum; we add a tiny
    margin so that the original label wins ties as well, whatever the sign and
    size of the logits, and stays on top after ``softmax`` rounds the released
    probabilities.

    Args:
        c: ``(B, K)`` logits after some perturbation.
        label: ``(B,)`` the labels to keep (usually ``argmax c0``).

    Returns:
        ``(B, K)`` logits whose row-wise argmax is ``label``; rows whose label
        already leads by the margin are returned unchanged.
    """
    c_l = c.gather(1, label[:, None])
    others = c.scatter(1, label[:, None], float("-inf"))
    needed = others.amax(dim=1, keepdim=True) + _margin(c)
    return c.scatter(1, label[:, None], torch.maximum(c_l, needed))


def keep_label(released: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
    """Follow any defense by the label modifier: keep ``argmax c0`` on top."""
    return label_modifier(released, c0.argmax(dim=1))


def project(n: torch.Tensor, eps: float | None, p: float = 2) -> torch.Tensor:
    """Scale each row of ``n`` down to ``||n||_p <= eps``; ``eps=None`` keeps ``n``.

    Raises:
        ValueError: ``eps`` is not positive, or ``p`` is not 1, 2 or inf.
    """
    _check_p(p)
    if eps is None:
        return n
    if not eps > 0:
        raise ValueError(f"eps must be positive or None (no budget), got {eps!r}")
    norm = torch.linalg.vector_norm(n, ord=p, dim=1, keepdim=True)
    scale = torch.where(norm > eps, eps / norm.clamp_min(1e-30), torch.ones_like(norm))
    return n * scale


def get_noise(c0: torch.Tensor, ct: torch.Tensor, grad: torch.Tensor, eta: float,
              eps: float | None = None, p: float = 2) -> torch.Tensor:
    """Algorithm 1: one sign-gradient step, the label modifier, the projection.

    Args:
        c0: ``(B, K)`` the model's original logits.
        ct: ``(B, K)`` the current perturbed logits.
        grad: ``(B, K)`` gradient of the reconstruction error with respect to ``ct``.
        eta: step size (0.1 for digits in the paper).
        eps: noise budget in the Lp norm; ``None`` for no projection.
        p: 1, 2 or ``math.inf``.

    Returns:
        The noise ``n`` with ``argmax(c0 + n) == argmax(c0)`` in every row, also
        after ``softmax``, and ``||n||_p <= eps``. Scaling the noise down keeps the
        label in exact arithmetic; a row where float rounding would still lose it
        (a budget far below the margin) gets ``n = 0``, which releases ``c0``.

    Raises:
        ValueError: ``eta`` is negative or not finite; ``eps`` or ``p`` as in
            :func:`project`.
    """
    _check_eta(eta)
    label = c0.argmax(dim=1)
    c = ct + eta * grad.sign()
    c = label_modifier(c, label)
    n = project(c - c0, eps, p)
    c = c0 + n
    lost = (c.argmax(dim=1) != label) | (F.softmax(c, dim=1).argmax(dim=1) != label)
    return torch.where(lost[:, None], torch.zeros_like(n), n)


def reconstruction_error(inversion_model: nn.Module, c: torch.Tensor,
                         images: torch.Tensor) -> torch.Tensor:
    """``R(x, A(softmax(c)))``: per-pixel MSE, summed over the batch so that each
    row's gradient is that row's own."""
    recon = inversion_model(F.softmax(c, dim=1))
    return F.mse_loss(recon, images, reduction="none").flatten(1).mean(1).sum()


class AdversarialNoiseDefense:
    """Algorithm 2: ``steps`` iterations of :func:`get_noise` against the defender's
    inversion model.

    Args:
        inversion_model: the defender's own inversion model ``A`` (any module
            mapping probabilities ``(B, K)`` to images).
        eta: step size (paper: 0.1 digits, 0.4 faces, 1.0 "high distortion").
        steps: iterations T (paper: 10).
        eps: Lp budget of the noise, or ``None`` (the paper's experiments: then
            ``eta * steps`` bounds each entry of the noise).
        p: 1, 2 or ``math.inf``.

    Call it with logits ``(B, K)`` and the images ``(B, 1, H, W)`` in [0, 1] that
    produced them; it returns the released logits ``c0 + n``.
    """

    name = "ours"

    def __init__(self, inversion_model: nn.Module, eta: float = 0.1, steps: int = 10,
                 eps: float | None = None, p: float = 2):
        eta = _check_eta(eta)
        if isinstance(steps, bool) or not (isinstance(steps, numbers.Integral)
                                           and steps >= 1):
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        project(torch.zeros(1, 1), eps, p)  # validates eps and p
        self.inversion_model = inversion_model.eval()
        self.eta, self.steps, self.eps, self.p = eta, int(steps), eps, p

    def __call__(self, logits: torch.Tensor, images: torch.Tensor | None = None
                 ) -> torch.Tensor:
        if images is None:
            raise ValueError("the adversarial-noise defense needs the input images")
        c0 = logits.detach()
        c = c0.clone()
        for _ in range(self.steps):
            with torch.enable_grad():
                c.requires_grad_(True)
                loss = reconstruction_error(self.inversion_model, c, images)
                (grad,) = torch.autograd.grad(loss, c)
            n = get_noise(c0, c.detach(), grad, self.eta, self.eps, self.p)
            c = c0 + n
        return c.detach()


def probs_to_logits(probs: torch.Tensor, c0: torch.Tensor,
                    floor: float = 1e-30) -> torch.Tensor:
    """Logits of released probabilities, on the same scale as ``c0``.

    ``log(probs) + logsumexp(c0)`` equals ``c0`` exactly when ``probs`` is
    ``softmax(c0)``, so a defense that releases probabilities gets a logit
    distortion of zero when it changes nothing. Zeros are floored at ``floor``.
    """
    return torch.log(probs.clamp_min(floor)) + torch.logsumexp(c0, dim=1, keepdim=True)
