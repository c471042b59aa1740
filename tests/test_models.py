import pytest
import torch
from torch import nn

from mi_lib.models import (DigitClassifier, InversionModel, attacker_inversion,
                           confidence_features, defender_inversion)


def test_classifier_returns_logits_per_class():
    assert DigitClassifier()(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("build", [attacker_inversion, defender_inversion])
@pytest.mark.parametrize("size,classes", [(28, 10), (64, 530)])
def test_inversion_models_decode_to_images_in_unit_range(build, size, classes):
    model = build(num_classes=classes, image_size=size).eval()
    probs = torch.softmax(torch.randn(2, classes), dim=1)
    out = model(probs)
    assert out.shape == (2, 1, size, size)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("size", [28, 64])
def test_defender_has_two_hidden_layers_fewer_than_attacker(size):
    def count(model):
        return sum(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
    assert count(attacker_inversion(image_size=size)) - count(
        defender_inversion(image_size=size)) == 2


def test_confidence_features_keep_top_k_and_are_non_negative():
    probs = torch.tensor([[0.7, 0.2, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25]])
    features = confidence_features(probs, top_k=2)
    assert (features >= 0).all()
    assert (features[0, 2:] == 0).all()
    assert features[0, 0] > features[0, 1] >= 0
    assert (features[1] > 0).sum() == 2


def test_confidence_features_follow_log_plus_shift():
    probs = torch.tensor([[0.5, 0.5]])
    expected = torch.log(torch.tensor(0.5)) + 50
    assert torch.allclose(confidence_features(probs, 2), expected.expand(1, 2))


def test_confidence_features_finite_for_zero_probabilities():
    features = confidence_features(torch.tensor([[1.0, 0.0, 0.0]]), top_k=3)
    assert torch.isfinite(features).all()
    assert features[0, 0] > features[0, 1]


def test_inversion_input_is_differentiable_in_the_logits():
    logits = torch.randn(2, 10, requires_grad=True)
    attacker_inversion().eval()(torch.softmax(logits, 1)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


@pytest.mark.parametrize("top_k", [0, 11])
def test_top_k_outside_range_is_rejected(top_k):
    with pytest.raises(ValueError, match="top_k"):
        attacker_inversion(top_k=top_k)


def test_unknown_image_size_is_rejected():
    with pytest.raises(ValueError, match="image_size"):
        attacker_inversion(image_size=32)


def test_custom_decoder_layers():
    model = InversionModel(4, [(8, 7, 1, 0), (1, 4, 4, 0)], top_k=2)
    assert model(torch.softmax(torch.randn(1, 4), 1)).shape == (1, 1, 28, 28)
