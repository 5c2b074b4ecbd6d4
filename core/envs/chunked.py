"""`ChunkedEnv`: execute an action chunk (C x A) as one step, the unit every WA policy acts in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import EXECUTED_ACTION_KEY, INTERVENED_KEY, video_frame

# Re-plans the rest of a chunk from the current observation: (obs, remaining) -> (remaining, A).
Refill = Callable[[Any, int], np.ndarray]


def can_defer_cameras(env: gym.Env[Any, np.ndarray]) -> bool:
    """Whether ``env`` can skip its camera images on a step (`MetaWorldEnv.defer_cameras`)."""
    return hasattr(env.unwrapped, "render_cameras")


def step_deferred(env: gym.Env[Any, np.ndarray], action: np.ndarray,
                  defer: bool) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
    """``env.step(action)``, skipping camera rendering when ``defer``: for steps whose images
    nobody reads. Call `fresh_cameras` on the observation that is read."""
    if not defer:
        return env.step(action)
    unwrapped: Any = env.unwrapped
    unwrapped.defer_cameras = True
    try:
        return env.step(action)
    finally:
        unwrapped.defer_cameras = False


def fresh_cameras(env: gym.Env[Any, np.ndarray], obs: dict[str, Any]) -> dict[str, Any]:
    """``obs`` with its camera images rendered from the current state."""
    unwrapped: Any = env.unwrapped
    return {**obs, **unwrapped.render_cameras()}


class ChunkedEnv(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """Executes a (C, A) chunk open-loop, stopping early when the episode ends.

    ``step(chunk)`` returns the last observation, the chunk's summed reward, and ``info`` with
    ``executed_actions`` (C, A; rows after an early stop are zero), ``steps_executed``,
    ``intervened`` (C,) bool, ``rewards`` (C,), the last step's ``success``, and ``frames`` (the
    first camera image, or ``render()``, per executed step) when ``record_frames``.

    If ``refill`` is given, the rest of the chunk is re-planned after every intervened step, so
    that once the intervention ends the remaining actions come from a fresh inference on the
    current observation (HALO-WA's rule) instead of a stale plan.

    Envs that can defer their camera images (``env.unwrapped.defer_cameras`` and
    ``render_cameras()``, see `MetaWorldEnv`) skip rendering inside the chunk, since only the
    chunk's last observation is returned; its images are rendered fresh. Not while recording
    frames or re-planning (both read every observation). Wrappers between this one and the
    env must not transform images.
    """

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        chunk: int,
        *,
        refill: Refill | None = None,
        record_frames: bool = False,
    ) -> None:
        super().__init__(env)
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        base = env.action_space
        if not isinstance(base, spaces.Box) or len(base.shape) != 1:
            raise TypeError(f"ChunkedEnv needs a 1-D Box action space, got {base}")
        self.chunk = chunk
        self.refill = refill
        self.record_frames = record_frames
        self.action_dim = base.shape[0]
        self.action_space = spaces.Box(
            np.tile(base.low, (chunk, 1)), np.tile(base.high, (chunk, 1)), dtype=base.dtype
        )
        self._last_obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._last_obs = obs
        if self.record_frames:
            info["frames"] = [self._frame(obs)]
        return obs, info

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        chunk = np.array(action, dtype=np.float32)  # a copy: refill may overwrite rows
        shape_ok = chunk.ndim == 2 and chunk.shape[1] == self.action_dim
        if not shape_ok or not 1 <= len(chunk) <= self.chunk:
            raise ValueError(
                f"expected an action chunk of shape (k, {self.action_dim}) with 1 <= k <= "
                f"{self.chunk}, got {chunk.shape}"
            )
        if hasattr(self.env, "step_chunk") and not self.record_frames:
            return self._step_remote(chunk)
        executed = np.zeros((self.chunk, self.action_dim), dtype=np.float32)
        intervened = np.zeros(self.chunk, dtype=bool)
        rewards = np.zeros(self.chunk, dtype=np.float32)
        frames = []
        obs, terminated, truncated = self._last_obs, False, False
        info: dict[str, Any] = {}
        steps = 0
        defer = can_defer_cameras(self.env) and not self.record_frames and self.refill is None
        for i in range(len(chunk)):
            obs, reward, terminated, truncated, info = step_deferred(self.env, chunk[i], defer)
            executed[i] = info.get(EXECUTED_ACTION_KEY, chunk[i])
            intervened[i] = bool(info.get(INTERVENED_KEY, False))
            rewards[i] = reward
            steps = i + 1
            if self.record_frames:
                frames.append(self._frame(obs))
            if terminated or truncated:
                break
            if intervened[i] and self.refill is not None and i + 1 < len(chunk):
                chunk[i + 1 :] = self.refill(obs, len(chunk) - i - 1)
        if defer and steps:
            obs = fresh_cameras(self.env, obs)
        self._last_obs = obs
        out = dict(info)
        self._add_link(out)
        out.update(
            executed_actions=executed,
            steps_executed=steps,
            intervened=intervened,
            rewards=rewards,
        )
        if self.record_frames:
            out["frames"] = frames
        return obs, float(rewards.sum()), terminated, truncated, out

    def _step_remote(self, chunk: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """The chunk through an env that executes chunks itself (`RemoteEnv.step_chunk`, the
        wrapper's direct child): the serving side runs it at its control rate and may end it
        early (an intervention, a safety stop); the rest is re-planned with ``refill`` when
        an intervention ended it, as in the local loop, and sent again."""
        executed = np.zeros((self.chunk, self.action_dim), dtype=np.float32)
        intervened = np.zeros(self.chunk, dtype=bool)
        rewards = np.zeros(self.chunk, dtype=np.float32)
        obs, terminated, truncated, steps = self._last_obs, False, False, 0
        info: dict[str, Any] = {}
        while steps < len(chunk) and not (terminated or truncated):
            obs, step_rewards, terminated, truncated, info = self.env.step_chunk(  # type: ignore[attr-defined]
                chunk[steps:])
            done = len(step_rewards)
            executed[steps:steps + done] = info["executed"]
            intervened[steps:steps + done] = info["intervened"]
            rewards[steps:steps + done] = step_rewards
            steps += done
            if done == 0:
                break
            if info.get("ended") == "intervention" and self.refill is not None \
                    and steps < len(chunk):
                chunk[steps:] = self.refill(obs, len(chunk) - steps)
        self._last_obs = obs
        out = dict(info)
        self._add_link(out)
        out.update(executed_actions=executed, steps_executed=steps, intervened=intervened,
                   rewards=rewards)
        return obs, float(rewards.sum()), terminated, truncated, out

    def _add_link(self, out: dict[str, Any]) -> None:
        """A remote env's (stream, epoch, seq) after the chunk, for the session's
        acknowledgements (`warl.core.training.durable`)."""
        link = getattr(self.env.unwrapped, "remote_watermark", None)
        if link is not None:
            out["link"] = link

    def _frame(self, obs: Any) -> np.ndarray | None:
        return video_frame(self.env, obs)
