"""`AlohaEnv`: gym-aloha's bimanual ViperX tasks (MuJoCo via dm_control) behind the warl
env contract.

It drives gym-aloha's own task classes (`TransferCubeTask`, `InsertionTask`: their reset,
action mapping, contact-based reward stages and object sampling) on their MJCF scenes, but
steps the physics itself instead of through gym-aloha's `AlohaEnv`: that one renders three
640 x 480 cameras on every step (about 97% of a step's cost on a CPU) whether or not anyone
reads them; here cameras are rendered on demand, at the size asked for.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
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

os.environ.setdefault("MUJOCO_GL", "egl")

from dm_control import mujoco as dm_mujoco
from dm_control.rl.control import PhysicsError
from gym_aloha import constants
from gym_aloha import utils as aloha_utils
from gym_aloha.tasks import sim as aloha_sim

# warl id -> (gym-aloha scene, task class, object-pose sampler, instruction)
TASKS: dict[str, tuple[str, Any, Any, str]] = {
    "transfer-cube": (
        "bimanual_viperx_transfer_cube.xml", aloha_sim.TransferCubeTask,
        aloha_utils.sample_box_pose,
        "Pick up the red cube with the right arm and hand it over to the left arm."),
    "insertion": (
        "bimanual_viperx_insertion.xml", aloha_sim.InsertionTask,
        lambda seed: np.concatenate(aloha_utils.sample_insertion_pose(seed)),
        "Pick up the socket with the left arm and the peg with the right, and insert the "
        "peg into the socket in mid-air."),
}
CAMERAS = ("top", "angle", "front_close", "left_pillar", "right_pillar")
ARM_JOINTS = 6  # per arm; then one normalised gripper position (0 closed, 1 open)


class AlohaEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """A 14-D bimanual ALOHA task: two ViperX 300s arms, as in HALO-WA's robot.

    Observation: ``state`` (float32: gym-aloha's ``qpos`` (14: six joints and a normalised
    gripper per arm, left first), ``qvel`` (14) and ``env_state``, the objects' poses (7 per
    object)) plus ``rgb_<camera>`` for each camera asked for. Action: 14-D absolute joint
    positions (left arm, left gripper, right arm, right gripper), grippers normalised to
    [0, 1]. Reward: 1 on success, i.e. gym-aloha's last reward stage (``sparse``), or the
    stage / 4 (``dense``).

    Args:
        task: ``transfer-cube`` or ``insertion``.
        cameras: cameras rendered into the observation (see `CAMERAS`); none by default.
        image_size: height and width of the observation images.
        max_episode_steps: truncation horizon (ACT's episodes are 400 steps at 50 Hz).
        reward_type: ``sparse`` or ``dense``.
        terminate_on_success: end the episode at the first success.
        render_mode: ``rgb_array`` to enable ``render()``.
        render_camera: camera used by ``render()``.
        render_size: height and width of ``render()`` images.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": constants.FPS}

    def __init__(
        self,
        task: str = "transfer-cube",
        cameras: Sequence[str] = (),
        image_size: int = 64,
        max_episode_steps: int = 400,
        reward_type: str = "sparse",
        terminate_on_success: bool = True,
        render_mode: str | None = None,
        render_camera: str = "top",
        render_size: int = 256,
    ) -> None:
        if task not in TASKS:
            close = difflib.get_close_matches(task, list(TASKS), n=2)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown ALOHA task {task!r}.{hint} Tasks: {', '.join(TASKS)}.")
        cameras = as_list(cameras)
        for camera in [*cameras, render_camera]:
            if camera not in CAMERAS:
                raise ConfigError(f"unknown ALOHA camera {camera!r}; choose from "
                                  f"{', '.join(CAMERAS)}.")
        check_common(reward_type, render_mode, image_size, render_size, max_episode_steps)
        scene, task_cls, self._sample_objects, self.instruction = TASKS[task]
        self.task = task
        self.cameras = tuple(cameras)
        self.image_size = int(image_size)
        self.max_episode_steps = int(max_episode_steps)
        self.reward_type = reward_type
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.render_camera = render_camera
        self.render_size = int(render_size)
        self.defer_cameras = False  # see render_cameras()
        self._steps = 0

        self.physics = dm_mujoco.Physics.from_xml_path(str(constants.ASSETS_DIR / scene))
        quality = self.physics.model.vis.quality
        quality.shadowsize, quality.offsamples = 0, 0  # as for MetaWorld: CPU render time
        self._task = task_cls(random=np.random.RandomState(0))
        # gym-aloha's control period (50 Hz) in physics steps, as dm_control's Environment.
        self._substeps = max(1, round(constants.DT / self.physics.model.opt.timestep))
        self.reset(seed=0)
        size = self._state().shape[0]
        self.observation_space = observation_space(  # type: ignore[assignment]
            unbounded_state(size), self.cameras, self.image_size)
        self.action_space = spaces.Box(*self._action_bounds(), dtype=np.float32)

    # -- Gymnasium API ----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode; ``seed`` fixes the objects' poses (gym-aloha's samplers)."""
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31 - 1))
        # gym-aloha's tasks read the objects' start pose from this module-level slot.
        aloha_sim.BOX_POSE[0] = self._sample_objects(seed)
        self._task.initialize_episode(self.physics)
        self._steps = 0
        return self._observation(), {SUCCESS_KEY: False, INSTRUCTION_KEY: self.instruction}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply one action; ``info`` has ``success`` and gym-aloha's ``reward_stage`` (0-4)."""
        action = checked_action(action, self.action_space,
                                "per arm, left first: 6 joint positions, a gripper in [0, 1]")
        self._task.before_step(action, self.physics)
        self._steps += 1
        try:
            self.physics.step(self._substeps)
        except PhysicsError as error:
            # Large joint jumps (random exploration over the full joint ranges) can make the
            # contact solver diverge: the episode ends there, truncated, and reset() restores
            # a valid state; training goes on instead of crashing.
            info = {SUCCESS_KEY: False, "reward_stage": 0, "physics_error": str(error)[:200]}
            return self._observation(), 0.0, False, True, info
        self._task.after_step(self.physics)
        stage = int(self._task.get_reward(self.physics))
        success = stage >= self._task.max_reward
        terminated, truncated = episode_end(success, self.terminate_on_success,
                                            self._steps, self.max_episode_steps)
        reward = float(success) if self.reward_type == "sparse" else stage / self._task.max_reward
        info = {SUCCESS_KEY: success, "reward_stage": stage}
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self._render(self.render_camera, self.render_size)

    def close(self) -> None:
        self.physics.free()

    # -- warl extras -------------------------------------------------------------------------
    def render_cameras(self) -> dict[str, np.ndarray]:
        """Fresh ``rgb_<camera>`` images of the current state (see `MetaWorldEnv`)."""
        return {rgb_key(c): self._render(c, self.image_size) for c in self.cameras}

    def scripted_expert(self) -> Any:
        """The task's scripted bimanual expert (`warl.plugins.envs.aloha.expert`)."""
        from warl.plugins.envs.aloha.expert import AlohaExpert

        return AlohaExpert(self.task, self.physics)

    def _state(self) -> np.ndarray:
        parts = (self._task.get_qpos(self.physics), self._task.get_qvel(self.physics),
                 self._task.get_env_state(self.physics))
        return np.concatenate([np.asarray(p, np.float32).reshape(-1) for p in parts])

    def _observation(self) -> dict[str, np.ndarray]:
        return observation(self._state(), self.cameras, self.image_size, self.defer_cameras,
                           self.render_cameras)

    def _render(self, camera: str, size: int) -> np.ndarray:
        return np.ascontiguousarray(self.physics.render(height=size, width=size, camera_id=camera))

    def _action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Each arm's joint ranges from the model, then the normalised gripper's [0, 1]."""
        ranges = self.physics.model.jnt_range
        low, high = [], []
        for arm in ("left", "right"):
            for joint in constants.JOINTS[:ARM_JOINTS]:
                name = f"vx300s_{arm}/{joint.removeprefix('left_arm_')}"
                low_j, high_j = ranges[self.physics.model.name2id(name, "joint")]
                low.append(low_j)
                high.append(high_j)
            low.append(0.0)
            high.append(1.0)
        return np.array(low, np.float32), np.array(high, np.float32)
