"""Shared fixtures: a tiny profile, and the offline data root when it exists."""

import os
from pathlib import Path

import pytest

from mi_lib.profiles import get_profile

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_profile():
    """The quick profile cut down to seconds: for smoke tests, not for numbers."""
    return get_profile("quick").with_overrides(
        name="tiny", n_private_test=40, target_epochs=1, inversion_epochs=1,
        device="cpu")


def offline_data_root() -> Path | None:
    """``$MI_DATA_ROOT``, else the project's sibling ``shared/data`` folder."""
    for candidate in (os.environ.get("MI_DATA_ROOT"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def data_root():
    root = offline_data_root()
    if root is None or not any((root / sub / "MNIST" / "raw").is_dir()
                               for sub in (".", "mnist")):
        pytest.skip("full MNIST not available offline: set MI_DATA_ROOT to a folder "
                    "holding MNIST/raw (torchvision layout)")
    return root
