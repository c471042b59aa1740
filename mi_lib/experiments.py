"""The functions behind every table row and curve, shared by the CLI and the book.

:func:`prepare` trains (or loads from the cache) the target classifier, the
attacker's inversion model, the defender's inversion model and the label-only
reference model for one profile, data source and seed. :func:`evaluate` runs one
output defense on the victims and returns a Table I row; :func:`reproduce` writes
the whole table to ``results.json`` with a figure of reconstructions.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from . import metrics
from .attack import logits_of, reconstruct, release
from .data import DigitData, load_digits
from .defense import AdversarialNoiseDefense, NoDefense, OutputDefense
from .models import DECODERS, DigitClassifier, attacker_inversion, defender_inversion
from .profiles import Profile, get_profile
from .training import cached_model, resolve_device, train_classifier, train_inversion

logger = logging.getLogger(__name__)

CACHE_VERSION = 2  # bump when training code changes what a cached model holds


@dataclass
class Setup:
    """Everything a chapter needs: data, trained models and the victims' logits."""

    profile: Profile
    data: DigitData
    seed: int
    target: torch.nn.Module
    attacker: torch.nn.Module
    defender: torch.nn.Module
    label_only: torch.nn.Module
    test_logits: torch.Tensor
    aux_logits: torch.Tensor
    cache: str | None = None

    @property
    def device(self) -> torch.device:
        return next(self.target.parameters()).device


def _config(profile: Profile, data: DigitData, seed: int, role: str) -> dict:
    training = {k: v for k, v in dataclasses.asdict(profile).items()
                if k.startswith(("target_", "inversion_")) or k == "top_k"}
    return {"version": CACHE_VERSION, "role": role, "seed": seed,
            "data": data.source, "aux": data.aux_source,
            "n_train": len(data.private_train), "n_aux": len(data.aux),
            "training": training, "decoders": {str(k): v for k, v in DECODERS.items()}}


