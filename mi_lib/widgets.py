"""Interactive and static views of the defense on one fixed batch of victims.

:class:`Explorer` puts sliders for the step size ``eta`` and the budget ``eps``
(with a "no budget" end) and a choice of the norm ``p`` over a fixed batch. Each
change reruns Algorithm 2 on the batch, attacks the released vectors with the
attacker's inversion model, and redraws the reconstructions and the metrics.
Its callback :meth:`Explorer.update` is plain Python, so it runs (and is tested)
without a browser. :func:`static_grid` draws the same batch for a grid of
``(eta, eps)`` settings as small multiples: what the sliders would show, for a
page that has no running kernel behind it.
"""

from __future__ import annotations

import html
import io
import math
import time
from dataclasses import dataclass

import matplotlib.figure
import numpy as np
import torch

from . import metrics
from .attack import reconstruct
from .defense import project
from .experiments import Setup, our_defense

NO_BUDGET = math.inf  # the eps slider's "no budget" end; passed on as eps=None
ETA_RANGE = (0.0, 1.0, 0.05)  # min, max, step of the eta slider
EPS_CHOICES = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, NO_BUDGET)
P_CHOICES = (("L1", 1), ("L2", 2), ("L∞", math.inf))


def pick_victims(labels: torch.Tensor, n: int = 10) -> torch.Tensor:
    """Indices of a fixed batch: the first example of each class in turn (all
    digits appear once before any appears twice), ``n`` in total."""
    if not 1 <= n <= len(labels):
        raise ValueError(f"n must be between 1 and {len(labels)}, got {n}")
    per_class = [(labels == k).nonzero().flatten() for k in labels.unique()]
    order = [index[rank].item() for rank in range(max(map(len, per_class)))
             for index in per_class if rank < len(index)]
    return torch.tensor(order[:n])


def eps_label(eps: float | None) -> str:
    """How a budget is written in the figures: ``"none"`` for no budget."""
    return "none" if eps is None or eps == NO_BUDGET else f"{eps:g}"


def p_label(p: float) -> str:
    return "∞" if p == math.inf else f"{p:g}"


@dataclass
class BatchResult:
    """One setting of the defense on the fixed batch.

    Attributes:
        released: ``(n, K)`` released logits ``c0 + n``.
        recon: ``(n, 1, H, W)`` the attacker's reconstructions in [0, 1].
        metrics: ``labels_kept``, ``logit_distortion``, ``prob_distortion``,
            ``noise_norm`` (mean ``||n||_p``), ``mse`` and ``mse_none`` (the
            undefended attack on the same batch).
        seconds: wall time of the defense and the attack together.
    """

    released: torch.Tensor
    recon: torch.Tensor
    metrics: dict
    seconds: float


class FixedBatch:
    """A fixed batch of victims with everything the views need precomputed.

    Args:
        setup: from :func:`mi_lib.experiments.prepare`.
        n: batch size; the batch holds each digit once before repeating one.
        steps: iterations T of Algorithm 2 (default: the profile's).
    """

    def __init__(self, setup: Setup, n: int = 10, steps: int | None = None):
        victims = setup.data.private_test
        index = pick_victims(victims.labels, n)
        self.setup = setup
        self.steps = setup.profile.steps if steps is None else steps
        self.images = victims.images[index]
        self.labels = victims.labels[index]
        self.c0 = setup.test_logits[index]
        self.recon_none = reconstruct(setup.attacker, self.c0)
        self.mse_none = metrics.mse(self.images, self.recon_none)

    def defend(self, eta: float, eps: float | None, p: float = 2) -> BatchResult:
        """Run Algorithm 2 with ``(eta, eps, p)`` and attack the released vectors.

        ``eps`` may be ``None`` or ``math.inf`` for no budget.
        """
        eps = None if eps == NO_BUDGET else eps
        start = time.perf_counter()
        defense = our_defense(self.setup, eta=eta, steps=self.steps, eps=eps, p=p)
        device = self.setup.device
        # A batch this small runs faster on one thread: more threads only add
        # overhead, and much more so when other programs share the cores.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            released = defense(self.c0.to(device), self.images.to(device)).cpu()
            recon = reconstruct(self.setup.attacker, released)
        finally:
            torch.set_num_threads(threads)
        seconds = time.perf_counter() - start
        noise = released - self.c0
        row = {
            "labels_kept": metrics.accuracy(released, self.c0.argmax(dim=1)),
            "logit_distortion": metrics.logit_distortion(self.c0, released),
            "prob_distortion": metrics.prob_distortion(self.c0, released),
            "noise_norm": torch.linalg.vector_norm(noise, ord=p, dim=1).mean().item(),
            "mse": metrics.mse(self.images, recon),
            "mse_none": self.mse_none,
        }
        return BatchResult(released, recon, row, seconds)


