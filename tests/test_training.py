import pytest
import torch
from torch import nn

from mi_lib.models import DigitClassifier, attacker_inversion
from mi_lib.training import (cache_key, cached_model, resolve_device, save_atomic,
                             train_classifier, train_inversion)


def small_digits(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_classifier_training_reduces_loss():
    x, y = small_digits()
    history = train_classifier(DigitClassifier(), x, y, epochs=5, batch_size=16,
                               seed=0, device="cpu", progress=False)
    assert history[-1] < history[0]


def test_inversion_training_reduces_loss():
    x, _ = small_digits()
    probs = torch.softmax(torch.randn(len(x), 10), dim=1)
    history = train_inversion(attacker_inversion(), probs, x, epochs=4, batch_size=16,
                              lr=1e-3, device="cpu", progress=False)
    assert history[-1] < history[0]


def test_training_is_reproducible_for_a_seed():
    x, y = small_digits()

    def weights(seed):
        torch.manual_seed(0)
        model = DigitClassifier()
        train_classifier(model, x, y, 1, 16, seed=seed, device="cpu", progress=False)
        return model.head.weight

    assert torch.equal(weights(3), weights(3))
    assert not torch.equal(weights(3), weights(4))


def test_cache_trains_once_then_loads(tmp_path):
    calls = []

    def train(model):
        calls.append(1)
        nn.init.constant_(model.weight, 0.5)

    first = cached_model("lin", {"a": 1}, lambda: nn.Linear(2, 2), train, tmp_path, "cpu")
    second = cached_model("lin", {"a": 1}, lambda: nn.Linear(2, 2), train, tmp_path, "cpu")
    assert len(calls) == 1
    assert torch.equal(first.weight, second.weight)
    cached_model("lin", {"a": 2}, lambda: nn.Linear(2, 2), train, tmp_path, "cpu")
    assert len(calls) == 2


def test_cache_seeds_the_initial_weights(tmp_path):
    def build():
        return nn.Linear(3, 3)

    a = cached_model("a", {"k": 1}, build, lambda m: None, tmp_path, "cpu", seed=5)
    b = cached_model("b", {"k": 1}, build, lambda m: None, tmp_path, "cpu", seed=5)
    assert torch.equal(a.weight, b.weight)


def test_cache_key_ignores_dict_order_and_sees_values():
    assert cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})


def test_interrupted_save_leaves_no_checkpoint(tmp_path, monkeypatch):
    def broken_save(state, handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_atomic({"w": torch.ones(1)}, tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_training_writes_nothing_to_the_cache(tmp_path):
    def train(model):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_model("lin", {}, lambda: nn.Linear(2, 2), train, tmp_path, "cpu")
    assert not any(tmp_path.iterdir())


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
