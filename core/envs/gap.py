"""Deployment-gap wrappers: the calibration, perception and control errors of a real robot.

Each draws its randomness from its own generator, seeded from ``seed`` and the episode seed
passed to ``reset``, so a gap is reproducible per episode and independent of the policy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import STATE_KEY


class _SeededWrapper(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    def __init__(self, env: gym.Env[Any, np.ndarray], seed: int | None) -> None:
        super().__init__(env)
        self.gap_seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        episode_seed = kwargs.get("seed")
        if episode_seed is not None:
            self.rng = np.random.default_rng([self.gap_seed or 0, episode_seed])
        return self.env.reset(**kwargs)

    def _box(self) -> spaces.Box:
        space = self.env.action_space
        assert isinstance(space, spaces.Box)
        return space


class CalibrationOffset(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """A fixed extrinsic calibration error between where the policy aims and where the arm goes.

    The commanded translation (``dims``, default the first three: dx, dy, dz) is rotated by
    ``yaw_deg`` about the vertical axis and shifted by ``bias``, for the whole run: the kind of
    millimetre error a competent policy trained on a perfectly calibrated robot meets in
    deployment.
    """

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        bias: Sequence[float] | None = None,
        yaw_deg: float = 0.0,
        dims: Sequence[int] = (0, 1, 2),
    ) -> None:
        super().__init__(env)
        self.dims = list(dims)
        self.bias = np.zeros(len(self.dims), np.float32) if bias is None else np.asarray(
            bias, dtype=np.float32
        )
        if self.bias.shape != (len(self.dims),):
            raise ValueError(f"bias needs {len(self.dims)} values (one per dim), got {bias}")
        c, s = np.cos(np.deg2rad(yaw_deg)), np.sin(np.deg2rad(yaw_deg))
        self.rotation = np.eye(len(self.dims), dtype=np.float32)
        if len(self.dims) >= 2:
            self.rotation[:2, :2] = [[c, -s], [s, c]]
        self.yaw_deg = yaw_deg

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        action = np.array(action, dtype=np.float32)
        action[self.dims] = self.rotation @ action[self.dims] + self.bias
        space = self.env.action_space
        assert isinstance(space, spaces.Box)
        return self.env.step(np.clip(action, space.low, space.high))


class ObservationNoise(_SeededWrapper):
    """Gaussian perception noise (std ``std``) on float observation keys (default ``state``)."""

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        std: float,
        keys: Sequence[str] = (STATE_KEY,),
        seed: int | None = None,
    ) -> None:
        super().__init__(env, seed)
        self.std = std
        self.keys = tuple(keys)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = super().reset(**kwargs)
        return self._noisy(obs), info

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._noisy(obs), reward, terminated, truncated, info

    def _noisy(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        obs = dict(obs)
        for key in self.keys:
            value = obs[key]
            obs[key] = (value + self.rng.normal(0.0, self.std, value.shape)).astype(value.dtype)
        return obs


class ActionNoise(_SeededWrapper):
    """Gaussian actuation noise (std ``std``) added to every action, clipped to the bounds."""

    def __init__(self, env: gym.Env[Any, np.ndarray], std: float, seed: int | None = None) -> None:
        super().__init__(env, seed)
        self.std = std

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        box = self._box()
        noisy = np.asarray(action, dtype=np.float32) + self.rng.normal(0.0, self.std, box.shape)
        return self.env.step(np.clip(noisy, box.low, box.high).astype(box.dtype))


class ControlLatency(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """Each action reaches the robot ``steps`` control periods late; ``hold`` runs meanwhile."""

    def __init__(
        self, env: gym.Env[Any, np.ndarray], steps: int, hold: Sequence[float] | None = None
    ) -> None:
        super().__init__(env)
        if steps < 0:
            raise ValueError(f"latency steps must be >= 0, got {steps}")
        space = env.action_space
        assert isinstance(space, spaces.Box)
        self.steps = steps
        self.hold = np.zeros(space.shape, space.dtype) if hold is None else np.asarray(
            hold, dtype=space.dtype
        )
        self._queue: deque[np.ndarray] = deque()

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._queue = deque([self.hold.copy() for _ in range(self.steps)])
        return self.env.reset(**kwargs)

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        self._queue.append(np.asarray(action))
        return self.env.step(self._queue.popleft())


# The deployment-gap config: each key names one wrapper and maps to its keyword arguments.
# Applied innermost first in this order, so latency delays the already-miscalibrated command.
GAP_WRAPPERS: dict[str, type[gym.Wrapper[Any, np.ndarray, Any, np.ndarray]]] = {
    "calibration": CalibrationOffset,
    "action_noise": ActionNoise,
    "latency": ControlLatency,
    "observation_noise": ObservationNoise,
}
_SEEDED = (ActionNoise, ObservationNoise)


def apply_deployment_gap(
    env: gym.Env[Any, np.ndarray], gap: Mapping[str, Any] | None, seed: int | None = 0
) -> gym.Env[Any, np.ndarray]:
    """Wrap ``env`` in the deployment-gap wrappers that ``gap`` names.

    Example: ``{"calibration": {"bias": [0.1, 0, 0], "yaw_deg": 8}, "latency": {"steps": 1}}``.
    Keys: ``calibration`` (`CalibrationOffset`), ``action_noise`` (`ActionNoise`),
    ``latency`` (`ControlLatency`), ``observation_noise`` (`ObservationNoise`).
    """
    from warl.core.errors import ConfigError

    if not gap:
        return env
    if not isinstance(gap, Mapping):
        raise ConfigError(f"a deployment gap must be a mapping of wrapper -> settings, got {gap!r}")
    unknown = set(gap) - set(GAP_WRAPPERS)
    if unknown:
        raise ConfigError(
            f"unknown deployment-gap wrapper(s) {sorted(unknown)}; known: {list(GAP_WRAPPERS)}"
        )
    for name, wrapper in GAP_WRAPPERS.items():
        if name not in gap:
            continue
        settings = dict(gap[name] or {})
        if wrapper in _SEEDED:
            settings.setdefault("seed", seed)
        try:
            env = wrapper(env, **settings)
        except TypeError as exc:
            raise ConfigError(f"deployment gap {name!r}: bad settings {settings}: {exc}") from None
    return env
