"""Envs that break the contract on purpose, to test that `warl check` catches them."""

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class _Base(gym.Env[dict[str, np.ndarray], np.ndarray]):
    observation_space = spaces.Dict({"state": spaces.Box(-10, 10, (2,), np.float32)})
    action_space = spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        super().reset(seed=seed)
        self.x = np.zeros(2, np.float32)
        return {"state": self.x.copy()}, {"success": False, "instruction": "do it"}

    def step(self, action: np.ndarray) -> Any:
        self.x = np.clip(self.x + action, -10, 10).astype(np.float32)
        return {"state": self.x.copy()}, 0.0, False, False, {"success": False}


class NondeterministicEnv(_Base):
    _rng = np.random.default_rng()  # not reseeded by reset(seed=...)

    def step(self, action: np.ndarray) -> Any:
        return super().step(action + self._rng.normal(0, 0.1, 2).astype(np.float32))


class NoSuccessEnv(_Base):
    def step(self, action: np.ndarray) -> Any:
        obs, reward, terminated, truncated, _ = super().step(action)
        return obs, reward, terminated, truncated, {}