def one_hot_logits(logits: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is (numerically) the one-hot of the argmax: what a
    label-only API releases."""
    return F.one_hot(logits.argmax(dim=1), logits.shape[1]).float() * 1e3


def prepare(profile: Profile | str | None = None, data: str | None = None,
            seed: int = 0, cache: str | None = None, progress: bool = True,
            data_root: str | None = None, download: bool = True) -> Setup:
    """Load the data and get every model of the basic experiment, trained or cached.

    Args:
        profile: a :class:`Profile` or its name (default: ``$MI_PROFILE`` or quick).
        data: ``"embedded"`` or ``"mnist"`` (default: the profile's).
        seed: seeds the split and all training.
        cache: model cache folder (default ``$MI_CACHE_DIR`` or
            ``~/.cache/mi_lib/models``).
        progress: show tqdm progress bars.
        data_root: where full data sets are looked for (default ``$MI_DATA_ROOT``).
        download: let torchvision download full data sets that are missing.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    digits = load_digits(data or profile.data, root=data_root, seed=seed,
                         n_private_test=profile.n_private_test, download=download)
    device = str(resolve_device(profile.device))
    p = profile

    def fit_target(model):
        train_classifier(model, digits.private_train.images, digits.private_train.labels,
                         p.target_epochs, p.target_batch, p.target_lr, seed, device,
                         progress=progress)

    target = cached_model("target", _config(p, digits, seed, "target"),
                          DigitClassifier, fit_target, cache, device, seed)
    aux_logits = logits_of(target, digits.aux.images)

    def inversion(role, build, vectors):
        def fit(model):
            train_inversion(model, vectors, digits.aux.images, p.inversion_epochs,
                            p.inversion_batch, p.inversion_lr, seed, device,
                            progress=progress)
        return cached_model(role, _config(p, digits, seed, role),
                            lambda: build(digits.num_classes, 28, p.top_k), fit,
                            cache, device, seed)

    aux_probs = F.softmax(aux_logits, dim=1)
    attacker = inversion("attacker", attacker_inversion, aux_probs)
    defender = inversion("defender", defender_inversion, aux_probs)
    label_only = inversion("label_only", attacker_inversion,
                           F.softmax(one_hot_logits(aux_logits), dim=1))
    return Setup(p, digits, seed, target, attacker, defender, label_only,
                 logits_of(target, digits.private_test.images), aux_logits, cache)


def our_defense(setup: Setup, eta: float | None = None, steps: int | None = None,
                eps: float | None = None, p: float | None = None
                ) -> AdversarialNoiseDefense:
    """Algorithm 2 against the setup's defender model, with the profile's settings
    unless given."""
    prof = setup.profile
    return AdversarialNoiseDefense(
        setup.defender, eta=prof.eta if eta is None else eta,
        steps=prof.steps if steps is None else steps,
        eps=prof.eps if eps is None else eps, p=prof.p if p is None else p)


def evaluate(setup: Setup, defense: OutputDefense, name: str | None = None,
             logits: torch.Tensor | None = None, attacker: torch.nn.Module | None = None,
             ) -> tuple[dict, torch.Tensor]:
    """Release the victims' vectors through ``defense`` and attack them.

    Args:
        setup: from :func:`prepare`.
        defense: any :class:`~mi_lib.defense.OutputDefense`.
        name: the row's name (default ``defense.name``).
        logits: the victims' logits before the defense (default: the target's;
            a defense that retrains the target passes its own model's logits).
        attacker: inversion model to attack with (default: the setup's attacker).

    Returns:
        The row ``{defense, accuracy, logit_distortion, prob_distortion, mse}`` and
        the reconstructions ``(N, 1, H, W)``.
    """
    c0 = setup.test_logits if logits is None else logits
    images = setup.data.private_test.images
    released = release(c0, images, defense, device=setup.device)
    recon = reconstruct(attacker or setup.attacker, released)
    row = {
        "defense": name or defense.name,
        "accuracy": metrics.accuracy(released, setup.data.private_test.labels),
        "logit_distortion": metrics.logit_distortion(c0, released),
        "prob_distortion": metrics.prob_distortion(c0, released),
        "mse": metrics.mse(images, recon),
    }
    return row, recon


def references(setup: Setup) -> dict:
    """MSE of the label-only and mean-image reference attackers on the victims."""
    released = one_hot_logits(setup.test_logits)
    recon = reconstruct(setup.label_only, released)
    images = setup.data.private_test.images
    return {"label_only_mse": metrics.mse(images, recon),
            "mean_image_mse": metrics.mean_image_mse(setup.data.aux.images, images)}


def reproduce(profile: Profile | str | None = None, data: str | None = None,
              seed: int = 0, out: str | Path = "results", cache: str | None = None,
              progress: bool = True, data_root: str | None = None,
              download: bool = True) -> dict:
    """Run the basic experiment and write ``results.json`` and ``reconstructions.png``.

    Returns:
        The results dictionary that was written.
    """
    from .plots import reconstruction_grid

    start = time.perf_counter()
    setup = prepare(profile, data, seed, cache, progress, data_root, download)
    rows, recons = [], {}
    for defense in (NoDefense(), our_defense(setup)):
        row, recon = evaluate(setup, defense)
        rows.append(row)
        recons[row["defense"]] = recon
    results = {
        "profile": setup.profile.name,
        "dataset": setup.data.source,
        "aux": setup.data.aux_source,
        "seed": seed,
        "defense_settings": {"eta": setup.profile.eta, "steps": setup.profile.steps,
                             "eps": setup.profile.eps, "p": str(setup.profile.p)},
        "rows": rows,
        "references": references(setup),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    images = setup.data.private_test.images
    fig = reconstruction_grid({"original": images, "no defense": recons["none"],
                               "our defense": recons["ours"]}, n=10)
    fig.savefig(out / "reconstructions.png", dpi=120, bbox_inches="tight")
    logger.info("wrote %s", out / "results.json")
    return results
