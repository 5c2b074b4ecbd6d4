"""Human (or scripted) intervention: a source that may take over, and the wrapper that obeys it.

The replay buffer must store what was actually executed, so the wrapper reports the executed
action and whether it came from the source in ``info`` on every step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from warl.core.envs.contract import EXECUTED_ACTION_KEY, INTERVENED_KEY


@runtime_checkable
class InterventionSource(Protocol):
    """Anything that can take control: a keyboard, a spacemouse, a scripted expert.

    ``__call__`` sees the observation and the action the policy proposes, and returns the
    action to execute instead, or None to let the policy act.
    """

    def reset(self) -> None: ...

    def __call__(self, observation: Any, proposed_action: np.ndarray) -> np.ndarray | None: ...


class DeviationGate:
    """A human-gated takeover rule for a simulated expert (HG-DAgger's gating function).

    The expert takes over when the policy's proposed action deviates from its own by more than
    ``threshold`` (L2), keeps control for at least ``min_takeover_steps`` steps, and hands back
    once the deviation falls below ``release`` (hysteresis, as a person would).
    """

    def __init__(
        self, threshold: float = 0.5, release: float | None = None, min_takeover_steps: int = 10
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold}")
        self.threshold = threshold
        self.release = threshold / 2 if release is None else release
        self.min_takeover_steps = min_takeover_steps
        self.reset()

    def reset(self) -> None:
        self.engaged = False
        self._held = 0

    def __call__(self, proposed: np.ndarray, expert: np.ndarray) -> bool:
        deviation = float(np.linalg.norm(np.asarray(proposed) - np.asarray(expert)))
        if self.engaged:
            self._held += 1
            if self._held >= self.min_takeover_steps and deviation < self.release:
                self.engaged = False
        elif deviation > self.threshold:
            self.engaged, self._held = True, 0
        return self.engaged


class GatedExpert:
    """An `InterventionSource` from an expert policy and a gating rule."""

    def __init__(
        self, expert: Callable[[Any], np.ndarray], gate: Callable[[np.ndarray, np.ndarray], bool]
    ) -> None:
        self.expert = expert
        self.gate = gate

    def reset(self) -> None:
        reset = getattr(self.gate, "reset", None)
        if reset is not None:
            reset()

    def __call__(self, observation: Any, proposed_action: np.ndarray) -> np.ndarray | None:
        action = np.asarray(self.expert(observation), dtype=np.float32)
        return action if self.gate(proposed_action, action) else None


class InterventionWrapper(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """Executes the source's action whenever it takes over, and reports what ran.

    ``info["executed_action"]`` is the action sent to the env, ``info["intervened"]`` whether it
    came from the source. ``intervention_steps`` / ``steps`` count per episode.
    """

    def __init__(self, env: gym.Env[Any, np.ndarray], source: InterventionSource) -> None:
        super().__init__(env)
        self.source = source
        self._last_obs: Any = None
        self.steps = 0
        self.intervention_steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.source.reset()
        self._last_obs = obs
        self.steps = self.intervention_steps = 0
        return obs, info

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        override = self.source(self._last_obs, np.asarray(action))
        executed = np.asarray(action if override is None else override, dtype=np.float32)
        obs, reward, terminated, truncated, info = self.env.step(executed)
        self._last_obs = obs
        self.steps += 1
        self.intervention_steps += override is not None
        info[EXECUTED_ACTION_KEY] = executed
        info[INTERVENED_KEY] = override is not None
        return obs, reward, terminated, truncated, info

    @property
    def intervention_rate(self) -> float:
        return self.intervention_steps / self.steps if self.steps else 0.0


def has_intervention(env: Any) -> bool:
    """Whether an `InterventionWrapper` is somewhere in ``env``'s wrapper stack."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, InterventionWrapper):
            return True
        env = env.env
    return False
