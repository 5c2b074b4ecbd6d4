"""The env an SB3 learner sees: the deployment env reduced to its state vector, reset on the
loop's training seeds, reporting each finished episode in its last ``info``.

SB3's ``MlpPolicy`` takes a flat Box, and SB3 resets its envs itself (with no seed after the
first reset), so both the observation and the episode seeds are fixed here, below SB3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import INTERVENED_KEY, STATE_KEY, SUCCESS_KEY
from warl.core.errors import ContractError

# info key of the last step of an episode: its `EpisodeSummary`.
EPISODE_KEY = "warl_episode"


def state_space(observation_space: Any) -> spaces.Box:
    """The ``state`` Box of a warl Dict observation space."""
    if not isinstance(observation_space, spaces.Dict) or STATE_KEY not in observation_space.spaces:
        raise ContractError(f"SB3 algorithms read the {STATE_KEY!r} entry of a Dict observation; "
                            f"the env's observation space is {observation_space}")
    box = observation_space[STATE_KEY]
    if not isinstance(box, spaces.Box) or len(box.shape) != 1:
        raise ContractError(f"the env's {STATE_KEY!r} space must be a 1-D Box, got {box}")
    return box


def state_of(observation: Any) -> np.ndarray:
    return np.asarray(observation[STATE_KEY], dtype=np.float32)


@dataclass(frozen=True)
class EpisodeSummary:
    success: bool
    episode_return: float
    length: int
    intervention_steps: int


class TrainingEpisodes(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """Resets episode ``i`` (counted from ``first_episode``) with ``seed_of(i)``, whatever seed
    SB3 asks for, and puts an `EpisodeSummary` in the info of every episode's last step."""

    def __init__(self, env: gym.Env[Any, np.ndarray], seed_of: Callable[[int], int],
                 first_episode: int) -> None:
        super().__init__(env)
        self.seed_of, self.next_episode = seed_of, first_episode
        self._return, self._length, self._success, self._interventions = 0.0, 0, False, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        episode_seed = self.seed_of(self.next_episode)
        self.next_episode += 1
        self._return, self._length, self._success, self._interventions = 0.0, 0, False, 0
        return self.env.reset(seed=episode_seed, options=options)

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        self._success = self._success or bool(info.get(SUCCESS_KEY, False))
        self._interventions += bool(info.get(INTERVENED_KEY, False))
        if terminated or truncated:
            info[EPISODE_KEY] = EpisodeSummary(self._success, self._return, self._length,
                                               self._interventions)
        return obs, reward, terminated, truncated, info


class StateObservation(gym.ObservationWrapper[np.ndarray, np.ndarray, Any]):
    """Only the ``state`` vector of the warl Dict observation, as a Box."""

    def __init__(self, env: gym.Env[Any, np.ndarray]) -> None:
        super().__init__(env)
        self.observation_space = state_space(env.observation_space)

    def observation(self, observation: Any) -> np.ndarray:
        return state_of(observation)


class SpacesOnly(gym.Env[np.ndarray, np.ndarray]):
    """An env with the learner's spaces and nothing else: SB3 builds a model from an env, and
    the model must exist (to act in the first evaluation, to load a checkpoint) before the
    loop hands over the training env."""

    def __init__(self, observation_space: spaces.Box, action_space: spaces.Space[Any]) -> None:
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        raise RuntimeError("SpacesOnly has no dynamics; learn() provides the training env")

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        raise RuntimeError("SpacesOnly has no dynamics; learn() provides the training env")


def episode_bound(env: gym.Env[Any, Any]) -> int | None:
    """The env's episode horizon when it declares one (``max_episode_steps``)."""
    spec = getattr(env, "spec", None)
    for value in (getattr(env.unwrapped, "max_episode_steps", None),
                  getattr(spec, "max_episode_steps", None)):
        if isinstance(value, int) and value > 0:
            return value
    return None
