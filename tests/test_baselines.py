import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.nn import functional as F

from mi_lib.baselines import (GaussianNoise, LabelOnly, LaplaceNoise, MIDDefense,
                              PPFDefense, Purifier, ReverseSigmoid, Rounding, TopK,
                              VIBClassifier, kl_to_standard_normal, purifier_utility,
                              train_purifier, vib_loss, vib_loss_fn,
                              with_label_modifier)
from mi_lib.defense import NoDefense, probs_to_logits
from mi_lib.models import defender_inversion
from mi_lib.training import train_classifier

logit_batches = arrays("float32", st.tuples(st.integers(1, 8), st.integers(2, 10)),
                       elements=st.floats(-40, 40, width=32))

SIMPLE = {
    "gaussian": lambda: GaussianNoise(2.0),
    "laplace": lambda: LaplaceNoise(2.0),
    "rounding": lambda: Rounding(1),
    "top-k": lambda: TopK(2),
    "label-only": LabelOnly,
    "reverse-sigmoid": lambda: ReverseSigmoid(0.8, 0.1),
}


def released_probs(c):
    return F.softmax(c, dim=1)


def normalised(released, c0):
    """The released probabilities before renormalisation (undo probs_to_logits)."""
    return torch.exp(released - torch.logsumexp(c0, dim=1, keepdim=True))


@pytest.mark.parametrize("name", SIMPLE)
def test_simple_defenses_keep_shape_name_and_finiteness(name):
    c0 = torch.randn(7, 10) * 10
    defense = SIMPLE[name]()
    released = defense(c0)
    assert defense.name == name
    assert released.shape == c0.shape and released.dtype == c0.dtype
    assert torch.isfinite(released).all()
    assert torch.allclose(released_probs(released).sum(1), torch.ones(7))


def test_gaussian_noise_has_the_requested_scale_and_is_reproducible():
    c0 = torch.zeros(200, 50)
    noise = GaussianNoise(0.5, seed=3)(c0)
    assert noise.std().item() == pytest.approx(0.5, rel=0.05)
    assert torch.equal(noise, GaussianNoise(0.5, seed=3)(c0))
    assert not torch.equal(noise, GaussianNoise(0.5, seed=4)(c0))


def test_laplace_noise_mean_absolute_value_is_its_scale():
    noise = LaplaceNoise(1.5, seed=0)(torch.zeros(200, 50))
    assert noise.abs().mean().item() == pytest.approx(1.5, rel=0.05)
    assert noise.mean().abs().item() < 0.05


def test_zero_noise_changes_nothing():
    c0 = torch.randn(4, 10)
    assert torch.equal(GaussianNoise(0.0)(c0), c0)
    assert torch.equal(LaplaceNoise(0.0)(c0), c0)


@settings(max_examples=100, deadline=None)
@given(logit_batches, st.integers(0, 4))
def test_rounding_releases_multiples_of_the_rounding_step(c0, decimals):
    c0 = torch.from_numpy(c0).double()
    kept = normalised(Rounding(decimals)(c0), c0)
    kept = torch.where(kept < 1e-20, torch.zeros_like(kept), kept)  # the floor
    steps = kept * 10**decimals
    assert torch.allclose(steps, steps.round(), atol=1e-6)
    assert torch.allclose(kept, torch.round(F.softmax(c0, 1), decimals=decimals),
                          atol=1e-9)


