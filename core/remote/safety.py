"""Safety limits the serving side applies to every chunk before any action reaches the robot.

Two limits, both optional, from a YAML/JSON file (``warl serve --safety FILE``) or a mapping:

- ``action_low`` / ``action_high``: per-step bounds of each action dimension; every action is
  clipped into them.
- ``workspace_low`` / ``workspace_high``: a box the end effector must stay in. With delta
  position control (MetaWorld, the simulated arm) the next position is ``position +
  action_scale * action[:3]``; the position part of the action is scaled down so that the
  next position stays inside the box (an action that would leave it is shortened, never
  reversed). ``position`` is read from ``state[position_slice]`` of the current observation.

A clipped action is reported as executed (what ran), and the chunk result says how many
actions were clipped, so the learner never stores an action the robot did not run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import ConfigError

KEYS = ("action_low", "action_high", "workspace_low", "workspace_high", "position_slice",
        "action_scale")


@dataclass(frozen=True)
class SafetyLimits:
    action_low: np.ndarray | None = None
    action_high: np.ndarray | None = None
    workspace_low: np.ndarray | None = None
    workspace_high: np.ndarray | None = None
    position_slice: tuple[int, int] = (0, 3)
    action_scale: float = 0.01

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], action_dim: int) -> SafetyLimits:
        """Checked limits; one error line naming the bad key."""
        unknown = set(data) - set(KEYS)
        if unknown:
            raise ConfigError(f"safety limits: unknown key(s) {sorted(unknown)}; expected some "
                              f"of {list(KEYS)}")

        def vector(name: str, size: int) -> np.ndarray | None:
            if data.get(name) is None:
                return None
            value = np.asarray(data[name], dtype=np.float64)
            if value.ndim == 0:
                value = np.full(size, float(value))
            if value.shape != (size,) or not np.all(np.isfinite(value)):
                raise ConfigError(f"safety limits: {name} must be {size} finite numbers, got "
                                  f"{data[name]!r}")
            return value

        start, stop = (int(v) for v in data.get("position_slice", (0, 3)))
        dims = stop - start
        if dims < 1:
            raise ConfigError(f"safety limits: position_slice {start, stop} is empty")
        limits = cls(vector("action_low", action_dim), vector("action_high", action_dim),
                     vector("workspace_low", dims), vector("workspace_high", dims),
                     (start, stop), float(data.get("action_scale", 0.01)))
        for low, high, what in ((limits.action_low, limits.action_high, "action"),
                                (limits.workspace_low, limits.workspace_high, "workspace")):
            if (low is None) != (high is None):
                raise ConfigError(f"safety limits: give both {what}_low and {what}_high")
            if low is not None and high is not None and np.any(low > high):
                raise ConfigError(f"safety limits: {what}_low exceeds {what}_high")
        if dims > action_dim and limits.workspace_low is not None:
            raise ConfigError(f"safety limits: the workspace has {dims} dimensions but actions "
                              f"only {action_dim}")
        if limits.action_scale <= 0:
            raise ConfigError("safety limits: action_scale must be positive")
        return limits

    @property
    def active(self) -> bool:
        return self.action_low is not None or self.workspace_low is not None

    def apply(self, action: np.ndarray, observation: Mapping[str, Any] | None
              ) -> tuple[np.ndarray, bool]:
        """(``action`` made safe for the robot in ``observation``'s state, whether the
        workspace limit had to shorten it: a safety stop)."""
        safe = np.asarray(action, dtype=np.float64).copy()
        if self.action_low is not None and self.action_high is not None:
            safe = np.clip(safe, self.action_low, self.action_high)
        stopped = False
        if (self.workspace_low is not None and self.workspace_high is not None
                and observation is not None):
            start, stop = self.position_slice
            dims = stop - start
            position = np.asarray(observation[STATE_KEY], dtype=np.float64)[start:stop]
            delta = safe[:dims] * self.action_scale
            kept = _shorten(position, delta, self.workspace_low, self.workspace_high)
            stopped = not np.allclose(kept, delta)
            safe[:dims] = kept / self.action_scale
        return safe.astype(np.float32), stopped


def _shorten(position: np.ndarray, delta: np.ndarray, low: np.ndarray,
             high: np.ndarray) -> np.ndarray:
    """``delta`` per axis so that ``position + delta`` stays in [low, high]; an axis already
    outside may only move back toward the box."""
    upper = np.maximum(high - position, 0.0)
    lower = np.minimum(low - position, 0.0)
    return np.clip(delta, lower, upper)


def load_limits(path: str | None, action_dim: int) -> SafetyLimits:
    """Limits from a YAML/JSON file, or none."""
    if path is None:
        return SafetyLimits()
    import yaml

    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read the safety file {path!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the safety file {path!r} is not YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"the safety file {path!r} must hold a mapping of {list(KEYS)}")
    return SafetyLimits.from_mapping(data, action_dim)
