"""The defenses the paper compares against, and the ones practitioners try first.

Every class here has the call shape of :class:`mi_lib.defense.OutputDefense`:
the target's logits ``c0`` ``(B, K)`` in (plus the images where a defense needs
them), released logits ``(B, K)`` out. Defenses that release probabilities return
:func:`mi_lib.defense.probs_to_logits` of them, so that an unchanged release has
zero logit distortion and all rows of Table I are measured on one scale.

* Prediction purification, PPF (Yang et al. 2020): :class:`Purifier`, an
  autoencoder on the confidence vector trained by :func:`train_purifier`
  alternately against an inversion model; released by :class:`PPFDefense`.
* Mutual information regularisation, MID (Wang, Zhang, Jia 2021):
  :class:`VIBClassifier`, the target retrained with a variational information
  bottleneck (loss :func:`vib_loss`); released by :class:`MIDDefense`.
* Simple output perturbations: :class:`GaussianNoise`, :class:`LaplaceNoise`,
  :class:`Rounding`, :class:`TopK`, :class:`LabelOnly`, :class:`ReverseSigmoid`.
* :func:`with_label_modifier` follows any of them by the paper's label modifier.

Zeroed probabilities are released at the floor of
:func:`~mi_lib.defense.probs_to_logits` (``1e-30``, a logit about 69 below the
normaliser). The logit distortion of rounding, top-k and label-only release
therefore depends on that floor; compare them by probability distortion too.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .defense import OutputDefense, keep_label, probs_to_logits
from .models import DigitClassifier
from .training import resolve_device, seed_everything


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    number = isinstance(value, (int, float)) and math.isfinite(value)
    if not (number and (value >= 0 if allow_zero else value > 0)):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {bound} finite number, got {value!r}")
    return float(value)


class LabelModified:
    """``defense`` followed by the label modifier: the released vector's argmax is
    the undefended one, ``argmax c0``. Build it with :func:`with_label_modifier`."""

    def __init__(self, defense: OutputDefense):
        self.defense = defense
        self.name = f"{defense.name}+lm"

    def __call__(self, logits: torch.Tensor, images: torch.Tensor | None = None
                 ) -> torch.Tensor:
        return keep_label(self.defense(logits, images), logits)


def with_label_modifier(defense: OutputDefense) -> LabelModified:
    """Apply :func:`mi_lib.defense.keep_label` after any output defense.

    The result is named ``"<name>+lm"`` (e.g. ``"ppf+lm"``) and keeps the
    accuracy of the undefended target: only the entry of the original label is
    lifted, by the smallest amount that puts it back on top.
    """
    if not callable(defense) or not hasattr(defense, "name"):
        raise ValueError("defense must be an output defense: a callable with a name")
    return LabelModified(defense)


# --- Simple output perturbations -------------------------------------------------

class GaussianNoise:
    """Adds ``N(0, sigma^2)`` noise to every logit.

    Args:
        sigma: standard deviation, ``>= 0``; the expected logit distortion is
            ``sigma * sqrt(2 / pi)``.
        seed: seeds the noise, so that a fresh defense releases the same vectors.
    """

    name = "gaussian"

    def __init__(self, sigma: float = 1.0, seed: int = 0):
        self.sigma = _check_positive("sigma", sigma, allow_zero=True)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, logits, images=None):
        noise = torch.randn(logits.shape, generator=self.generator)
        return logits.detach() + self.sigma * noise.to(logits.device)


class LaplaceNoise:
    """Adds Laplace noise of scale ``b`` to every logit (the Laplace mechanism's
    shape; no privacy guarantee is claimed for these logits).

    Args:
        b: scale, ``>= 0``; the expected logit distortion is ``b``.
        seed: seeds the noise.
    """

    name = "laplace"

    def __init__(self, b: float = 1.0, seed: int = 0):
        self.b = _check_positive("b", b, allow_zero=True)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, logits, images=None):
        u = 2 * torch.rand(logits.shape, generator=self.generator) - 1
        u = u.clamp_min(torch.finfo(u.dtype).eps - 1)  # |u| < 1: finite noise
        noise = -torch.sign(u) * torch.log1p(-u.abs())
        return logits.detach() + self.b * noise.to(logits.device)


class Rounding:
    """Rounds every probability to ``decimals`` decimal places.

    Probabilities below ``0.5 * 10**-decimals`` become zero. The rounded vector
    need not sum to one; the black box releases it renormalised (``softmax`` of
    the returned logits).

    Args:
        decimals: decimal places kept, an integer ``>= 0`` (fewer is stronger).
    """

    name = "rounding"

    def __init__(self, decimals: int = 2):
        if not (isinstance(decimals, int) and decimals >= 0):
            raise ValueError(f"decimals must be an integer >= 0, got {decimals!r}")
        self.decimals = decimals

    def __call__(self, logits, images=None):
        c0 = logits.detach()
        rounded = torch.round(F.softmax(c0, dim=1), decimals=self.decimals)
        return probs_to_logits(rounded, c0)


class TopK:
    """Releases only the ``k`` largest probabilities; the others become zero.

    Args:
        k: entries kept, ``1 <= k``; ``k = 1`` is label-only release and ``k >= K``
            changes nothing.
    """

    name = "top-k"

    def __init__(self, k: int = 3):
        if not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        self.k = k

    def __call__(self, logits, images=None):
        c0 = logits.detach()
        probs = F.softmax(c0, dim=1)
        k = min(self.k, probs.shape[1])
        index = probs.topk(k, dim=1).indices
        kept = torch.zeros_like(probs).scatter(1, index, probs.gather(1, index))
        return probs_to_logits(kept, c0)


class LabelOnly:
    """Releases the one-hot vector of the predicted label.

    The label's logit is ``logsumexp(c0)`` and every other logit lies
    ``-log(1e-30)``, about 69, below it: a large finite gap, so the softmax is
    one-hot to float precision and the logits stay finite.
    """

    name = "label-only"

    def __call__(self, logits, images=None):
        c0 = logits.detach()
        one_hot = F.one_hot(c0.argmax(dim=1), c0.shape[1]).to(c0.dtype)
        return probs_to_logits(one_hot, c0)


class ReverseSigmoid:
    """The reverse-sigmoid perturbation of Lee et al. (2019), *Defending Against
    Neural Network Model Stealing Attacks Using Deceptive Perturbations*.

    With ``s`` the sigmoid and ``s^{-1}(y) = log(y / (1 - y))`` its inverse, each
    probability ``y`` becomes

        ``y' = alpha * (y - beta * (s(gamma * s^{-1}(y)) - 1/2))``,

    where ``alpha`` renormalises the vector to sum to one (entries pushed below
    zero are set to zero first). Probabilities below 1/2 are raised and the top
    one is lowered, so large ``beta`` may change the label; follow it with
    :func:`with_label_modifier` to prevent that.

    Args:
        beta: strength, ``>= 0`` (``0`` changes nothing).
        gamma: sharpness, ``> 0`` (``1`` makes the map affine:
            ``y' ∝ (1 - beta) y + beta / 2``).
        clip: probabilities are clipped to ``[clip, 1 - clip]`` before ``s^{-1}``.
    """

    name = "reverse-sigmoid"

    def __init__(self, beta: float = 0.5, gamma: float = 0.1, clip: float = 1e-9):
        self.beta = _check_positive("beta", beta, allow_zero=True)
        self.gamma = _check_positive("gamma", gamma)
        if not 0 < clip < 0.5:
            raise ValueError(f"clip must lie in (0, 0.5), got {clip!r}")
        self.clip = clip

    def __call__(self, logits, images=None):
        c0 = logits.detach()
        y = F.softmax(c0.double(), dim=1)
        y_clipped = y.clamp(self.clip, 1 - self.clip)
        r = self.beta * (torch.sigmoid(self.gamma * torch.logit(y_clipped)) - 0.5)
        perturbed = (y - r).clamp_min(0)
        perturbed = perturbed / perturbed.sum(dim=1, keepdim=True)
        return probs_to_logits(perturbed, c0.double()).to(c0.dtype)


# --- Prediction purification (PPF) ------------------------------------------------

class Purifier(nn.Module):
    """PPF's purifier: an MLP autoencoder on the log-confidence vector.

    It reads ``log softmax(c0)`` clamped at ``-floor`` and divided by ``floor``
    (inputs in ``[-1, 0]``), encodes it into a ``code``-wide layer and decodes
    new logits ``u``. The purified vector is ``softmax(u)``; the module
    returns it as logits aligned with ``c0``: ``log_softmax(u) + logsumexp(c0)``.

    Args:
        num_classes: ``K``.
        hidden: width of the two hidden layers.
        code: width of the code between encoder and decoder.
        floor: log-confidences below ``-floor`` are treated as equal.
    """

    def __init__(self, num_classes: int = 10, hidden: int = 128, code: int = 32,
                 floor: float = 30.0):
        super().__init__()
        self.floor = floor
        self.encoder = nn.Sequential(nn.Linear(num_classes, hidden), nn.ReLU(),
                                     nn.Linear(hidden, code), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(),
                                     nn.Linear(hidden, num_classes))

    def forward(self, c0: torch.Tensor) -> torch.Tensor:
        z = F.log_softmax(c0, dim=1).clamp_min(-self.floor) / self.floor
        u = self.decoder(self.encoder(z))
        return F.log_softmax(u, dim=1) + torch.logsumexp(c0, dim=1, keepdim=True)


def purifier_utility(released: torch.Tensor, c0: torch.Tensor, floor: float = 30.0
                     ) -> torch.Tensor:
    """PPF's utility loss: distance to the original vector plus the cross-entropy
    of the released vector to the original label ``argmax c0``.

    The distance is the mean absolute difference of the log-confidences, each
    clamped at ``-floor``: the scale on which Table I measures distortion. (PPF
    states its distance on probabilities; there the tiny entries, which carry
    most of what an inversion model reads, cost nothing.)

    Args:
        released: ``(B, K)`` the purifier's output logits.
        c0: ``(B, K)`` the target's logits.
        floor: log-confidences below ``-floor`` count as equal.

    Returns:
        A scalar: batch mean of the L1 term plus batch mean of the cross-entropy.
    """
    log_released = F.log_softmax(released, dim=1).clamp_min(-floor)
    log_original = F.log_softmax(c0, dim=1).clamp_min(-floor)
    l1 = (log_released - log_original).abs().mean()
    return l1 + F.cross_entropy(released, c0.argmax(dim=1))


def train_purifier(purifier: Purifier, inversion_model: nn.Module,
                   logits: torch.Tensor, images: torch.Tensor, epochs: int,
                   lam: float = 100.0, batch_size: int = 64, lr: float = 3e-3,
                   seed: int = 0, device: str = "auto", progress: bool = True
                   ) -> dict[str, list[float]]:
    """Train the purifier and an inversion model against each other (PPF).

    On every batch, (a) the inversion model takes one Adam step to reconstruct
    the images from the purified vectors, then (b) the purifier takes one step
    on ``utility - lam * MSE`` (:func:`purifier_utility`; the MSE is the
    inversion model's, so the purifier learns to hide what it can hide).

    Args:
        purifier: the :class:`Purifier` to train.
        inversion_model: the defender's inversion model (probabilities ``(B, K)``
            to images); trained from scratch alongside.
        logits: ``(N, K)`` the target's logits on the defender's images.
        images: ``(N, 1, H, W)`` those images, in [0, 1].
        epochs: passes over the data.
        lam: weight of the privacy term, ``>= 0`` (``0``: a plain autoencoder).

    Returns:
        Per-epoch means: ``{"utility": [...], "inversion_mse": [...]}``.
    """
    _check_positive("lam", lam, allow_zero=True)
    generator = seed_everything(seed)
    dev = resolve_device(device)
    purifier.to(dev).train()
    inversion_model.to(dev).train()
    opt_purifier = torch.optim.Adam(purifier.parameters(), lr=lr)
    opt_inversion = torch.optim.Adam(inversion_model.parameters(), lr=lr,
                                     betas=(0.5, 0.999))
    history: dict[str, list[float]] = {"utility": [], "inversion_mse": []}
    for _ in tqdm(range(epochs), desc="ppf", disable=not progress, leave=False):
        utility_sum = mse_sum = 0.0
        for idx in torch.randperm(len(images), generator=generator).split(batch_size):
            c0, x = logits[idx].to(dev), images[idx].to(dev)

            with torch.no_grad():
                purified = F.softmax(purifier(c0), dim=1)
            inversion_loss = F.mse_loss(inversion_model(purified), x)
            opt_inversion.zero_grad()
            inversion_loss.backward()
            opt_inversion.step()

            released = purifier(c0)
            utility = purifier_utility(released, c0, purifier.floor)
            privacy = F.mse_loss(inversion_model(F.softmax(released, dim=1)), x)
            opt_purifier.zero_grad()
            (utility - lam * privacy).backward()
            opt_purifier.step()

            utility_sum += utility.item() * len(idx)
            mse_sum += inversion_loss.item() * len(idx)
        history["utility"].append(utility_sum / len(images))
        history["inversion_mse"].append(mse_sum / len(images))
    purifier.eval()
    inversion_model.eval()
    return history


class PPFDefense:
    """Releases the purified vector of a trained :class:`Purifier`.

    PPF may change the label; :func:`with_label_modifier` restores it.
    """

    name = "ppf"

    def __init__(self, purifier: Purifier):
        self.purifier = purifier.eval()

    @torch.no_grad()
    def __call__(self, logits, images=None):
        return self.purifier(logits.detach())


# --- Mutual information regularisation (MID) --------------------------------------

class VIBClassifier(nn.Module):
    """The digit classifier with a variational information bottleneck head (MID).

    The features of :class:`~mi_lib.models.DigitClassifier` are mapped to a mean
    ``mu`` and a standard deviation ``std = softplus(s - 5)`` of a ``dim``-wide
    Gaussian code ``z``; a linear layer maps ``z`` to the class logits. Training
    samples ``z = mu + std * noise``; evaluation uses ``z = mu``.

    Args:
        num_classes: ``K``.
        dim: width of the code ``z``.

    Call it with images ``(B, 1, 28, 28)`` in [0, 1]; it returns logits ``(B, K)``.
    """

    def __init__(self, num_classes: int = 10, dim: int = 64):
        super().__init__()
        if not (isinstance(dim, int) and dim >= 1):
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        backbone = DigitClassifier(num_classes)
        self.features = backbone.features
        self.encoder = nn.Linear(backbone.head.in_features, 2 * dim)
        self.head = nn.Linear(dim, num_classes)
        self.dim = dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mu`` and ``std`` of the code, each ``(B, dim)``."""
        mu, s = self.encoder(self.features(x)).chunk(2, dim=1)
        return mu, F.softplus(s - 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, std = self.encode(x)
        z = mu + std * torch.randn_like(std) if self.training else mu
        return self.head(z)


def kl_to_standard_normal(mu: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, std^2) || N(0, I))`` per row, ``(B,)``."""
    return 0.5 * (mu.pow(2) + std.pow(2) - 1 - 2 * torch.log(std)).sum(dim=1)


def vib_loss(model: VIBClassifier, x: torch.Tensor, y: torch.Tensor,
             beta: float) -> torch.Tensor:
    """MID's training loss: ``cross-entropy + beta * KL`` with a sampled code.

    Pass it to :func:`mi_lib.training.train_classifier` as
    ``loss_fn=lambda m, x, y: vib_loss(m, x, y, beta)``.
    """
    mu, std = model.encode(x)
    z = mu + std * torch.randn_like(std)
    cross_entropy = F.cross_entropy(model.head(z), y)
    return cross_entropy + beta * kl_to_standard_normal(mu, std).mean()


def vib_loss_fn(beta: float) -> Callable:
    """``loss_fn`` for :func:`~mi_lib.training.train_classifier` with weight ``beta``.

    Raises:
        ValueError: ``beta`` is negative or not finite.
    """
    beta = _check_positive("beta", beta, allow_zero=True)
    return lambda model, x, y: vib_loss(model, x, y, beta)


class MIDDefense:
    """Releases the MID model's vector instead of the target's.

    MID is not an output defense: it replaces the target. To sit in the same
    table, this wrapper ignores the logits it is given except as the reference
    ``c0`` and releases ``softmax(mid_model(x))`` as logits aligned with
    ``c0`` (:func:`~mi_lib.defense.probs_to_logits`). Logit distortion is
    therefore measured against the *undefended* target's logits, and the attack
    runs on the MID model's outputs, as in the paper's Table I.
    """

    name = "mid"

    def __init__(self, mid_model: VIBClassifier):
        self.mid_model = mid_model.eval()

    @torch.no_grad()
    def __call__(self, logits, images=None):
        if images is None:
            raise ValueError("MID releases its own model's output and needs the images")
        probs = F.softmax(self.mid_model(images), dim=1)
        return probs_to_logits(probs, logits.detach())