def _montage(rows: list[torch.Tensor]) -> np.ndarray:
    """Stack image batches ``(n, 1, H, W)`` into one ``(R*H, n*W)`` array with a
    one-pixel grey gap between images."""
    gap = 1
    n, _, h, w = rows[0].shape
    canvas = np.full((len(rows) * (h + gap) - gap, n * (w + gap) - gap), 0.5)
    for r, images in enumerate(rows):
        for i in range(n):
            top, left = r * (h + gap), i * (w + gap)
            canvas[top:top + h, left:left + w] = images[i, 0].numpy()
    return canvas


def _draw_montage(ax, rows: dict[str, torch.Tensor]) -> None:
    canvas = _montage(list(rows.values()))
    h = rows[next(iter(rows))].shape[2] + 1
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([h * r + (h - 1) / 2 for r in range(len(rows))], list(rows))
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)


class Explorer:
    """Sliders for ``eta`` and ``eps``, a choice of ``p``, and the reconstructions
    of a fixed batch under the defense.

    Args:
        setup: from :func:`mi_lib.experiments.prepare`.
        n: batch size (default 10, one victim per digit).
        eta, eps, p: the starting setting (default: the profile's).

    Attributes:
        widget: the ``ipywidgets.VBox`` to display in a notebook.
        result: the :class:`BatchResult` of the current setting.
        figure: the matplotlib figure of the current setting.

    Moving a slider calls :meth:`update`; calling :meth:`update` directly does
    the same work without a browser and returns the new metrics.
    """

    def __init__(self, setup: Setup, n: int = 10, eta: float | None = None,
                 eps: float | None = None, p: float | None = None):
        import ipywidgets as w

        prof = setup.profile
        eta = prof.eta if eta is None else eta
        eps = prof.eps if eps is None else eps
        p = prof.p if p is None else p
        project(torch.zeros(1, 1), eps, p)  # validates eps and p
        if not ETA_RANGE[0] <= eta <= ETA_RANGE[1]:
            raise ValueError(f"eta must lie in [{ETA_RANGE[0]}, {ETA_RANGE[1]}] for "
                             f"the slider, got {eta!r}")
        eps_choices = sorted(set(EPS_CHOICES) | {NO_BUDGET if eps is None else eps})
        self.batch = FixedBatch(setup, n)
        self.figure = matplotlib.figure.Figure(figsize=(1.0 + 0.55 * n, 2.3))

        style = {"description_width": "initial"}
        self.eta_slider = w.FloatSlider(
            value=eta, min=ETA_RANGE[0], max=ETA_RANGE[1], step=ETA_RANGE[2],
            description="step size η", readout_format=".2f",
            continuous_update=False, style=style)
        self.eps_slider = w.SelectionSlider(
            options=[(eps_label(e), e) for e in eps_choices],
            value=NO_BUDGET if eps is None else eps, description="budget ε",
            continuous_update=False, style=style)
        self.p_choice = w.Dropdown(options=P_CHOICES, value=p, description="norm p",
                                   style=style, layout=w.Layout(width="160px"))
        self.image = w.Image(format="png")
        self.table = w.HTML()
        for control in (self.eta_slider, self.eps_slider, self.p_choice):
            control.observe(self._on_change, names="value")
        self.widget = w.VBox([w.HBox([self.eta_slider, self.eps_slider,
                                      self.p_choice]), self.image, self.table])
        self.update(eta, eps, p)

    def _on_change(self, _change) -> None:
        self.update(self.eta_slider.value, self.eps_slider.value, self.p_choice.value)

    def update(self, eta: float, eps: float | None, p: float) -> dict:
        """Recompute the defense, the metrics and the figure for ``(eta, eps, p)``.

        ``eps`` may be ``None`` or ``math.inf`` for no budget. Returns the metrics
        (see :class:`BatchResult`) plus ``seconds``, the time of the whole update.
        """
        start = time.perf_counter()
        self.result = self.batch.defend(eta, eps, p)
        self._draw(eta, eps, p)
        self.table.value = self._table_html(eta, eps, p)
        self.metrics = {**self.result.metrics, "seconds": time.perf_counter() - start}
        return self.metrics

    def _draw(self, eta, eps, p) -> None:
        fig, m = self.figure, self.result.metrics
        fig.clear()
        ax = fig.add_axes((0.16, 0.02, 0.83, 0.8))
        _draw_montage(ax, {"original": self.batch.images,
                           "no defense": self.batch.recon_none,
                           "defended": self.result.recon})
        ax.set_title(f"η = {eta:.2f}, ε = {eps_label(eps)}, p = {p_label(p)}:  "
                     f"attacker's MSE {m['mse_none']:.4f} → {m['mse']:.4f}",
                     fontsize=10)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.05)
        self.image.value = buffer.getvalue()

    def _table_html(self, eta, eps, p) -> str:
        m = self.result.metrics
        norm = f"mean ‖n‖<sub>{html.escape(p_label(p))}</sub>"
        cells = [("labels kept", f"{100 * m['labels_kept']:.0f}%"),
                 ("logit distortion (mean |n| per entry)",
                  f"{m['logit_distortion']:.3f}"),
                 (norm, f"{m['noise_norm']:.3f}"),
                 ("probability distortion (L1)", f"{m['prob_distortion']:.3f}"),
                 ("attacker's MSE, no defense", f"{m['mse_none']:.4f}"),
                 ("attacker's MSE, defended", f"{m['mse']:.4f}")]
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v}</td></tr>"
                       for k, v in cells)
        note = (f"{len(self.batch.labels)} victims, T = {self.batch.steps} steps; "
                f"recomputed in {1000 * self.result.seconds:.0f} ms")
        return f"<table>{rows}</table><small>{note}</small>"


