import pytest
import torch

from mi_lib import metrics


def test_accuracy_counts_matching_argmax():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0]])
    assert metrics.accuracy(logits, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_logit_distortion_is_mean_absolute_change_per_entry():
    c0 = torch.zeros(2, 5)
    c = c0.clone()
    c[0, 0] = 1.0
    c[1, 3] = -2.0
    assert metrics.logit_distortion(c0, c) == pytest.approx(3 / 10)


def test_prob_distortion_zero_for_shifted_logits_and_two_at_most():
    c0 = torch.randn(4, 10)
    assert metrics.prob_distortion(c0, c0 + 7.0) == pytest.approx(0, abs=1e-6)
    far = torch.tensor([[100.0, 0.0]]), torch.tensor([[0.0, 100.0]])
    assert metrics.prob_distortion(*far) == pytest.approx(2.0)


def test_mse_is_per_pixel():
    x = torch.zeros(2, 1, 4, 4)
    y = torch.ones(2, 1, 4, 4) * 0.5
    assert metrics.mse(x, y) == pytest.approx(0.25)
    assert metrics.mse_per_sample(x, y).shape == (2,)


def test_mse_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        metrics.mse(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 5, 5))


def test_mean_image_mse_equals_variance_around_the_auxiliary_mean():
    aux = torch.tensor([0.0, 1.0]).view(2, 1, 1, 1)
    images = torch.tensor([0.5, 1.0]).view(2, 1, 1, 1)
    assert metrics.mean_image_mse(aux, images) == pytest.approx((0 + 0.25) / 2)