def test_rounding_to_two_decimals_hides_small_confidences():
    c0 = torch.log(torch.tensor([[0.9, 0.096, 0.004]]))
    probs = released_probs(Rounding(2)(c0))
    assert torch.allclose(probs, torch.tensor([[0.9, 0.1, 0.0]]) / 1.0, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(logit_batches, st.integers(1, 12))
def test_top_k_keeps_exactly_the_k_largest_probabilities(c0, k):
    c0 = torch.from_numpy(c0).double()
    probs0 = F.softmax(c0, 1)
    kept = normalised(TopK(k)(c0), c0)
    k = min(k, c0.shape[1])
    top = probs0.topk(k, dim=1).indices
    assert torch.allclose(kept.gather(1, top), probs0.gather(1, top))
    rest = kept.scatter(1, top, 0.0)
    assert (rest <= 1e-29).all()


@settings(max_examples=100, deadline=None)
@given(logit_batches)
def test_label_only_releases_the_one_hot_of_the_label(c0):
    c0 = torch.from_numpy(c0)
    released = LabelOnly()(c0)
    one_hot = F.one_hot(c0.argmax(1), c0.shape[1]).float()
    assert torch.isfinite(released).all()
    assert torch.allclose(released_probs(released), one_hot, atol=1e-6)
    assert torch.equal(released.argmax(1), c0.argmax(1))


def test_reverse_sigmoid_matches_the_formula_of_lee_et_al():
    y = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
    beta, gamma = 0.4, 0.5
    s_inv = torch.log(y / (1 - y))
    perturbed = y - beta * (torch.sigmoid(gamma * s_inv) - 0.5)
    expected = perturbed / perturbed.sum()
    released = ReverseSigmoid(beta, gamma)(torch.log(y))
    assert torch.allclose(released_probs(released), expected, atol=1e-9)


def test_reverse_sigmoid_with_gamma_one_is_affine_and_beta_zero_is_identity():
    c0 = torch.randn(5, 10, dtype=torch.float64) * 3
    y = F.softmax(c0, 1)
    affine = (1 - 0.3) * y + 0.3 / 2
    out = released_probs(ReverseSigmoid(0.3, 1.0)(c0))
    assert torch.allclose(out, affine / affine.sum(1, keepdim=True), atol=1e-9)
    assert torch.allclose(released_probs(ReverseSigmoid(0.0)(c0)), y, atol=1e-12)


def test_reverse_sigmoid_flattens_confident_vectors():
    c0 = torch.tensor([[12.0, 0.0, -3.0, -8.0]])
    before, after = released_probs(c0), released_probs(ReverseSigmoid(0.5, 0.1)(c0))
    assert after.max() < before.max() and after.min() > before.min()


@pytest.mark.parametrize("build, message", [
    (lambda: GaussianNoise(-1.0), "sigma"),
    (lambda: GaussianNoise(math.nan), "sigma"),
    (lambda: LaplaceNoise(-0.1), "non-negative"),
    (lambda: Rounding(-1), "decimals"),
    (lambda: Rounding(1.5), "integer"),
    (lambda: TopK(0), "k must"),
    (lambda: ReverseSigmoid(-1.0), "beta"),
    (lambda: ReverseSigmoid(0.5, 0.0), "gamma"),
    (lambda: ReverseSigmoid(0.5, 0.1, clip=0.7), "clip"),
    (lambda: VIBClassifier(dim=0), "dim"),
    (lambda: vib_loss_fn(-0.01), "beta"),
    (lambda: with_label_modifier(object()), "output defense"),
])
def test_invalid_parameters_say_what_is_allowed(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@settings(max_examples=100, deadline=None)
@given(logit_batches, st.sampled_from(sorted(SIMPLE)))
def test_label_modifier_restores_the_label_after_any_defense(c0, name):
    c0 = torch.from_numpy(c0)
    defense = with_label_modifier(SIMPLE[name]())
    released = defense(c0)
    assert defense.name == f"{name}+lm"
    assert torch.equal(released.argmax(1), c0.argmax(1))
    assert torch.equal(released_probs(released).argmax(1), c0.argmax(1))


def test_label_modifier_leaves_a_defense_that_keeps_the_label_alone():
    c0 = torch.tensor([[3.0, 1.0, -2.0], [0.0, 5.0, 1.0]])
    assert torch.equal(with_label_modifier(NoDefense())(c0), c0)


def test_purifier_output_is_aligned_with_the_input_logits():
    torch.manual_seed(0)
    c0 = torch.randn(6, 10) * 5
    released = Purifier()(c0)
    assert released.shape == (6, 10)
    assert torch.allclose(torch.logsumexp(released, 1), torch.logsumexp(c0, 1),
                          atol=1e-4)


def test_purifier_utility_is_zero_only_for_an_unchanged_confident_vector():
    c0 = torch.tensor([[30.0, 0.0, -5.0]])
    assert purifier_utility(c0, c0).item() < 1e-6
    assert purifier_utility(c0.flip(1), c0).item() > 1.0


def test_ppf_keeps_the_label_after_the_modifier():
    torch.manual_seed(0)
    c0 = torch.randn(64, 10) * 8
    plain = PPFDefense(Purifier())
    assert (plain(c0).argmax(1) != c0.argmax(1)).any()  # untrained: labels move
    released = with_label_modifier(plain)(c0)
    assert torch.equal(released.argmax(1), c0.argmax(1))


def test_ppf_training_reduces_its_utility_loss():
    torch.manual_seed(0)
    images = torch.rand(64, 1, 28, 28)
    logits = torch.randn(64, 10) * 6
    history = train_purifier(Purifier(), defender_inversion(10, 28, 10), logits,
                             images, epochs=15, lam=1.0, batch_size=16, lr=1e-2,
                             device="cpu", progress=False)
    assert len(history["utility"]) == len(history["inversion_mse"]) == 15
    assert history["utility"][-1] < 0.8 * history["utility"][0]


def test_ppf_rejects_a_negative_privacy_weight():
    with pytest.raises(ValueError, match="lam"):
        train_purifier(Purifier(), defender_inversion(10, 28, 10), torch.zeros(4, 10),
                       torch.zeros(4, 1, 28, 28), epochs=1, lam=-1.0, progress=False)


def test_vib_classifier_samples_in_training_and_uses_the_mean_at_test_time():
    torch.manual_seed(0)
    model = VIBClassifier(10, dim=16)
    x = torch.rand(5, 1, 28, 28)
    model.eval()
    assert model(x).shape == (5, 10)
    assert torch.equal(model(x), model(x))
    mu, std = model.encode(x)
    assert mu.shape == std.shape == (5, 16) and (std > 0).all()
    assert torch.allclose(model(x), model.head(mu))
    model.train()
    model.features.eval()  # dropout off: only the code's noise remains
    assert not torch.equal(model(x), model(x))


def test_kl_is_zero_for_the_standard_normal_and_positive_otherwise():
    zeros, ones = torch.zeros(3, 8), torch.ones(3, 8)
    assert torch.allclose(kl_to_standard_normal(zeros, ones), torch.zeros(3))
    assert (kl_to_standard_normal(zeros + 0.5, ones * 0.3) > 0).all()


def test_vib_loss_grows_with_beta():
    torch.manual_seed(0)
    model = VIBClassifier(10, dim=8)
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    torch.manual_seed(1)
    small = vib_loss(model, x, y, 0.0)
    torch.manual_seed(1)
    large = vib_loss(model, x, y, 1.0)
    assert large > small


def test_mid_training_reduces_its_loss():
    torch.manual_seed(0)
    images = torch.rand(128, 1, 28, 28)
    labels = (images.mean((1, 2, 3)) > 0.5).long()  # a learnable rule
    history = train_classifier(VIBClassifier(2, dim=8), images, labels, epochs=4,
                               batch_size=32, lr=1e-3, device="cpu",
                               loss_fn=vib_loss_fn(0.01), progress=False)
    assert history[-1] < history[0]


def test_mid_releases_its_own_model_aligned_with_the_targets_logits():
    torch.manual_seed(0)
    mid = VIBClassifier(10, dim=8).eval()
    x, c0 = torch.rand(4, 1, 28, 28), torch.randn(4, 10) * 4
    released = MIDDefense(mid)(c0, x)
    assert torch.allclose(released, probs_to_logits(F.softmax(mid(x), 1), c0))
    assert torch.equal(released.argmax(1), mid(x).argmax(1))
    kept = with_label_modifier(MIDDefense(mid))(c0, x)
    assert torch.equal(kept.argmax(1), c0.argmax(1))


def test_mid_needs_the_images():
    with pytest.raises(ValueError, match="images"):
        MIDDefense(VIBClassifier(10, dim=8))(torch.zeros(2, 10))
