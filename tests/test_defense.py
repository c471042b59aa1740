import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.nn import functional as F

from mi_lib.defense import (AdversarialNoiseDefense, NoDefense, get_noise, keep_label,
                            label_modifier, probs_to_logits, project,
                            reconstruction_error)
from mi_lib.models import defender_inversion

HARD_CASES = {
    "ties": [[1.0, 1.0, 1.0, 0.5]],
    "all_negative": [[-5.0, -3.0, -3.0, -7.0]],
    "all_equal_negative": [[-2.0, -2.0, -2.0, -2.0]],
    "huge": [[1e4, -1e4, 1e4, 0.0]],
    "huge_negative": [[-1e4, -1e4 + 1, -1e4, -1e4]],
    "batch_of_one_zero": [[0.0, 0.0, 0.0, 0.0]],
}

finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)
logit_batches = arrays("float32", st.tuples(st.integers(1, 6), st.integers(2, 10)),
                       elements=st.one_of(finite, st.sampled_from([0.0, 1.0, -1.0])))


def released_label(c):
    return F.softmax(c, dim=1).argmax(dim=1)


@pytest.mark.parametrize("case", HARD_CASES)
@pytest.mark.parametrize("p", [1, 2, math.inf])
@pytest.mark.parametrize("eps", [None, 1e-3, 0.5])
def test_label_kept_and_budget_respected_on_hard_cases(case, p, eps):
    c0 = torch.tensor(HARD_CASES[case])
    grad = torch.tensor([[-1.0, 1.0, 1.0, 1.0]]).expand_as(c0)
    n = get_noise(c0, c0.clone(), grad, eta=0.5, eps=eps, p=p)
    c = c0 + n
    assert torch.equal(c.argmax(1), c0.argmax(1))
    assert torch.equal(released_label(c), c0.argmax(1))
    if eps is not None:
        assert torch.linalg.vector_norm(n, ord=p, dim=1).max() <= eps * (1 + 1e-5)
    assert torch.allclose(F.softmax(c, 1).sum(1), torch.ones(len(c)))


@settings(max_examples=200, deadline=None)
@given(logit_batches, st.floats(0, 2), st.sampled_from([None, 1e-2, 0.3, 5.0]),
       st.sampled_from([1, 2, math.inf]), st.integers(0, 2**31 - 1))
def test_get_noise_invariants(c0, eta, eps, p, seed):
    c0 = torch.from_numpy(c0)
    grad = torch.randn(c0.shape, generator=torch.Generator().manual_seed(seed))
    n = get_noise(c0, c0.clone(), grad, eta, eps, p)
    c = c0 + n
    assert torch.equal(c.argmax(1), c0.argmax(1))
    # Only a budget too small for the tie-breaking margin falls back to n = 0,
    # which releases the original vector itself.
    fallback = n.abs().sum(1) == 0
    assert ((released_label(c) == c0.argmax(1)) | fallback).all()
    if eps is not None:
        norms = torch.linalg.vector_norm(n, ord=p, dim=1)
        assert (norms <= eps * (1 + 1e-5)).all()
    assert torch.allclose(F.softmax(c, 1).sum(1), torch.ones(len(c)), atol=1e-5)


@settings(max_examples=100, deadline=None)
@given(logit_batches, st.integers(0, 2**31 - 1))
def test_label_modifier_tops_any_label(c, seed):
    c = torch.from_numpy(c)
    label = torch.randint(0, c.shape[1], (len(c),),
                          generator=torch.Generator().manual_seed(seed))
    assert torch.equal(label_modifier(c, label).argmax(1), label)


def test_label_modifier_leaves_rows_already_topped_by_their_label():
    c = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, -1.0]])
    assert torch.equal(label_modifier(c, torch.tensor([0, 1])), c)


def test_label_modifier_only_changes_the_label_entry():
    c = torch.tensor([[1.0, 4.0, 2.0]])
    lifted = label_modifier(c, torch.tensor([2]))
    assert torch.equal(lifted[:, :2], c[:, :2])
    assert lifted[0, 2] > 4.0


def test_keep_label_restores_the_original_argmax():
    c0 = torch.tensor([[2.0, 1.0, 0.0]])
    flipped = torch.tensor([[0.0, 3.0, 1.0]])
    assert keep_label(flipped, c0).argmax(1).item() == 0


