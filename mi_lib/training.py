"""Seeded training loops and the on-disk model cache.

Every trained model is stored under a key derived from everything that determines
its weights (profile, data source, architecture, role, seed, ...). A chapter that
asks for a model gets it from the cache in a second, or trains it once. Files are
written to a temporary name and renamed, so an interrupted run never leaves a
half-written checkpoint behind; they are read back with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

CACHE_ENV = "MI_CACHE_DIR"
DEFAULT_CACHE = Path.home() / ".cache" / "mi_lib" / "models"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for data order."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return torch.device(device)


def _batches(n: int, batch_size: int, generator: torch.Generator):
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     epochs: int, batch_size: int = 64, lr: float = 1e-3,
                     seed: int = 0, device: str = "auto",
                     loss_fn: Callable | None = None, progress: bool = True
                     ) -> list[float]:
    """Train a classifier with Adam and cross-entropy; return the loss per epoch.

    Args:
        model: maps ``(B, 1, H, W)`` images to logits ``(B, K)``.
        images, labels: training data.
        loss_fn: ``loss_fn(model, x, y) -> scalar`` to replace cross-entropy (used
            by training schemes with extra terms, e.g. an information bottleneck).
    """
    generator = seed_everything(seed)
    dev = resolve_device(device)
    model.to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in tqdm(range(epochs), desc="classifier", disable=not progress, leave=False):
        total = 0.0
        for idx in _batches(len(labels), batch_size, generator):
            x, y = images[idx].to(dev), labels[idx].to(dev)
            loss = loss_fn(model, x, y) if loss_fn else F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        history.append(total / len(labels))
    model.eval()
    return history


def train_inversion(model: nn.Module, vectors: torch.Tensor, images: torch.Tensor,
                    epochs: int, batch_size: int = 64, lr: float = 2e-4,
                    seed: int = 0, device: str = "auto", progress: bool = True,
                    vector_fn: Callable | None = None) -> list[float]:
    """Train an inversion model to map released vectors back to images (MSE).

    Args:
        model: maps ``(B, K)`` probability vectors to ``(B, 1, H, W)`` images.
        vectors: ``(N, K)`` released probability vectors of ``images``.
        images: ``(N, 1, H, W)`` images in [0, 1] that produced them.
        lr: Adam learning rate (betas (0.5, 0.999), as in Yang et al.).
        vector_fn: ``vector_fn(vectors, images) -> vectors`` applied to every batch
            before the model sees it (an adaptive attacker trains on freshly
            defended vectors this way).

    Returns:
        Mean training MSE per epoch.
    """
    generator = seed_everything(seed)
    dev = resolve_device(device)
    model.to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    history = []
    for _ in tqdm(range(epochs), desc="inversion", disable=not progress, leave=False):
        total = 0.0
        for idx in _batches(len(images), batch_size, generator):
            v, x = vectors[idx].to(dev), images[idx].to(dev)
            if vector_fn is not None:
                v = vector_fn(v, x)
            loss = F.mse_loss(model(v), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        history.append(total / len(images))
    model.eval()
    return history


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The model cache: ``path``, else ``$MI_CACHE_DIR``, else
    ``~/.cache/mi_lib/models`` (one cache for the CLI and every chapter)."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(CACHE_ENV, DEFAULT_CACHE))


def cache_key(config: dict) -> str:
    """A short stable hash of a JSON-serialisable configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def usable_folder(path: str | os.PathLike, what: str) -> Path:
    """Create the folder ``path`` if needed and check that files can be written
    there, so that a bad folder fails before any training, not after it.

    Raises:
        ValueError: naming ``what`` the folder is for, the path and the reason.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path} is a file, not a folder; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{what} {path} cannot be created ({err.strerror}); "
                         "give a folder that can be written") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path} is not writable; give a folder that can be "
                         "written")
    return path


def save_atomic(state: dict, path: Path) -> None:
    """Write ``state`` with ``torch.save`` to a temporary file, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_model(name: str, config: dict, build: Callable[[], nn.Module],
                 train: Callable[[nn.Module], object], cache: str | os.PathLike | None
                 = None, device: str = "auto", seed: int | None = None) -> nn.Module:
    """Load a trained model from the cache, or build, train and store it.

    Args:
        name: readable prefix of the file name (``"target"``, ``"attacker"``, ...).
        config: everything that determines the weights; hashed into the key.
        build: returns a fresh, untrained model.
        train: trains the model in place.
        cache: cache folder (see :func:`cache_dir`).
        seed: seeds the initial weights of ``build()`` when given.

    Returns:
        The model in eval mode on ``device``.
    """
    path = cache_dir(cache) / f"{name}-{cache_key(config)}.pt"
    if seed is not None:
        seed_everything(seed)
    model = build()
    dev = resolve_device(device)
    if path.exists():
        logger.info("loading %s from %s", name, path)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    else:
        usable_folder(path.parent, f"model cache folder (--cache, cache= or ${CACHE_ENV})")
        logger.info("training %s (cache miss: %s)", name, path)
        train(model)
        save_atomic({k: v.cpu() for k, v in model.state_dict().items()}, path)
    return model.to(dev).eval()
