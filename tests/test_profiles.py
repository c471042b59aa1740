import pytest

from mi_lib.profiles import PROFILES, get_profile, resolve_parameters


def test_quick_is_the_default(monkeypatch):
    monkeypatch.delenv("MI_PROFILE", raising=False)
    assert get_profile().name == "quick"


def test_environment_variable_picks_the_profile(monkeypatch):
    monkeypatch.setenv("MI_PROFILE", "paper")
    assert get_profile().name == "paper"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="paper"):
        get_profile("fast")


def test_paper_profile_uses_the_papers_defense_settings():
    paper = PROFILES["paper"]
    assert (paper.eta, paper.steps, paper.eps) == (0.1, 10, None)
    assert paper.data == "mnist" and paper.inversion_epochs == 100


def test_profiles_are_frozen():
    with pytest.raises(AttributeError):
        PROFILES["quick"].eta = 1.0


def test_parameters_default_to_quick_profile_its_data_and_seed_zero(monkeypatch):
    for name in ("MI_PROFILE", "MI_DATA", "MI_SEED"):
        monkeypatch.delenv(name, raising=False)
    prof, data, seed = resolve_parameters()
    assert (prof.name, data, seed) == ("quick", "embedded", 0)


def test_environment_sets_every_parameter_and_explicit_values_win(monkeypatch):
    monkeypatch.setenv("MI_PROFILE", "paper")
    monkeypatch.setenv("MI_DATA", "embedded")
    monkeypatch.setenv("MI_SEED", "3")
    prof, data, seed = resolve_parameters()
    assert (prof.name, data, seed) == ("paper", "embedded", 3)
    prof, data, seed = resolve_parameters("quick", "mnist", 1)
    assert (prof.name, data, seed) == ("quick", "mnist", 1)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "2"])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        resolve_parameters("quick", None, seed)


def test_bad_seed_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("MI_SEED", "zero")
    with pytest.raises(ValueError, match="MI_SEED"):
        resolve_parameters("quick")
