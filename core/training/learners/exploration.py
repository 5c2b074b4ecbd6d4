"""TD3's exploration noise on an action chunk, as the chunk-level methods' rollout policies add
it while collecting (``exploration_noise`` and ``exploration_shape`` of `ChunkTD3Config`)."""

from __future__ import annotations

import numpy as np


def explored(chunk: np.ndarray, rng: np.random.Generator, std: float, shape: str
             ) -> np.ndarray:
    """``chunk`` (C, A) plus Gaussian noise of ``std``: drawn for every action (``action``),
    or once per chunk and held over its C actions (``chunk``); clipped to [-1, 1]."""
    if std > 0:
        size = (1, chunk.shape[-1]) if shape == "chunk" else chunk.shape
        chunk = chunk + rng.normal(0.0, std, size)
    return np.clip(chunk, -1.0, 1.0).astype(np.float32)