def static_grid(setup: Setup, etas, epss, p: float | None = None, n: int = 8
                ) -> "matplotlib.figure.Figure":
    """Small multiples: the attacker's reconstructions of a fixed batch for every
    ``(eta, eps)`` in ``etas x epss``.

    Args:
        setup: from :func:`mi_lib.experiments.prepare`.
        etas: step sizes, one row each (``0`` gives the undefended attack).
        epss: budgets, one column each; ``None`` or ``math.inf`` for no budget.
        p: the norm of the budget (default: the profile's).
        n: victims per panel, drawn as two rows.

    Returns:
        The figure; each panel is titled with its MSE and logit distortion, and a
        top panel shows the original victims.
    """
    from matplotlib import pyplot as plt

    if not etas or not epss:
        raise ValueError("etas and epss must each hold at least one value")
    p = setup.profile.p if p is None else p
    batch = FixedBatch(setup, n)
    half = (n + 1) // 2

    def two_rows(images):
        padded = torch.cat([images, torch.full_like(images[:2 * half - n], 0.5)])
        return [padded[:half], padded[half:]]

    fig, axes = plt.subplots(len(etas) + 1, len(epss), squeeze=False,
                             figsize=(2.3 * len(epss), 1.45 * (len(etas) + 1)))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[0, 1:]:
        ax.set_visible(False)
    axes[0, 0].imshow(_montage(two_rows(batch.images)), cmap="gray", vmin=0, vmax=1)
    axes[0, 0].set_title("original victims", fontsize=9)
    for r, eta in enumerate(etas, start=1):
        for col, eps in enumerate(epss):
            result = batch.defend(eta, eps, p)
            m, ax = result.metrics, axes[r, col]
            ax.imshow(_montage(two_rows(result.recon)),
                      cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"MSE {m['mse']:.3f}, dist. {m['logit_distortion']:.2f}",
                         fontsize=8)
            if col == 0:
                ax.set_ylabel(f"η = {eta:g}", fontsize=9)
            if r == len(etas):
                ax.set_xlabel(f"ε = {eps_label(eps)}", fontsize=9)
    fig.suptitle(f"attacker's reconstructions under the defense (p = {p_label(p)}, "
                 f"T = {batch.steps})", fontsize=10)
    fig.tight_layout()
    return fig
