"""MetaWorld's scripted experts as warl policies and intervention sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from warl.core.envs.contract import STATE_KEY
from warl.core.envs.intervention import DeviationGate, GatedExpert
from warl.plugins.envs.metaworld.tasks import metaworld_name


class MetaWorldExpert:
    """The task's hand-written MetaWorld policy: ``expert(observation) -> action (4,)``.

    It reads the 39-D state (object and goal positions included), so it works with or
    without cameras.
    """

    def __init__(self, task: str) -> None:
        from metaworld.policies import ENV_POLICY_MAP

        self.task = task
        # The map is typed with the abstract base class; its values are concrete policies.
        self._policy = ENV_POLICY_MAP[metaworld_name(task)]()  # type: ignore[abstract]

    def __call__(self, observation: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        state = observation[STATE_KEY] if isinstance(observation, Mapping) else observation
        action = self._policy.get_action(np.asarray(state, dtype=np.float64))
        return np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)


def expert_intervention(
    task: str,
    threshold: float = 0.5,
    release: float | None = None,
    min_takeover_steps: int = 10,
) -> GatedExpert:
    """The scripted expert as a human-gated `InterventionSource` (see `DeviationGate`)."""
    gate = DeviationGate(threshold, release, min_takeover_steps)
    return GatedExpert(MetaWorldExpert(task), gate)
