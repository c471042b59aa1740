"""The functions behind every table row and curve, shared by the CLI and the book.

:func:`prepare` trains (or loads from the cache) the target classifier, the
attacker's inversion model, the defender's inversion model and the label-only
reference model for one profile, data source and seed (:func:`target_model`
gets the target classifier alone);
:func:`prepare_baselines` adds the PPF purifier, the MID model and the attacker
of the MID model. :func:`evaluate` runs one output defense on the victims and
returns a Table I row; :func:`table_rows` runs every defense of Table I and
:func:`reproduce` writes the whole table to ``results.json`` with a figure of
reconstructions.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from . import metrics
from .attack import logits_of, reconstruct, release
from .data import DigitData, load_digits
from .baselines import (GaussianNoise, LabelOnly, LaplaceNoise, MIDDefense,
                        PPFDefense, Purifier, ReverseSigmoid, Rounding, TopK,
                        VIBClassifier, train_purifier, vib_loss_fn,
                        with_label_modifier)
from .defense import AdversarialNoiseDefense, NoDefense, OutputDefense
from .models import DECODERS, DigitClassifier, attacker_inversion, defender_inversion
from .profiles import Profile, resolve_parameters
from .training import (cached_model, resolve_device, train_classifier, train_inversion,
                       usable_folder)

CACHE_VERSION = 2  # bump when training code changes what a cached model holds
BASELINE_VERSION = 1  # the same, for the PPF and MID models


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


def target_model(profile: Profile, digits: DigitData, seed: int,
                 cache: str | None = None, progress: bool = True) -> torch.nn.Module:
    """Train (or load from the cache) the target classifier F alone, on the private
    training set of ``digits``; the same model :func:`prepare` returns."""
    device = str(resolve_device(profile.device))
    p = profile

    def fit(model):
        train_classifier(model, digits.private_train.images, digits.private_train.labels,
                         p.target_epochs, p.target_batch, p.target_lr, seed, device,
                         progress=progress)

    return cached_model("target", _config(p, digits, seed, "target"),
                        DigitClassifier, fit, cache, device, seed)


def prepare(profile: Profile | str | None = None, data: str | None = None,
            seed: int | None = None, cache: str | None = None, progress: bool = True,
            data_root: str | None = None, download: bool = True) -> Setup:
    """Load the data and get every model of the basic experiment, trained or cached.

    Args:
        profile: a :class:`Profile` or its name (default: ``$MI_PROFILE`` or quick).
        data: ``"embedded"`` or ``"mnist"`` (default: ``$MI_DATA`` or the profile's).
        seed: seeds the split and all training (default: ``$MI_SEED`` or 0).
        cache: model cache folder (default ``$MI_CACHE_DIR`` or
            ``~/.cache/mi_lib/models``).
        progress: show tqdm progress bars.
        data_root: where full data sets are looked for (default ``$MI_DATA_ROOT``).
        download: let torchvision download full data sets that are missing.
    """
    profile, data, seed = resolve_parameters(profile, data, seed)
    digits = load_digits(data, root=data_root, seed=seed,
                         n_private_test=profile.n_private_test, download=download)
    device = str(resolve_device(profile.device))
    p = profile
    target = target_model(p, digits, seed, cache, progress)
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


def _baseline_config(setup: Setup, role: str, **settings) -> dict:
    config = _config(setup.profile, setup.data, setup.seed, role)
    return {**config, "baseline_version": BASELINE_VERSION, "settings": settings}


def ppf_model(setup: Setup, lam: float | None = None, progress: bool = True
              ) -> Purifier:
    """The PPF purifier trained against a defender's inversion model on the
    auxiliary data (the defender's own data), trained or cached.

    Args:
        setup: from :func:`prepare`.
        lam: weight of the privacy term (default: the profile's ``ppf_lambda``).
    """
    prof = setup.profile
    lam = prof.ppf_lambda if lam is None else lam
    epochs = prof.ppf_epochs or prof.inversion_epochs
    k, device = setup.data.num_classes, str(setup.device)
    config = _baseline_config(setup, "ppf", lam=lam, epochs=epochs, lr=prof.ppf_lr,
                              purifier=(128, 32, 30.0))

    def fit(purifier):
        train_purifier(purifier, defender_inversion(k, 28, prof.top_k),
                       setup.aux_logits, setup.data.aux.images, epochs, lam,
                       prof.inversion_batch, prof.ppf_lr, setup.seed, device, progress)

    return cached_model("ppf", config, lambda: Purifier(k, 128, 32, 30.0), fit,
                        setup.cache, device, setup.seed)


def mid_model(setup: Setup, beta: float | None = None, progress: bool = True
              ) -> VIBClassifier:
    """The target retrained on the private data with MID's information
    bottleneck (loss ``cross-entropy + beta * KL``), trained or cached.

    Args:
        setup: from :func:`prepare`.
        beta: weight of the KL term (default: the profile's ``mid_beta``).
    """
    prof = setup.profile
    beta = prof.mid_beta if beta is None else beta
    train, device = setup.data.private_train, str(setup.device)
    loss_fn = vib_loss_fn(beta)
    config = _baseline_config(setup, "mid", beta=beta, dim=prof.mid_dim)

    def fit(model):
        train_classifier(model, train.images, train.labels, prof.target_epochs,
                         prof.target_batch, prof.target_lr, setup.seed, device,
                         loss_fn=loss_fn, progress=progress)

    return cached_model("mid", config,
                        lambda: VIBClassifier(setup.data.num_classes, prof.mid_dim),
                        fit, setup.cache, device, setup.seed)


def mid_attacker(setup: Setup, beta: float | None = None, progress: bool = True,
                 model: VIBClassifier | None = None) -> torch.nn.Module:
    """The attacker of the MID model: the attacker's inversion model trained on the
    MID model's outputs for the auxiliary images (the black box it can query).
    ``model`` is the MID model of the same ``beta`` when the caller has it already
    (default: :func:`mid_model`)."""
    prof = setup.profile
    beta = prof.mid_beta if beta is None else beta
    if model is None:
        model = mid_model(setup, beta, progress)
    aux, device = setup.data.aux.images, str(setup.device)
    config = _baseline_config(setup, "mid_attacker", beta=beta, dim=prof.mid_dim)

    def fit(inversion_model):
        vectors = F.softmax(logits_of(model, aux), dim=1)
        train_inversion(inversion_model, vectors, aux, prof.inversion_epochs,
                        prof.inversion_batch, prof.inversion_lr, setup.seed,
                        device, progress=progress)

    return cached_model(
        "mid_attacker", config,
        lambda: attacker_inversion(setup.data.num_classes, 28, prof.top_k),
        fit, setup.cache, device, setup.seed)


@dataclass
class Baselines:
    """The trained models behind the PPF and MID rows of Table I."""

    purifier: Purifier
    mid: VIBClassifier
    mid_attacker: torch.nn.Module


def prepare_baselines(setup: Setup, progress: bool = True) -> Baselines:
    """Train (or load) the PPF purifier, the MID model and its attacker with the
    profile's settings."""
    mid = mid_model(setup, progress=progress)
    return Baselines(ppf_model(setup, progress=progress), mid,
                     mid_attacker(setup, progress=progress, model=mid))


def simple_defenses(profile: Profile, seed: int = 0) -> list[OutputDefense]:
    """The simple output perturbations of Table I at the profile's strengths."""
    p = profile
    return [GaussianNoise(p.gaussian_sigma, seed), LaplaceNoise(p.laplace_b, seed),
            Rounding(p.rounding_decimals), TopK(p.release_k),
            ReverseSigmoid(p.rsig_beta, p.rsig_gamma), LabelOnly()]


def table_rows(setup: Setup, baselines: Baselines | None = None
               ) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """Every row of Table I: no defense, ours, PPF and MID (each also followed by
    the label modifier) and the simple perturbations.

    Output defenses are attacked by the basic attacker, trained on undefended
    outputs. MID replaces the target, so its rows are attacked by an attacker
    trained on the MID model's outputs; their distortion is still measured
    against the undefended target's logits.

    Returns:
        The rows and the reconstructions, keyed by row name.
    """
    baselines = baselines or prepare_baselines(setup)
    ppf = PPFDefense(baselines.purifier)
    mid = MIDDefense(baselines.mid)
    runs = [(NoDefense(), None), (our_defense(setup), None),
            (ppf, None), (with_label_modifier(ppf), None),
            (mid, baselines.mid_attacker),
            (with_label_modifier(mid), baselines.mid_attacker)]
    runs += [(defense, None) for defense in simple_defenses(setup.profile, setup.seed)]
    rows, recons = [], {}
    for defense, attacker in runs:
        row, recon = evaluate(setup, defense, attacker=attacker)
        rows.append(row)
        recons[row["defense"]] = recon
    return rows, recons


def reproduce(profile: Profile | str | None = None, data: str | None = None,
              seed: int | None = None, out: str | Path = "results", cache: str | None = None,
              progress: bool = True, data_root: str | None = None,
              download: bool = True) -> dict:
    """Run every defense of Table I (:func:`table_rows`) and write ``results.json``
    and ``reconstructions.png``.

    Returns:
        The results dictionary that was written.
    """
    from .plots import reconstruction_grid

    start = time.perf_counter()
    out = usable_folder(out, "output folder")  # fail now, not after the training
    setup = prepare(profile, data, seed, cache, progress, data_root, download)
    rows, recons = table_rows(setup, prepare_baselines(setup, progress))
    prof = setup.profile
    results = {
        "profile": setup.profile.name,
        "dataset": setup.data.source,
        "aux": setup.data.aux_source,
        "seed": setup.seed,
        "defense_settings": {"eta": setup.profile.eta, "steps": setup.profile.steps,
                             "eps": setup.profile.eps, "p": str(setup.profile.p)},
        "baseline_settings": {
            "ppf_lambda": prof.ppf_lambda, "mid_beta": prof.mid_beta,
            "mid_dim": prof.mid_dim, "gaussian_sigma": prof.gaussian_sigma,
            "laplace_b": prof.laplace_b, "rounding_decimals": prof.rounding_decimals,
            "release_k": prof.release_k, "rsig_beta": prof.rsig_beta,
            "rsig_gamma": prof.rsig_gamma},
        "rows": rows,
        "references": references(setup),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    images = setup.data.private_test.images
    fig = reconstruction_grid({"original": images, "no defense": recons["none"],
                               "PPF": recons["ppf"], "MID": recons["mid"],
                               "our defense": recons["ours"]}, n=10)
    fig.savefig(out / "reconstructions.png", dpi=120, bbox_inches="tight")
    return results
