"""`RobosuiteEnv`: one robosuite 1.5 task (MuJoCo) behind the warl env contract."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.adapter import (
    as_list,
    check_common,
    checked_action,
    episode_end,
    observation,
    observation_space,
    unbounded_state,
)
from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY, rgb_key
from warl.core.errors import ConfigError
from warl.plugins.envs.robosuite.expert import EXPERTS, RobosuiteExpert
from warl.plugins.envs.robosuite.tasks import INSTRUCTIONS, TWO_ARM

os.environ.setdefault("MUJOCO_GL", "egl")

import robosuite
from robosuite.controllers import load_composite_controller_config

CAMERAS = ("frontview", "birdview", "agentview", "sideview")


class RobosuiteEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """A robosuite task with its objects placed at random per seed.

    Observation: ``state`` (float32: robosuite's named observables in its order, the robots'
    proprioception and the objects' poses; `state_part` reads one by name) plus
    ``rgb_<camera>`` for each camera asked for, upright.
    Action: the composite controller's, in [-1, 1]; with ``BASIC`` (the default) one arm is
    7-D (operational-space dx, dy, dz, droll, dpitch, dyaw, gripper), two arms 14-D. Reward: 1
    on success (``sparse``) or robosuite's shaped reward (``dense``).

    Args:
        task: robosuite environment name, e.g. ``Lift``.
        robots: robot names; ``None`` is Panda (two Pandas for the two-arm tasks).
        cameras: cameras rendered into the observation (see `CAMERAS`, plus the robots' own,
            e.g. ``robot0_eye_in_hand``); none by default.
        image_size: height and width of the observation images.
        controller: robosuite composite controller (``BASIC``: operational space for arms).
        max_episode_steps: truncation horizon.
        reward_type: ``sparse`` or ``dense``.
        terminate_on_success: end the episode at the first success.
        render_mode: ``rgb_array`` to enable ``render()``.
        render_camera: camera used by ``render()``.
        render_size: height and width of ``render()`` images.
        control_freq: control steps per simulated second (robosuite's default 20).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        task: str = "Lift",
        robots: Sequence[str] | str | None = None,
        cameras: Sequence[str] = (),
        image_size: int = 64,
        controller: str = "BASIC",
        max_episode_steps: int = 300,
        reward_type: str = "sparse",
        terminate_on_success: bool = True,
        render_mode: str | None = None,
        render_camera: str = "agentview",
        render_size: int = 256,
        control_freq: int = 20,
    ) -> None:
        if task not in INSTRUCTIONS:
            close = difflib.get_close_matches(task, list(INSTRUCTIONS), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown robosuite task {task!r}.{hint} "
                              f"Tasks: `warl list robosuite`.")
        check_common(reward_type, render_mode, image_size, render_size, max_episode_steps)
        if robots is None:
            robots = ["Panda", "Panda"] if task in TWO_ARM else ["Panda"]
        robots = [robots] if isinstance(robots, str) else list(robots)
        unknown = [r for r in robots if r not in robosuite.ALL_ROBOTS]
        if unknown:
            raise ConfigError(f"unknown robosuite robot {unknown[0]!r}; choose from "
                              f"{', '.join(sorted(robosuite.ALL_ROBOTS))}.")
        self.task = task
        self.instruction = INSTRUCTIONS[task]
        self.image_size = int(image_size)
        self.max_episode_steps = int(max_episode_steps)
        self.reward_type = reward_type
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.render_camera = render_camera
        self.render_size = int(render_size)
        self.defer_cameras = False  # see render_cameras()
        self._steps = 0

        # Cameras are rendered on demand (render_cameras), not by robosuite on every step.
        self._rs: Any = robosuite.make(
            task, robots=robots if len(robots) > 1 else robots[0],
            controller_configs=load_composite_controller_config(controller=controller),
            has_renderer=False, has_offscreen_renderer=True, use_camera_obs=False,
            reward_shaping=reward_type == "dense", horizon=self.max_episode_steps,
            ignore_done=True, hard_reset=False, control_freq=int(control_freq),
        )
        # Shadows and multisampling cost most of the CPU render time and add nothing for
        # learning (as for MetaWorld); the model persists across resets (hard_reset=False).
        quality = self._rs.sim.model._model.vis.quality
        quality.shadowsize, quality.offsamples = 0, 0
        names = list(self._rs.sim.model.camera_names)
        cameras = as_list(cameras)
        for camera in [*cameras, render_camera]:
            if camera not in names:
                self._rs.close()
                raise ConfigError(f"{task} has no camera {camera!r}; choose from "
                                  f"{', '.join(names)}.")
        self.cameras = tuple(cameras)
        # The *Single tasks draw their object with rng.choice over a set of names, whose order
        # follows the process's string-hash seed: the same seed would give another object in
        # another process. The object is drawn here instead (mode 2 = "use object_id").
        self._draws_object = getattr(self._rs, "single_object_mode", 0) == 1
        if self._draws_object:
            self._rs.single_object_mode = 2
        raw = self._rs.reset()
        # The state's parts and their sizes, in robosuite's order: every named observable
        # (robot0_eef_pos, cube_pos, ...), not its "-state" concatenations of the same values.
        self._sources = self._slots(raw)
        self._parts = {name: int(np.asarray(raw[k]).size) for name, k in self._sources.items()}
        size = sum(self._parts.values())
        self.observation_space = observation_space(  # type: ignore[assignment]
            unbounded_state(size), self.cameras, self.image_size)
        low, high = self._rs.action_spec
        self.action_space = spaces.Box(low.astype(np.float32), high.astype(np.float32),
                                       dtype=np.float32)
        if task in EXPERTS and controller == "BASIC" and len(robots) == 1:
            self.scripted_expert = self._expert

    # -- Gymnasium API ----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode; ``seed`` fixes the objects' placement and the arm's start noise."""
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31 - 1))
        # robosuite's placement samplers and robots hold a reference to this generator:
        # its state is replaced in place so that they all draw from the episode's seed.
        self._rs.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
        if self._draws_object:
            self._draw_object()
        raw = self._rs.reset()
        # The observables' names change only here, when a *Single task draws another object.
        self._sources = self._slots(raw)
        self._steps = 0
        return self._observation(raw), {SUCCESS_KEY: False, INSTRUCTION_KEY: self.instruction}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply one action; ``info["success"]`` is robosuite's success check."""
        action = checked_action(action, self.action_space, f"{self.task}, BASIC controller")
        raw, dense, _, info = self._rs.step(action)
        self._steps += 1
        success = bool(self._rs._check_success())
        info = {**info, SUCCESS_KEY: success}
        terminated, truncated = episode_end(success, self.terminate_on_success,
                                            self._steps, self.max_episode_steps)
        reward = float(success) if self.reward_type == "sparse" else float(dense)
        return self._observation(raw), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self._render(self.render_camera, self.render_size)

    def close(self) -> None:
        self._rs.close()

    # -- warl extras -------------------------------------------------------------------------
    def render_cameras(self) -> dict[str, np.ndarray]:
        """Fresh ``rgb_<camera>`` images of the current state (see `MetaWorldEnv`)."""
        return {rgb_key(c): self._render(c, self.image_size) for c in self.cameras}

    def _expert(self) -> RobosuiteExpert:
        """The task's closed-loop scripted expert (`warl.plugins.envs.robosuite.expert`)."""
        return RobosuiteExpert(self.task, self.state_slices())

    def state_slices(self) -> dict[str, slice]:
        """Each named observable's slice of the ``state`` vector."""
        slices, start = {}, 0
        for name, size in self._parts.items():
            slices[name] = slice(start, start + size)
            start += size
        return slices

    def state_part(self, state: np.ndarray, key: str) -> np.ndarray:
        """The observable ``key`` (e.g. ``cube_pos``) of a ``state`` vector."""
        return np.asarray(state[self.state_slices()[key]])

    def _slots(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """Each state part's name -> its observable in ``raw``.

        The ``*Single`` tasks (single_object_mode 1) draw one object per reset and name its
        observables after it (``RoundNut_pos`` or ``SquareNut_pos``); here they are always
        ``object_pos`` etc., so the state keeps one layout, and ``nut_id`` / ``obj_id`` says
        which object it is.
        """
        active = self._rs.obj_to_use if self._draws_object else None
        slots = {}
        for key, value in raw.items():
            if key.endswith("-state") or np.asarray(value).dtype == np.uint8:
                continue
            name = "object" + key[len(active):] if active and key.startswith(active) else key
            slots[name] = key
        return slots

    def _draw_object(self) -> None:
        """Choose the episode's object from the seeded generator (NutAssembly or PickPlace)."""
        if hasattr(self._rs, "nuts"):
            self._rs.nut_id = int(self._rs.rng.integers(len(self._rs.nuts)))
        else:
            self._rs.object_id = int(self._rs.rng.integers(len(self._rs.objects)))

    def _observation(self, raw: Mapping[str, Any]) -> dict[str, np.ndarray]:
        state = np.concatenate([np.asarray(raw[self._sources[name]], np.float32).reshape(-1)
                                for name in self._parts])
        return observation(state, self.cameras, self.image_size, self.defer_cameras,
                           self.render_cameras)

    def _render(self, camera: str, size: int) -> np.ndarray:
        image = self._rs.sim.render(width=size, height=size, camera_name=camera)
        return np.ascontiguousarray(image[::-1])  # MuJoCo's offscreen buffer is bottom-up
