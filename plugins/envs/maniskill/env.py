"""`ManiSkillEnv`: one ManiSkill3 task (SAPIEN) behind the warl env contract."""

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
from warl.plugins.envs.maniskill.tasks import instruction_for

# SAPIEN renders through Vulkan; on a machine without a GPU, Mesa's lavapipe is the device.
_LAVAPIPE = "/usr/share/vulkan/icd.d/lvp_icd.json"
if "VK_ICD_FILENAMES" not in os.environ and os.path.exists(_LAVAPIPE):
    os.environ["VK_ICD_FILENAMES"] = _LAVAPIPE

import mani_skill.envs  # noqa: E402,F401  (registers the tasks with gymnasium)
import torch  # noqa: E402
from mani_skill.utils.registration import REGISTERED_ENVS  # noqa: E402

from warl.plugins.envs.maniskill.assets import assets_error, require_assets  # noqa: E402
from warl.plugins.envs.maniskill.expert import (  # noqa: E402
    EXPERT_CONTROL,
    EXPERTS,
    ManiSkillExpert,
)

# Cartesian end-effector deltas (dx, dy, dz, gripper), MetaWorld's action layout, where the
# robot has them: a calibration offset then applies to the first three dimensions.
PREFERRED_CONTROL = "pd_ee_delta_pos"

# Tasks whose reset leaves state behind that the observation does not show: PhysX's contact
# cache (the locomotion and in-hand tasks: the same seed and actions diverge once the body
# touches the floor or the object) or the robot's pose itself (Empty-v1 never resets it).
# Their scene is rebuilt on every reset (ManiSkill's ``reconfigure``, about 0.2 s here) so that
# a seed reproduces its episode.
REBUILD_ON_RESET = ("Empty-v1", "MS-Ant", "MS-Humanoid", "RotateSingleObjectInHand")


def _to_numpy(value: Any) -> np.ndarray:
    """A batched ManiSkill value (torch, batch of one on the CPU simulator) as NumPy."""
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    return array[0] if array.ndim > 0 and array.shape[0] == 1 else array


def state_layout(space: spaces.Dict) -> dict[str, tuple[int, int]]:
    """``agent/<key>`` and ``extra/<key>`` (nested keys joined by ``/``, e.g. one per robot of
    a two-robot task) -> (start, stop) in the flat ``state`` vector."""
    layout: dict[str, tuple[int, int]] = {}

    def visit(prefix: str, box: spaces.Space[Any], offset: int) -> int:
        if isinstance(box, spaces.Dict):
            for key, sub in box.spaces.items():
                offset = visit(f"{prefix}/{key}", sub, offset)
            return offset
        size = int(np.prod(box.shape)) if box.shape else 1
        layout[prefix] = (offset, offset + size)
        return offset + size

    offset = 0
    for group in ("agent", "extra"):
        if group in space.spaces:
            offset = visit(group, space.spaces[group], offset)
    return layout


def _flat(raw: Mapping[str, Any], name: str) -> np.ndarray:
    value: Any = raw
    for key in name.split("/"):
        value = value[key]
    return np.asarray(_to_numpy(value), dtype=np.float32).reshape(-1)


class ManiSkillEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """A ManiSkill3 task, simulated and rendered on the CPU (one env, batch of one).

    Observation: ``state`` (float32: the robot's proprioception, then the task's extra
    observations, which include the privileged object and goal poses, flattened in ManiSkill's
    order; `state_layout` names the slices) plus ``rgb_<camera>`` for each of the task's
    sensor cameras asked for. Action: the controller's, in [-1, 1]; by default
    ``pd_ee_delta_pos`` (dx, dy, dz, gripper) where the robot supports it. Reward: 1 on
    success (``sparse``) or ManiSkill's normalised dense reward (``dense``).

    Args:
        task: ManiSkill env id, e.g. ``PickCube-v1``.
        cameras: sensor cameras rendered into the observation (the task's, e.g.
            ``base_camera``); none by default.
        image_size: height and width of the observation images.
        control_mode: ManiSkill controller; ``None`` picks ``pd_ee_delta_pos`` where
            supported, else the task's default.
        robot: robot uid (``robot_uids``); ``None`` is the task's default.
        max_episode_steps: truncation horizon; ``None`` is the task's registered one.
        reward_type: ``sparse`` or ``dense``.
        terminate_on_success: end the episode at the first success (or failure).
        render_mode: ``rgb_array`` to enable ``render()`` (ManiSkill's human render camera).
        render_size: height and width of ``render()`` images.
        sim_backend: ``cpu`` (one env, here) or ``gpu`` (ManiSkill's batched physics).
        rebuild_on_reset: rebuild the scene on every reset; ``None`` does so for the tasks
            that need it to be reproducible (`REBUILD_ON_RESET`).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        task: str = "PickCube-v1",
        cameras: Sequence[str] = (),
        image_size: int = 64,
        control_mode: str | None = None,
        robot: str | None = None,
        max_episode_steps: int | None = None,
        reward_type: str = "sparse",
        terminate_on_success: bool = True,
        render_mode: str | None = None,
        render_size: int = 256,
        sim_backend: str = "cpu",
        rebuild_on_reset: bool | None = None,
    ) -> None:
        if task not in REGISTERED_ENVS:
            close = difflib.get_close_matches(task, list(REGISTERED_ENVS), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown ManiSkill task {task!r}.{hint} "
                              f"Tasks: `warl list maniskill`.")
        check_common(reward_type, render_mode, image_size, render_size, max_episode_steps)
        require_assets(task, robot)
        cameras = as_list(cameras)
        self.task = task
        self.instruction = instruction_for(task)
        self.image_size = int(image_size)
        self.reward_type = reward_type
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.defer_cameras = False  # see render_cameras()
        self.rebuild_on_reset = (task.startswith(REBUILD_ON_RESET) if rebuild_on_reset is None
                                 else bool(rebuild_on_reset))

        kwargs: dict[str, Any] = dict(
            obs_mode="state_dict",  # cameras are rendered on demand (render_cameras)
            # warl computes the sparse reward itself (from ``success``); ManiSkill computes
            # its shaped one, which some tasks (locomotion) have as their only reward mode.
            reward_mode=_dense_mode(REGISTERED_ENVS[task].cls),
            sim_backend=sim_backend, render_backend="cpu" if sim_backend == "cpu" else "gpu",
            sensor_configs=dict(width=self.image_size, height=self.image_size),
            human_render_camera_configs=dict(width=int(render_size), height=int(render_size)),
            render_mode="rgb_array" if render_mode else None, num_envs=1,
        )
        if robot is not None:
            kwargs["robot_uids"] = robot
        # The unwrapped env: warl keeps its own step count and time limit.
        self._ms: Any = _make(task, kwargs)
        # A multi-robot task's agent holds one agent per robot; a mode applies to all of them.
        agents = getattr(self._ms.agent, "agents", [self._ms.agent])
        modes = [m for m in agents[0].supported_control_modes
                 if all(m in a.supported_control_modes for a in agents)]
        if control_mode is None:
            preferred = PREFERRED_CONTROL in modes
            control_mode = PREFERRED_CONTROL if preferred else self._ms.control_mode
        if control_mode not in modes:
            self._ms.close()
            raise ConfigError(f"{task} with robot {agents[0].uid!r} has no control mode "
                              f"{control_mode!r}; choose from {', '.join(modes)}.")
        if control_mode != self._ms.control_mode:
            self._ms.close()
            self._ms = _make(task, {**kwargs, "control_mode": control_mode})
        self.control_mode = control_mode
        sensors = list(self._ms.scene.sensors)
        for camera in cameras:
            if camera not in sensors:
                self._ms.close()
                raise ConfigError(f"{task} has no camera {camera!r}; choose from "
                                  f"{', '.join(sensors) or '(none)'}.")
        self.cameras = tuple(cameras)
        self.max_episode_steps = int(max_episode_steps or REGISTERED_ENVS[task].max_episode_steps)
        self._steps = 0

        self.state_layout = state_layout(self._ms.single_observation_space)
        size = max((stop for _, stop in self.state_layout.values()), default=0)
        self.observation_space = observation_space(  # type: ignore[assignment]
            unbounded_state(size), self.cameras, self.image_size)
        # A multi-robot task acts with a Dict (one Box per robot): concatenated here, in the
        # Dict's order, so that it is one Box like a bimanual robot's.
        native: Any = self._ms.single_action_space
        boxes: dict[str, Any] = (dict(native.spaces) if isinstance(native, spaces.Dict)
                                 else {"": native})
        self._action_split = [(k, int(np.prod(b.shape))) for k, b in boxes.items()]
        self.action_space = spaces.Box(
            np.concatenate([b.low.reshape(-1) for b in boxes.values()]).astype(np.float32),
            np.concatenate([b.high.reshape(-1) for b in boxes.values()]).astype(np.float32),
            dtype=np.float32)
        if self.task in EXPERTS and self.control_mode == EXPERT_CONTROL:
            self.scripted_expert = self._expert

    # -- Gymnasium API ----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode; ``seed`` fixes the task's randomisation (ManiSkill's episode RNG)."""
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31 - 1))
        if self.rebuild_on_reset:
            options = {"reconfigure": True, **(options or {})}
        raw, _ = self._ms.reset(seed=seed, options=options)
        self._steps = 0
        return self._observation(raw), {SUCCESS_KEY: False, INSTRUCTION_KEY: self.instruction}

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply one action; ``info`` has ``success`` (bool) and ManiSkill's diagnostics."""
        action = checked_action(action, self.action_space, f"{self.task}, {self.control_mode}")
        raw, reward, _, _, raw_info = self._ms.step(self._native(action))
        self._steps += 1
        info = {k: _scalar(v) for k, v in raw_info.items()}
        success = bool(info.get(SUCCESS_KEY, False))
        info[SUCCESS_KEY] = success
        failed = bool(info.get("fail", False))
        terminated, truncated = episode_end(success or failed, self.terminate_on_success,
                                           self._steps, self.max_episode_steps)
        value = float(success) if self.reward_type == "sparse" else float(_scalar(reward))
        return self._observation(raw), value, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return np.ascontiguousarray(_to_numpy(self._ms.render()))

    def close(self) -> None:
        self._ms.close()

    # -- warl extras -------------------------------------------------------------------------
    def render_cameras(self) -> dict[str, np.ndarray]:
        """Fresh ``rgb_<camera>`` images of the current state (see `MetaWorldEnv`: steps
        inside a chunk skip them while ``defer_cameras`` is set)."""
        if not self.cameras:
            return {}
        images = self._ms.get_sensor_images()
        return {rgb_key(c): np.ascontiguousarray(_to_numpy(images[c]["rgb"]))
                for c in self.cameras}

    def _expert(self) -> ManiSkillExpert:
        """The task's closed-loop scripted expert (`warl.plugins.envs.maniskill.expert`)."""
        return ManiSkillExpert(self.task, self.state_layout)

    def _native(self, action: np.ndarray) -> Any:
        """The action as ManiSkill takes it: the array, or a Dict per robot."""
        if len(self._action_split) == 1:
            return action
        parts, start = {}, 0
        for key, size in self._action_split:
            parts[key] = action[start:start + size]
            start += size
        return parts

    def state_part(self, state: np.ndarray, name: str) -> np.ndarray:
        """The slice ``name`` (e.g. ``extra/tcp_pose``) of a ``state`` vector."""
        start, stop = self.state_layout[name]
        return np.asarray(state[..., start:stop])

    def _observation(self, raw: Mapping[str, Any]) -> dict[str, np.ndarray]:
        parts = [_flat(raw, name) for name in self.state_layout]
        state = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return observation(state, self.cameras, self.image_size, self.defer_cameras,
                           self.render_cameras)


