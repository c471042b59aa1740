import torch

from mi_lib.attack import logits_of, reconstruct, release
from mi_lib.defense import AdversarialNoiseDefense
from mi_lib.models import DigitClassifier, attacker_inversion, defender_inversion


def test_query_and_reconstruct_in_batches_match_one_batch():
    torch.manual_seed(0)
    target, attacker = DigitClassifier().eval(), attacker_inversion().eval()
    x = torch.rand(7, 1, 28, 28)
    logits = logits_of(target, x, batch_size=3)
    assert torch.allclose(logits, logits_of(target, x, batch_size=100), atol=1e-5)
    recon = reconstruct(attacker, logits, batch_size=2)
    assert recon.shape == x.shape
    assert torch.allclose(recon, reconstruct(attacker, logits), atol=1e-5)


def test_release_without_defense_returns_the_logits():
    logits = torch.randn(5, 10)
    assert torch.equal(release(logits, torch.rand(5, 1, 28, 28)), logits)


def test_release_runs_the_defense_per_batch():
    torch.manual_seed(0)
    logits, x = torch.randn(6, 10), torch.rand(6, 1, 28, 28)
    defense = AdversarialNoiseDefense(defender_inversion(), eta=0.1, steps=2)
    released = release(logits, x, defense, batch_size=4)
    assert torch.allclose(released, defense(logits, x), atol=1e-5)
    assert torch.equal(released.argmax(1), logits.argmax(1))
