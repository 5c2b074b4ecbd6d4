"""Names of the warl env contract, declared once.

Observation: a flat ``gymnasium.spaces.Dict`` with ``state`` (float32 proprioception, required),
optional ``rgb_<camera>`` images (uint8, H x W x 3) and optional extra keys. ``info["success"]``
(bool) on every step; ``info["instruction"]`` (str) at reset. Reward is sparse by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

STATE_KEY = "state"
RGB_PREFIX = "rgb_"
SUCCESS_KEY = "success"
INSTRUCTION_KEY = "instruction"
# Per-step keys set by InterventionWrapper and collected by ChunkedEnv.
EXECUTED_ACTION_KEY = "executed_action"
INTERVENED_KEY = "intervened"


def rgb_key(camera: str) -> str:
    return f"{RGB_PREFIX}{camera}"


def camera_keys(observation: Mapping[str, Any]) -> list[str]:
    """The ``rgb_<camera>`` keys of an observation or a Dict space, in order."""
    return [k for k in observation if k.startswith(RGB_PREFIX)]


def first_frame(observation: Mapping[str, Any]) -> np.ndarray | None:
    """The first camera image of an observation (used for videos), or None."""
    keys = camera_keys(observation)
    return np.asarray(observation[keys[0]]) if keys else None


def video_frame(env: Any, observation: Any) -> np.ndarray | None:
    """The frame a video shows: the first camera image, else ``env.render()``, else None."""
    frame = first_frame(observation) if isinstance(observation, Mapping) else None
    if frame is None:
        rendered = env.render()
        frame = None if rendered is None else np.asarray(rendered)
    return frame
