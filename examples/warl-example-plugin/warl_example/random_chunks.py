"""A random baseline: an evaluation-only algorithm plugin (it acts, it has nothing to train).

`warl train example/random-chunks` evaluates it; a trainable algorithm has ``train(session)``
instead (see `warl new-plugin --kind algorithm` and docs/plugins.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class RandomChunks:
    needs: frozenset[str] = frozenset()
    evaluation_only = True

    def __init__(self, env: Any, chunk: int = 4, seed: int = 0) -> None:
        self.low, self.high = env.action_space.low, env.action_space.high
        self.chunk = chunk
        self.rng = np.random.default_rng(seed)
        self.updates = 0

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> np.ndarray:
        shape = (self.chunk, *self.low.shape)
        return self.rng.uniform(self.low, self.high, shape).astype(np.float32)

    def update(self, batch: Any) -> dict[str, float]:
        self.updates += 1
        return {"updates": float(self.updates)}

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.updates = int(state["updates"])
        self.rng.bit_generator.state = state["rng"]
