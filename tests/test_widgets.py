"""The defense explorer and the static grid, driven without a browser.

The models are untrained (seconds to build): the tests check that the callback
recomputes the defense, the metrics and the picture, not what the numbers are.
"""

import math

import pytest
import torch

from mi_lib.attack import logits_of
from mi_lib.data import DigitData, Split
from mi_lib.experiments import Setup
from mi_lib.models import DigitClassifier, attacker_inversion, defender_inversion
from mi_lib.profiles import get_profile
from mi_lib.widgets import NO_BUDGET, Explorer, FixedBatch, pick_victims, static_grid

pytest.importorskip("ipywidgets")


def _split(n: int, generator: torch.Generator) -> Split:
    images = torch.rand(n, 1, 28, 28, generator=generator)
    return Split(images, torch.arange(n) % 10)


@pytest.fixture(scope="module")
def setup():
    """A setup with untrained models and random images, on the CPU."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    train, victims, aux = (_split(n, generator) for n in (20, 30, 20))
    data = DigitData(train, victims, aux, source="random", aux_source="random")
    target = DigitClassifier().eval()
    attacker = attacker_inversion(10, 28, 10).eval()
    defender = defender_inversion(10, 28, 10).eval()
    profile = get_profile("quick").with_overrides(device="cpu", steps=5)
    return Setup(profile, data, 0, target, attacker, defender, attacker,
                 logits_of(target, data.private_test.images),
                 logits_of(target, data.aux.images))


def test_update_recomputes_metrics_and_figure(setup):
    explorer = Explorer(setup, n=10, eta=0.0, eps=None, p=2)
    before, png_before = dict(explorer.metrics), explorer.image.value

    after = explorer.update(eta=0.8, eps=None, p=2)

    assert before["logit_distortion"] == 0
    assert after["logit_distortion"] > 0.5
    assert after["mse"] != before["mse"]
    assert after["labels_kept"] == 1.0
    assert explorer.image.value != png_before
    assert "η = 0.80" in explorer.figure.axes[0].get_title()
    assert f"{after['mse']:.4f}" in explorer.table.value


def test_moving_each_control_runs_the_callback(setup):
    explorer = Explorer(setup, n=10, eta=0.1, eps=None, p=2)
    seen = [dict(explorer.metrics)]

    explorer.eta_slider.value = 0.6
    seen.append(dict(explorer.metrics))
    explorer.eps_slider.value = 0.5
    seen.append(dict(explorer.metrics))
    explorer.p_choice.value = math.inf
    seen.append(dict(explorer.metrics))

    distortions = [m["logit_distortion"] for m in seen]
    assert len(set(distortions)) == len(distortions)
    assert seen[2]["noise_norm"] == pytest.approx(0.5, abs=1e-4)
    assert seen[3]["noise_norm"] <= 0.5 + 1e-4
    assert "p = ∞" in explorer.figure.axes[0].get_title()


def test_budget_bounds_the_noise_and_no_budget_equals_none(setup):
    batch = FixedBatch(setup, n=10)

    bounded = batch.defend(1.0, 0.25, p=1)
    unbounded = batch.defend(1.0, NO_BUDGET, p=1)
    none = batch.defend(1.0, None, p=1)

    assert bounded.metrics["noise_norm"] <= 0.25 + 1e-4
    assert unbounded.metrics["noise_norm"] > 0.25
    assert torch.equal(unbounded.released, none.released)


def test_zero_step_releases_the_undefended_answers(setup):
    result = FixedBatch(setup, n=10).defend(0.0, None, p=2)

    assert result.metrics["logit_distortion"] == 0
    assert result.metrics["mse"] == pytest.approx(result.metrics["mse_none"])


def test_explorer_rejects_settings_outside_its_controls(setup):
    with pytest.raises(ValueError, match="eta"):
        Explorer(setup, eta=5.0)
    with pytest.raises(ValueError, match="p must be"):
        Explorer(setup, p=3)
    with pytest.raises(ValueError, match="eps"):
        Explorer(setup, eps=-1.0)


def test_pick_victims_shows_every_class_before_repeating_one():
    labels = torch.tensor([3, 3, 1, 0, 2, 1, 0, 2])

    index = pick_victims(labels, 6)

    assert sorted(labels[index[:4]].tolist()) == [0, 1, 2, 3]
    assert len(set(index.tolist())) == 6
    with pytest.raises(ValueError):
        pick_victims(labels, 9)


def test_static_grid_draws_one_titled_panel_per_setting(setup):
    fig = static_grid(setup, etas=(0.0, 0.5), epss=(0.5, None), p=2, n=4)

    panels = [ax for ax in fig.axes
              if ax.get_visible() and ax.get_title().startswith("MSE")]
    assert len(panels) == 4
    titles = [ax.get_title() for ax in panels]
    assert titles[0] == titles[1]  # eta = 0: no noise whatever the budget
    assert titles[2] != titles[3]  # eta = 0.5: the budget binds
    assert {ax.get_xlabel() for ax in fig.axes} >= {"ε = 0.5", "ε = none"}
