import hashlib

import numpy as np
import pytest
import torch

from mi_lib.data import load_digits, load_embedded, load_mnist


def fingerprints(images: torch.Tensor) -> set[str]:
    arr = (images.numpy() * 255).round().astype(np.uint8)
    return {hashlib.sha1(row.tobytes()).hexdigest() for row in arr}


@pytest.fixture(scope="module")
def embedded():
    return load_embedded(seed=0)


def test_embedded_splits_are_disjoint_and_cover_the_5000_digits(embedded):
    splits = [embedded.private_train, embedded.private_test, embedded.aux]
    assert sum(len(s) for s in splits) == 5000
    a, b, c = (fingerprints(s.images) for s in splits)
    assert not (a & b) and not (a & c) and not (b & c)


def test_embedded_images_are_unit_range_28x28(embedded):
    x = embedded.private_train.images
    assert x.shape[1:] == (1, 28, 28) and x.dtype == torch.float32
    assert x.min() == 0 and x.max() == 1
    assert embedded.image_shape == (1, 28, 28)


def test_embedded_splits_are_stratified(embedded):
    counts = torch.bincount(embedded.private_test.labels, minlength=10)
    assert counts.tolist() == [50] * 10


def test_split_depends_on_the_seed():
    a, b = load_embedded(seed=0), load_embedded(seed=1)
    assert not torch.equal(a.private_test.images, b.private_test.images)


@pytest.mark.parametrize("kwargs", [{"n_private_test": 0}, {"n_private_test": 4000},
                                    {"aux_fraction": 1.5}])
def test_embedded_rejects_impossible_sizes(kwargs):
    with pytest.raises(ValueError):
        load_embedded(**kwargs)


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="embedded"):
        load_digits("qmnist-images")


def test_missing_mnist_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_mnist(tmp_path, download=False)


def test_full_mnist_from_the_data_root_without_qmnist(data_root):
    digits = load_mnist(data_root, download=False, n_private_test=1000)
    assert len(digits.private_train) + len(digits.aux) == 60_000
    assert len(digits.private_test) == 1000
    assert "MNIST train" in digits.aux_source
    assert not fingerprints(digits.aux.images[:5000]) & fingerprints(
        digits.private_train.images[:5000])