def _dense_mode(cls: type) -> str:
    modes = list(getattr(cls, "SUPPORTED_REWARD_MODES", ("normalized_dense",)))
    return next((m for m in ("normalized_dense", "dense", "sparse") if m in modes), modes[0])


def _make(task: str, kwargs: dict[str, Any]) -> Any:
    """``gym.make(task)``'s unwrapped env; assets missing past `require_assets`'s check (a
    robot's, a scene dataset's) end in the same one-line error, not a traceback or a prompt."""
    try:
        return gym.make(task, **kwargs).unwrapped
    except EOFError:  # ManiSkill asked to download assets and stdin is not a terminal
        raise assets_error(task, "its download prompt had no terminal to answer") from None
    except FileNotFoundError as error:
        raise assets_error(task, f"missing {error.filename}") from None
    except RuntimeError as error:  # e.g. "Partnet Mobility dataset not found. Download it ..."
        if "not found" not in str(error) or "download" not in str(error).lower():
            raise
        raise assets_error(task, str(error).split(".")[0]) from None


def _scalar(value: Any) -> Any:
    """A batch-of-one tensor as a Python scalar (info stays JSON-friendly)."""
    if isinstance(value, torch.Tensor):
        array = _to_numpy(value)
        return array.item() if array.size == 1 else array
    return value
