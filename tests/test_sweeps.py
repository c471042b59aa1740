import matplotlib
import pytest
import torch

from mi_lib.experiments import prepare, references, target_model
from mi_lib.profiles import get_profile
from mi_lib.sweeps import (OURS, curve, matched_comparison, mse_at, sweep_mid,
                           sweep_ours, sweep_ppf, sweep_simple, tradeoff_figure)

matplotlib.use("Agg")

ROW_KEYS = {"curve", "param", "value", "defense", "accuracy", "logit_distortion",
            "prob_distortion", "mse"}


def row(name, distortion, mse, value=None, prob=None):
    return {"curve": name, "param": "s", "value": value, "defense": name,
            "accuracy": 1.0, "logit_distortion": distortion,
            "prob_distortion": distortion / 10 if prob is None else prob, "mse": mse}


SYNTHETIC = [row(OURS, 0.0, 0.04), row(OURS, 2.0, 0.08), row(OURS, 1.0, 0.06),
             row("noise", 0.5, 0.06), row("noise", 1.5, 0.05), row("noise", 5.0, 0.09)]


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    profile = get_profile("quick").with_overrides(
        name="tiny", n_private_test=40, target_epochs=1, inversion_epochs=1,
        device="cpu", steps=2)
    return prepare(profile, cache=tmp_path_factory.mktemp("cache"), progress=False)


def test_target_alone_is_the_prepared_target_from_the_cache(tiny_setup):
    files = sorted(p.name for p in tiny_setup.cache.iterdir())
    target = target_model(tiny_setup.profile, tiny_setup.data, tiny_setup.seed,
                          tiny_setup.cache, progress=False)

    assert sorted(p.name for p in tiny_setup.cache.iterdir()) == files  # loaded, not trained
    for ours, prepared in zip(target.state_dict().values(),
                              tiny_setup.target.state_dict().values()):
        assert torch.equal(ours, prepared)


def test_curve_points_are_sorted_by_distortion():
    xs, ys = curve(SYNTHETIC, OURS)
    assert list(xs) == [0.0, 1.0, 2.0] and list(ys) == [0.04, 0.06, 0.08]
    with pytest.raises(ValueError, match="noise"):
        curve(SYNTHETIC, "missing")


def test_mse_is_interpolated_inside_the_curve_and_unknown_outside():
    assert mse_at(SYNTHETIC, OURS, 0.5) == pytest.approx(0.05)
    assert mse_at(SYNTHETIC, OURS, 2.0) == pytest.approx(0.08)
    assert mse_at(SYNTHETIC, OURS, 2.5) is None


def test_matched_comparison_reports_who_protects_more_at_equal_distortion():
    found = {r["distortion"]: r for r in matched_comparison(SYNTHETIC)}
    assert set(found) == {0.5, 1.5, 5.0}
    assert found[0.5]["margin"] == pytest.approx(-0.01)  # the noise wins here
    assert found[1.5]["margin"] == pytest.approx(0.02)   # ours wins here
    assert found[5.0]["reference_mse"] is None and found[5.0]["margin"] is None


def test_tradeoff_figure_draws_every_curve_and_both_reference_lines():
    fig = tradeoff_figure(SYNTHETIC, {"label_only_mse": 0.07, "mean_image_mse": 0.1})
    assert len(fig.axes) == 2
    for ax in fig.axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == [OURS, "noise", "label-only attacker", "mean auxiliary image"]
        assert ax.get_lines()[2].get_ydata()[0] == 0.07
    matplotlib.pyplot.close(fig)


def test_sweep_ours_gives_one_row_per_setting(tiny_setup):
    rows = sweep_ours(tiny_setup, etas=[0.0, 0.5], eps_values=[0.1, None])
    assert [(r["curve"], r["value"]) for r in rows] == [
        (OURS, 0.0), (OURS, 0.5), ("ours (eps)", 0.1), ("ours (eps)", None)]
    assert all(set(r) == ROW_KEYS for r in rows)
    assert rows[0]["logit_distortion"] < 1e-3 < rows[1]["logit_distortion"]
    assert len({r["accuracy"] for r in rows}) == 1  # ours never changes a label


def test_simple_sweeps_grow_in_distortion_with_strength(tiny_setup):
    rows = sweep_simple(tiny_setup)
    by_curve = {}
    for r in rows:
        by_curve.setdefault(r["curve"], []).append(r)
    assert set(by_curve) == {"gaussian", "laplace", "rounding", "top-k",
                             "reverse-sigmoid", "label-only"}
    sigma = by_curve["gaussian"]
    assert [r["value"] for r in sigma] == list(tiny_setup.profile.gaussian_grid)
    assert sigma[0]["logit_distortion"] < sigma[-1]["logit_distortion"]
    label_accuracy = by_curve["label-only"][0]["accuracy"]
    assert all(r["accuracy"] == label_accuracy for r in by_curve["top-k"])


def test_ppf_and_mid_sweeps_add_label_modified_curves(tiny_setup):
    rows = sweep_ppf(tiny_setup, lambdas=[0.0], progress=False)
    rows += sweep_mid(tiny_setup, betas=[0.01], progress=False)
    assert [r["curve"] for r in rows] == ["ppf", "ppf+lm", "mid", "mid+lm"]
    label_only = sweep_simple(tiny_setup)[-1]
    assert rows[1]["accuracy"] == rows[3]["accuracy"] == label_only["accuracy"]
    refs = references(tiny_setup)
    fig = tradeoff_figure(rows, refs)
    assert len(fig.axes[0].get_lines()) == 4 + 2
    matplotlib.pyplot.close(fig)
