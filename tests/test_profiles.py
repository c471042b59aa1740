import pytest

from mi_lib.profiles import PROFILES, get_profile


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
