"""Expert episodes on the rollout engine: demonstrations are recorded by the same loop that
collects and evaluates.

The expert is closed-loop (it acts on every step's observation), so it drives the env as an
intervention source that is always in control; the engine's policy only proposes a chunk of
zeros, and what ran is read back from ``executed_actions``. The RL state the engine records is
the raw observation at every chunk boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from warl.core.envs.chunked import ChunkedEnv
from warl.core.envs.intervention import GatedExpert, InterventionWrapper
from warl.core.rollout.engine import EpisodeRequest, Rollout, RolloutEngine
from warl.core.rollout.vector import SerialVector


def _always(proposed: np.ndarray, expert: np.ndarray) -> bool:
    return True


class ObservationPolicy:
    """Proposes zeros (the expert overrides every step) and records the observation."""

    def __init__(self, chunk: int, action_dim: int) -> None:
        self.zeros = np.zeros((chunk, action_dim), np.float32)

    def features(self, observation: Mapping[str, Any], wa_output: Any) -> dict[str, np.ndarray]:
        return {k: np.array(v) for k, v in observation.items()}

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> np.ndarray:
        return self.zeros


def expert_episode(env: Any, expert: Callable[[Any], np.ndarray], chunk: int,
                   seed: int) -> Rollout:
    """One episode of ``expert`` in the single-step ``env`` from ``reset(seed=seed)``, cut
    into ``chunk``-step decisions (1: every step)."""
    driven = ChunkedEnv(InterventionWrapper(env, GatedExpert(expert, _always)), chunk)
    policy = ObservationPolicy(chunk, driven.action_dim)
    engine = RolloutEngine(SerialVector([driven]), None, [policy])
    return engine.run([EpisodeRequest(seed, explore=False)])[0]


def boundary_observations(rollout: Rollout) -> dict[str, np.ndarray]:
    """The observations at the episode's decision boundaries, stacked: T + 1 of them."""
    record = rollout.record
    assert record.final_features is not None
    states = [s.features for s in record.steps] + [record.final_features]
    return {k: np.stack([s[k] for s in states]) for k in states[0]}