@pytest.mark.parametrize("p", [1, 2, math.inf])
def test_project_scales_only_rows_over_budget(p):
    n = torch.tensor([[3.0, 4.0], [0.01, 0.0]])
    out = project(n, eps=1.0, p=p)
    assert torch.linalg.vector_norm(out[0], ord=p) == pytest.approx(1.0, rel=1e-6)
    assert torch.equal(out[1], n[1])
    assert torch.allclose(out[0] / out[0].norm(), n[0] / n[0].norm())


def test_project_without_budget_returns_noise_unchanged():
    n = torch.randn(4, 3)
    assert torch.equal(project(n, None), n)


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"eps": -1.0}, {"p": 3},
                                    {"p": 0}])
def test_project_rejects_invalid_parameters(kwargs):
    with pytest.raises(ValueError, match="eps|p must"):
        project(torch.ones(1, 2), **{"eps": 1.0, "p": 2, **kwargs})


@pytest.mark.parametrize("kwargs", [{"eta": -0.1}, {"eta": math.inf}, {"eta": math.nan},
                                    {"steps": 0}, {"steps": 2.5}, {"steps": True},
                                    {"eps": 0}, {"p": 4}])
def test_defense_rejects_invalid_parameters(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        AdversarialNoiseDefense(defender_inversion(), **kwargs)


def test_defense_takes_numpy_numbers():
    defense = AdversarialNoiseDefense(defender_inversion(), eta=np.float32(0.5),
                                      steps=np.int64(3))
    assert (defense.eta, defense.steps) == (0.5, 3)


@pytest.mark.parametrize("eta", [-1.0, math.inf])
def test_get_noise_rejects_an_invalid_step(eta):
    c0 = torch.tensor([[1.0, 0.0]])
    with pytest.raises(ValueError, match="eta must be"):
        get_noise(c0, c0, torch.ones(1, 2), eta)


def test_defense_needs_images():
    defense = AdversarialNoiseDefense(defender_inversion())
    with pytest.raises(ValueError, match="images"):
        defense(torch.zeros(2, 10))


@pytest.fixture
def inversion_and_batch():
    torch.manual_seed(0)
    model = defender_inversion().eval()
    logits = torch.randn(8, 10) * 3
    images = torch.rand(8, 1, 28, 28)
    return model, logits, images


def test_defense_raises_the_defenders_reconstruction_error(inversion_and_batch):
    model, c0, x = inversion_and_batch
    c = AdversarialNoiseDefense(model, eta=0.05, steps=3)(c0, x)
    before = reconstruction_error(model, c0, x).item()
    after = reconstruction_error(model, c, x).item()
    assert after > before


def test_defense_noise_is_bounded_by_eta_times_steps_off_the_label(
        inversion_and_batch):
    model, c0, x = inversion_and_batch
    eta, steps = 0.1, 4
    n = AdversarialNoiseDefense(model, eta=eta, steps=steps)(c0, x) - c0
    off_label = n.scatter(1, c0.argmax(1, keepdim=True), 0.0)
    assert off_label.abs().max() <= eta * steps + 1e-5
    assert n.abs().max() > 0


@pytest.mark.parametrize("p", [1, 2, math.inf])
def test_defense_keeps_labels_and_budget_on_a_batch(inversion_and_batch, p):
    model, c0, x = inversion_and_batch
    c = AdversarialNoiseDefense(model, eta=0.4, steps=10, eps=0.7, p=p)(c0, x)
    assert torch.equal(c.argmax(1), c0.argmax(1))
    assert (torch.linalg.vector_norm(c - c0, ord=p, dim=1) <= 0.7 * (1 + 1e-5)).all()


def test_defense_batch_rows_are_independent(inversion_and_batch):
    model, c0, x = inversion_and_batch
    defense = AdversarialNoiseDefense(model, eta=0.1, steps=5)
    together = defense(c0, x)
    alone = defense(c0[:1], x[:1])
    assert torch.allclose(together[:1], alone, atol=1e-6)


def test_defense_leaves_model_parameters_without_gradients(inversion_and_batch):
    model, c0, x = inversion_and_batch
    AdversarialNoiseDefense(model)(c0, x)
    assert all(p.grad is None for p in model.parameters())


def test_no_defense_releases_the_logits():
    c0 = torch.randn(3, 10)
    assert torch.equal(NoDefense()(c0), c0)


def test_probs_to_logits_is_exact_for_unchanged_probabilities():
    c0 = torch.randn(5, 10) * 4
    back = probs_to_logits(F.softmax(c0, 1), c0)
    assert torch.allclose(back, c0, atol=1e-4)
