"""A 2-D point-reaching env that follows the warl env contract."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class PointReachEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """State: point and goal positions (float32). Action: a 2-D velocity. Sparse reward."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, max_episode_steps: int = 60, tolerance: float = 0.1,
                 render_mode: str | None = None) -> None:
        self.max_episode_steps = max_episode_steps
        self.tolerance = tolerance
        self.render_mode = render_mode  # warl train / warl eval record videos with rgb_array
        self.observation_space = spaces.Dict(
            {"state": spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)}
        )
        self.action_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        self._pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self._goal = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self._t = 0
        return self._obs(), {"success": False, "instruction": "Move the point to the goal."}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        action = np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        self._pos = np.clip(self._pos + 0.1 * action, -1.0, 1.0).astype(np.float32)
        self._t += 1
        success = bool(np.linalg.norm(self._pos - self._goal) < self.tolerance)
        truncated = not success and self._t >= self.max_episode_steps
        return self._obs(), float(success), success, truncated, {"success": success}

    def render(self) -> np.ndarray:
        """A 64 x 64 top view: the point in red, the goal in green."""
        frame = np.full((64, 64, 3), 255, np.uint8)
        for xy, colour in ((self._goal, (0, 160, 0)), (self._pos, (200, 0, 0))):
            col, row = ((np.asarray(xy) + 1) * 31.5).astype(int)
            frame[max(0, 61 - row):64 - row + 1, max(0, col - 2):col + 3] = colour
        return frame

    def scripted_expert(self):
        """Heads straight for the goal (used by `warl demos collect`)."""
        return lambda obs: np.clip(10 * (obs["state"][2:] - obs["state"][:2]), -1, 1)

    def _obs(self) -> dict[str, np.ndarray]:
        return {"state": np.concatenate([self._pos, self._goal]).astype(np.float32)}
