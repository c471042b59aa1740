"""Privacy–utility sweeps: every defense over its strength parameter.

Each sweep returns rows like Table I's, with three more keys: ``curve`` (the
line the row belongs to in the figure), ``param`` and ``value`` (the strength
setting). :func:`tradeoff_figure` draws MSE against distortion for every curve,
with the label-only and mean-image levels as horizontal lines, and
:func:`matched_comparison` answers the paper's comparative claim: at the same
distortion, whose reconstructions are worse?

Models that need training (PPF, MID) come from the cache, so after the first
run each point costs a few seconds.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from .baselines import (GaussianNoise, LabelOnly, LaplaceNoise, MIDDefense,
                        PPFDefense, ReverseSigmoid, Rounding, TopK, with_label_modifier)
from .defense import AdversarialNoiseDefense, OutputDefense
from .experiments import Setup, evaluate, mid_attacker, mid_model, ppf_model

logger = logging.getLogger(__name__)

OURS = "ours (eta)"
X_COLUMNS = ("logit_distortion", "prob_distortion")
X_LABELS = {"logit_distortion": "logit distortion (mean |c - c0| per entry)",
            "prob_distortion": "probability distortion (L1 per vector)"}


def sweep(setup: Setup, curve: str, param: str, values: Iterable,
          make: Callable[[object], OutputDefense], attacker=None) -> list[dict]:
    """Evaluate ``make(value)`` for each value; one row per value.

    Args:
        setup: from :func:`mi_lib.experiments.prepare`.
        curve: the name of the curve the rows belong to.
        param: the name of the strength parameter.
        values: its settings.
        make: builds the defense for one setting.
        attacker: inversion model to attack with (default: the setup's attacker).
    """
    rows = []
    for value in values:
        row, _ = evaluate(setup, make(value), attacker=attacker)
        rows.append({"curve": curve, "param": param, "value": value, **row})
        logger.info("%s %s=%s: %s", curve, param, value, row)
    return rows


def sweep_ours(setup: Setup, etas: Iterable[float] | None = None,
               eps_values: Iterable[float | None] | None = None) -> list[dict]:
    """Our defense over the step size ``eta`` (no projection; curve
    ``"ours (eta)"``) and over the budget ``eps`` at the profile's ``eta``
    (curve ``"ours (eps)"``; ``None`` is no budget).

    Defaults: the profile's ``tradeoff_eta_grid`` and ``eps_grid``.
    """
    prof = setup.profile
    etas = prof.tradeoff_eta_grid if etas is None else etas
    eps_values = prof.eps_grid if eps_values is None else eps_values
    def ours(eta, eps):
        return AdversarialNoiseDefense(setup.defender, eta, prof.steps, eps, prof.p)

    return (sweep(setup, OURS, "eta", etas, lambda eta: ours(eta, None))
            + sweep(setup, "ours (eps)", "eps", eps_values,
                    lambda eps: ours(prof.eta, eps)))


def sweep_simple(setup: Setup) -> list[dict]:
    """Gaussian and Laplace noise, rounding, top-k, reverse sigmoid and label-only
    release over the profile's grids."""
    p, seed = setup.profile, setup.seed
    return (
        sweep(setup, "gaussian", "sigma", p.gaussian_grid,
              lambda s: GaussianNoise(s, seed))
        + sweep(setup, "laplace", "b", p.laplace_grid, lambda b: LaplaceNoise(b, seed))
        + sweep(setup, "rounding", "decimals", p.rounding_grid, Rounding)
        + sweep(setup, "top-k", "k", p.release_k_grid, TopK)
        + sweep(setup, "reverse-sigmoid", "beta", p.rsig_grid,
                lambda b: ReverseSigmoid(b, p.rsig_gamma))
        + sweep(setup, "label-only", "-", [None], lambda _: LabelOnly())
    )


def sweep_ppf(setup: Setup, lambdas: Iterable[float] | None = None,
              label_modifier: bool = True, progress: bool = True) -> list[dict]:
    """PPF over the weight ``lam`` of its privacy term (one purifier per value,
    trained or cached); with ``label_modifier`` also the curve ``"ppf+lm"``."""
    lambdas = setup.profile.ppf_lambda_grid if lambdas is None else lambdas
    rows = []
    for lam in lambdas:
        ppf = PPFDefense(ppf_model(setup, lam, progress))
        rows += sweep(setup, "ppf", "lambda", [lam], lambda _: ppf)
        if label_modifier:
            rows += sweep(setup, "ppf+lm", "lambda", [lam],
                          lambda _: with_label_modifier(ppf))
    return rows


def sweep_mid(setup: Setup, betas: Iterable[float] | None = None,
              label_modifier: bool = True, progress: bool = True) -> list[dict]:
    """MID over the KL weight ``beta``: one retrained model and one attacker
    (trained on that model's outputs) per value; with ``label_modifier`` also the
    curve ``"mid+lm"``. Distortion is measured against the undefended target."""
    betas = setup.profile.mid_beta_grid if betas is None else betas
    rows = []
    for beta in betas:
        model = mid_model(setup, beta, progress)
        mid = MIDDefense(model)
        attacker = mid_attacker(setup, beta, progress, model=model)
        rows += sweep(setup, "mid", "beta", [beta], lambda _: mid, attacker)
        if label_modifier:
            rows += sweep(setup, "mid+lm", "beta", [beta],
                          lambda _: with_label_modifier(mid), attacker)
    return rows


def all_sweeps(setup: Setup, progress: bool = True) -> list[dict]:
    """Every sweep above, with the profile's grids."""
    return (sweep_ours(setup) + sweep_ppf(setup, progress=progress)
            + sweep_mid(setup, progress=progress) + sweep_simple(setup))


def curve(rows: list[dict], name: str, x: str = "logit_distortion"
          ) -> tuple[np.ndarray, np.ndarray]:
    """The points ``(x, mse)`` of one curve, sorted by ``x``.

    Raises:
        ValueError: no row belongs to the curve.
    """
    points = sorted((row[x], row["mse"]) for row in rows if row["curve"] == name)
    if not points:
        known = sorted({row["curve"] for row in rows})
        raise ValueError(f"no rows for curve {name!r}; the rows hold {known}")
    xs, ys = zip(*points)
    return np.array(xs), np.array(ys)


def mse_at(rows: list[dict], name: str, distortion: float,
           x: str = "logit_distortion") -> float | None:
    """The curve's MSE at ``distortion``, interpolated linearly between its
    points; ``None`` outside the range the curve covers."""
    xs, ys = curve(rows, name, x)
    if not xs[0] <= distortion <= xs[-1]:
        return None
    return float(np.interp(distortion, xs, ys))


def matched_comparison(rows: list[dict], reference: str = OURS,
                       x: str = "logit_distortion") -> list[dict]:
    """Every other curve's points against the reference curve at the same
    distortion.

    Returns:
        One dict per point of every other curve: ``curve``, ``param``, ``value``,
        ``distortion``, ``mse``, ``reference_mse`` (interpolated; ``None`` where
        the point lies outside the reference curve's range) and ``margin`` =
        ``reference_mse - mse`` (positive: the reference reconstructs worse,
        i.e. protects more).
    """
    out = []
    for row in rows:
        if row["curve"] == reference:
            continue
        ref = mse_at(rows, reference, row[x], x)
        out.append({"curve": row["curve"], "param": row["param"],
                    "value": row["value"], "distortion": row[x], "mse": row["mse"],
                    "reference_mse": ref,
                    "margin": None if ref is None else ref - row["mse"]})
    return out


def tradeoff_figure(rows: list[dict], references: dict,
                    columns: tuple[str, ...] = X_COLUMNS
                    ) -> "matplotlib.figure.Figure":
    """MSE against distortion for every curve, one panel per distortion column.

    Args:
        rows: sweep rows (with ``curve``).
        references: ``{"label_only_mse", "mean_image_mse"}`` from
            :func:`mi_lib.experiments.references`, drawn as horizontal lines.
        columns: the distortion measures on the x axes.

    The x axes are linear up to a small threshold and logarithmic above it,
    since distortions span four orders of magnitude. Our step-size curve is black;
    a curve followed by the label modifier (``+lm``) is dashed in its base
    curve's colour; a single setting (label-only release) is a star.
    """
    names = list(dict.fromkeys(row["curve"] for row in rows))
    bases = [name for name in names if name != OURS and not name.endswith("+lm")]
    palette = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]
    color = {name: palette[i % len(palette)] for i, name in enumerate(bases)}
    fig, axes = plt.subplots(1, len(columns), figsize=(6.5 * len(columns), 4.8),
                             squeeze=False)
    for ax, x in zip(axes[0], columns):
        for name in names:
            xs, ys = curve(rows, name, x)
            ours = name.startswith("ours")
            base = name.removesuffix("+lm")
            ax.plot(xs, ys, marker="o" if ours else "*" if len(xs) == 1 else "s",
                    ms=10 if len(xs) == 1 else 5 if ours else 4,
                    lw=2.5 if ours else 1.2, ls="--" if name.endswith("+lm") else "-",
                    color="black" if name == OURS else color.get(base, "grey"),
                    label=name, zorder=3 if ours else 2)
        ax.axhline(references["label_only_mse"], color="grey", ls="--", lw=1,
                   label="label-only attacker")
        ax.axhline(references["mean_image_mse"], color="grey", ls=":", lw=1.5,
                   label="mean auxiliary image")
        ax.set_xscale("symlog", linthresh=0.1 if x == "logit_distortion" else 0.01)
        ax.set_xlim(left=0)
        ax.set_xlabel(X_LABELS.get(x, x))
        ax.set_ylabel("reconstruction MSE (higher protects more)")
        ax.grid(alpha=0.3)
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.tight_layout()
    return fig
