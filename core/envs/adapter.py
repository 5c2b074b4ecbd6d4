"""What every simulator adapter (MetaWorld, ManiSkill, robosuite, ALOHA) does the same way:
check the common settings, assemble the contract's observation with deferred cameras, and
end an episode."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import STATE_KEY, rgb_key
from warl.core.errors import ConfigError

REWARD_TYPES = ("sparse", "dense")


def check_common(reward_type: str, render_mode: str | None, *sizes: int | None) -> None:
    """One clear error for a bad ``reward_type``, ``render_mode`` or non-positive size."""
    if reward_type not in REWARD_TYPES:
        raise ConfigError(f"reward_type must be one of {REWARD_TYPES}, got {reward_type!r}.")
    if render_mode not in (None, "rgb_array"):
        raise ConfigError(f"render_mode must be None or 'rgb_array', got {render_mode!r}.")
    if any(size is not None and size <= 0 for size in sizes):
        raise ConfigError("image_size, render_size and max_episode_steps must be positive.")


def as_list(cameras: Sequence[str] | str) -> list[str]:
    return [cameras] if isinstance(cameras, str) else list(cameras)


def observation_space(state: spaces.Box, cameras: Sequence[str], image_size: int) -> spaces.Dict:
    """``state`` plus one (H, W, 3) uint8 ``rgb_<camera>`` per camera."""
    obs: dict[str, spaces.Space[Any]] = {STATE_KEY: state}
    for camera in cameras:
        obs[rgb_key(camera)] = spaces.Box(0, 255, (image_size, image_size, 3), dtype=np.uint8)
    return spaces.Dict(obs)


def observation(state: np.ndarray, cameras: Sequence[str], image_size: int, defer: bool,
                render_cameras: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The contract's observation. With ``defer`` (set by `ChunkedEnv` for the steps inside
    a chunk, whose observations nobody reads) the images are black and cost nothing."""
    obs = {STATE_KEY: state}
    if not cameras:
        return obs
    if defer:
        shape = (image_size, image_size, 3)
        obs.update({rgb_key(c): np.zeros(shape, np.uint8) for c in cameras})
    else:
        obs.update(render_cameras())
    return obs


def checked_action(action: Any, space: Any, layout: str) -> np.ndarray:
    """``action`` as float32 within ``space``'s bounds; a wrong shape is an error naming the
    expected ``layout`` (e.g. "dx, dy, dz, gripper")."""
    action = np.asarray(action, dtype=np.float32)
    if action.shape != space.shape:
        raise ValueError(f"actions have shape {space.shape} ({layout}); got {action.shape}.")
    return np.clip(action, space.low, space.high)


def episode_end(done: bool, terminate: bool, steps: int, max_steps: int) -> tuple[bool, bool]:
    """(terminated, truncated): ``done`` (success, or a task's failure) ends the episode when
    ``terminate``; ``max_steps`` truncates it otherwise."""
    terminated = done and terminate
    return terminated, not terminated and steps >= max_steps


def unbounded_state(size: int) -> spaces.Box:
    return spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
