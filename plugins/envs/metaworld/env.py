"""`MetaWorldEnv`: one MetaWorld v3 task behind the warl env contract."""

from __future__ import annotations

import atexit
import difflib
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.adapter import (
    as_list,
    check_common,
    episode_end,
    observation,
    observation_space,
)
from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY, rgb_key
from warl.core.errors import ConfigError
from warl.plugins.envs.metaworld.tasks import INSTRUCTIONS, metaworld_name

# MuJoCo picks its GL backend at import; EGL renders headless on the CPU (no display needed).
os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
from metaworld.env_dict import ALL_V3_ENVIRONMENTS

CAMERAS: tuple[str, ...] = (
    "corner", "corner2", "corner3", "corner4", "topview", "behindGripper", "gripperPOV",
)
# These cameras' frames are defined upside down in MetaWorld's XML; flip their images upright.
UPSIDE_DOWN_CAMERAS = frozenset({"corner", "corner2", "corner3"})

# Close GL contexts before the interpreter tears EGL down, or their finalizers print errors.
_RENDERERS: weakref.WeakSet[mujoco.Renderer] = weakref.WeakSet()


def _close_renderers() -> None:
    for renderer in list(_RENDERERS):
        renderer.close()


def _track(renderer: mujoco.Renderer) -> mujoco.Renderer:
    if not _RENDERERS:
        # Registered after MuJoCo's own EGL exit handler (imported with the first renderer), so
        # it runs before that handler terminates the display.
        atexit.unregister(_close_renderers)
        atexit.register(_close_renderers)
    _RENDERERS.add(renderer)
    return renderer


class MetaWorldEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """A MetaWorld v3 task with object and goal positions randomized per seed.

    Observation: ``state`` (39-D float32: hand position, gripper opening, two objects' poses,
    the previous frame of those, and the goal position) plus ``rgb_<camera>`` for each camera.
    Action: 4-D in [-1, 1] (end-effector delta xyz, gripper effort). Reward: 1 on success
    (``reward_type="sparse"``, default) or MetaWorld's shaped reward (``"dense"``).

    Args:
        task: MetaWorld task name without version, e.g. ``peg-insert-side``.
        cameras: cameras rendered into the observation (see `CAMERAS`); none by default.
        image_size: height and width of the observation images.
        max_episode_steps: truncation horizon (MetaWorld's is 500).
        reward_type: ``sparse`` or ``dense``.
        terminate_on_success: end the episode at the first success.
        render_mode: ``rgb_array`` to enable ``render()``.
        render_camera: camera used by ``render()``.
        render_size: height and width of ``render()`` images.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}

    def __init__(
        self,
        task: str = "peg-insert-side",
        cameras: Sequence[str] = (),
        image_size: int = 64,
        max_episode_steps: int = 500,
        reward_type: str = "sparse",
        terminate_on_success: bool = True,
        render_mode: str | None = None,
        render_camera: str = "corner",
        render_size: int = 256,
    ) -> None:
        task = task.removesuffix("-v3")
        if task not in INSTRUCTIONS:
            close = difflib.get_close_matches(task, list(INSTRUCTIONS), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown MetaWorld task {task!r}.{hint} Tasks: `warl list`.")
        cameras = as_list(cameras)
        for camera in [*cameras, render_camera]:
            if camera not in CAMERAS:
                raise ConfigError(
                    f"unknown MetaWorld camera {camera!r}; choose from {', '.join(CAMERAS)}."
                )
        check_common(reward_type, render_mode, image_size, render_size, max_episode_steps)

        self.task = task
        self.instruction = INSTRUCTIONS[task]
        self.cameras = tuple(cameras)
        self.image_size = int(image_size)
        self.max_episode_steps = int(max_episode_steps)
        self.reward_type = reward_type
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.render_camera = render_camera
        self.render_size = int(render_size)

        mw = ALL_V3_ENVIRONMENTS[metaworld_name(task)]()
        # Goal observable, positions drawn from the env's own seeded RNG at every reset.
        mw._partially_observable = False
        mw._freeze_rand_vec = False
        mw.seeded_rand_vec = True
        mw._set_task_called = True
        mw.max_path_length = self.max_episode_steps
        if "sawyer_observation_space" in mw.__dict__:
            del mw.sawyer_observation_space  # cached with the goal hidden
        # Shadows and multisampling cost most of the CPU render time and add nothing for learning.
        mw.model.vis.quality.shadowsize = 0
        mw.model.vis.quality.offsamples = 0
        self._mw = mw
        # One renderer per (thread, size): an EGL context is current in one thread only, and
        # an env may be evaluated in the main thread and rolled out in a worker thread.
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._steps = 0
        self.defer_cameras = False  # see render_cameras()

        box = mw.sawyer_observation_space
        state = spaces.Box(box.low.astype(np.float32), box.high.astype(np.float32),
                           dtype=np.float32)
        self.observation_space = observation_space(  # type: ignore[assignment]
            state, self.cameras, self.image_size)
        self.action_space = spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)

    # -- Gymnasium API ----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode; ``seed`` fixes object and goal positions (and nothing else)."""
        super().reset(seed=seed)
        if seed is not None:
            self._mw.seed(seed)
        elif not getattr(self, "_seeded", False):
            self._mw.seed(int(self.np_random.integers(2**31 - 1)))
        self._seeded = True
        raw, _ = self._mw.reset()
        self._steps = 0
        return self._observation(raw), {SUCCESS_KEY: False, INSTRUCTION_KEY: self.instruction}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply one action.

        Returns:
            observation: the contract's Dict observation after the action.
            reward: 1.0 on success (sparse) or MetaWorld's shaped reward (dense).
            terminated: success, when ``terminate_on_success``.
            truncated: ``max_episode_steps`` reached without termination.
            info: ``success`` (bool) plus MetaWorld's diagnostics (``near_object``, ...).
        """
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (4,):
            raise ValueError(
                f"MetaWorld actions have shape (4,) (dx, dy, dz, gripper); got {action.shape}."
            )
        raw, dense, _, _, info = self._mw.step(_clipped(action))
        self._steps += 1
        success = bool(info[SUCCESS_KEY])
        info[SUCCESS_KEY] = success
        reward = float(success) if self.reward_type == "sparse" else float(dense)
        terminated, truncated = episode_end(success, self.terminate_on_success,
                                            self._steps, self.max_episode_steps)
        return self._observation(raw), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self._render(self.render_camera, self.render_size)

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()
        self._mw.close()

    # -- warl extras -------------------------------------------------------------------------
    def scripted_expert(self) -> Any:
        """MetaWorld's hand-written policy for this task (`MetaWorldExpert`)."""
        from warl.plugins.envs.metaworld.expert import MetaWorldExpert

        return MetaWorldExpert(self.task)

    def render_cameras(self) -> dict[str, np.ndarray]:
        """Fresh ``rgb_<camera>`` images of the current state.

        With ``defer_cameras`` set, steps skip rendering and their images are black: a
        `ChunkedEnv` sets it for the steps inside a chunk, whose observations nobody reads,
        and calls this for the chunk's last observation. Rendering is ~97% of a step's cost.
        """
        return {rgb_key(c): self._render(c, self.image_size) for c in self.cameras}

    def _observation(self, raw: np.ndarray) -> dict[str, np.ndarray]:
        return observation(raw.astype(np.float32), self.cameras, self.image_size,
                           self.defer_cameras, self.render_cameras)

    def _render(self, camera: str, size: int) -> np.ndarray:
        key = (threading.get_ident(), size)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = mujoco.Renderer(self._mw.model, size, size)
            self._renderers[key] = _track(renderer)
        renderer.update_scene(self._mw.data, camera=camera)
        image = renderer.render()
        if camera in UPSIDE_DOWN_CAMERAS:
            image = image[::-1]
        return np.ascontiguousarray(image)


def _clipped(action: np.ndarray) -> np.ndarray:
    """``action`` clipped to [-1, 1], in plain Python: on this 4-vector NumPy's vectorised
    minimum/maximum made the MuJoCo step that follows about 10 us (4%) slower on an AVX-512
    machine, while the clip itself takes under 1 us (benchmarks/env_overhead.py)."""
    values = action.tolist()
    if min(values) >= -1.0 and max(values) <= 1.0:
        return action
    return np.array([min(max(v, -1.0), 1.0) for v in values], dtype=np.float32)
