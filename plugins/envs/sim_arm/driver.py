"""`SimArm`: a simulated robot arm driver with its own control loop, the reference for
writing a real one (docs/robot.md).

A real arm runs a controller at a fixed rate whatever the learner does; this driver does the
same in a thread: every 1 / ``control_hz`` seconds the end effector moves toward the
commanded target at most ``max_speed`` metres per second. An action moves the target
(end-effector delta, ``action_scale`` metres per unit, plus a gripper command) and `step`
returns the state observed at the next control tick. `hold` makes the target the current
position: what the serving side calls when the link to the learner drops, so that the arm
stops where it is instead of finishing a stale command.

The task is a reach: success when the end effector is within ``tolerance`` of a goal drawn
per seed. Observation ``state`` (10-D): end-effector position, gripper opening, commanded
target, goal.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY

REACH_LOW = np.array([-0.3, 0.4, 0.05])
REACH_HIGH = np.array([0.3, 0.8, 0.35])
HOME = np.array([0.0, 0.6, 0.2])


class SimArm(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Args:
        control_hz: the controller's rate (the env's control rate).
        max_speed: metres per second the end effector may move.
        action_scale: metres of target motion per unit of action.
        tolerance: success radius around the goal, metres.
        max_episode_steps: truncation horizon.
        lockstep: no controller thread: each step advances exactly one control tick, so a
            seeded episode is reproducible (`warl check`'s determinism check); a real arm,
            and this driver by default, keeps moving between steps.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, control_hz: float = 50.0, max_speed: float = 0.5,
                 action_scale: float = 0.01, tolerance: float = 0.02,
                 max_episode_steps: int = 200, lockstep: bool = False,
                 render_mode: str | None = None) -> None:
        if control_hz <= 0 or max_speed <= 0 or action_scale <= 0:
            raise ValueError("control_hz, max_speed and action_scale must be positive")
        self.control_hz, self.max_speed, self.action_scale = control_hz, max_speed, action_scale
        self.tolerance, self.max_episode_steps = tolerance, max_episode_steps
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": control_hz}
        state = spaces.Box(-np.inf, np.inf, (10,), np.float32)
        self.observation_space = spaces.Dict({"state": state})  # type: ignore[assignment]
        self.action_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.position, self.target = HOME.copy(), HOME.copy()
        self.gripper = self.gripper_command = 0.0
        self.goal = HOME.copy()
        self.ticks = 0
        self._steps = 0
        self._tick = threading.Condition()
        self._stop = threading.Event()
        self.lockstep = lockstep
        self._loop = threading.Thread(target=self._control_loop, daemon=True,
                                      name="sim-arm-control")
        if not lockstep:
            self._loop.start()

    # --- the controller ---------------------------------------------------------------------
    def _advance(self) -> None:
        """One control tick (the caller holds the lock)."""
        step = self.max_speed / self.control_hz
        self.position = self.position + np.clip(self.target - self.position, -step, step)
        self.gripper += float(np.clip(self.gripper_command - self.gripper, -0.1, 0.1))
        self.ticks += 1
        self._tick.notify_all()

    def _control_loop(self) -> None:
        period = 1.0 / self.control_hz
        next_tick = time.monotonic()
        while not self._stop.is_set():
            with self._tick:
                self._advance()
            next_tick += period
            time.sleep(max(0.0, next_tick - time.monotonic()))

    def _wait_tick(self) -> None:
        if self.lockstep:
            with self._tick:
                self._advance()
            return
        with self._tick:
            seen = self.ticks
            self._tick.wait_for(lambda: self.ticks > seen, timeout=10 / self.control_hz + 1)

    def hold(self) -> None:
        """Stop where the arm is: the target becomes the current position."""
        with self._tick:
            self.target = self.position.copy()

    # --- gymnasium --------------------------------------------------------------------------
    def _obs(self) -> dict[str, np.ndarray]:
        with self._tick:
            state = np.concatenate([self.position, [self.gripper], self.target, self.goal])
        return {"state": state.astype(np.float32)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        with self._tick:
            self.goal = self.np_random.uniform(REACH_LOW, REACH_HIGH)
            self.position, self.target = HOME.copy(), HOME.copy()
            self.gripper = self.gripper_command = 0.0
        self._steps = 0
        return self._obs(), {INSTRUCTION_KEY: "Reach the goal.", SUCCESS_KEY: False}

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool,
                                                 dict[str, Any]]:
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        with self._tick:
            self.target = np.clip(self.target + action[:3] * self.action_scale, REACH_LOW,
                                  REACH_HIGH)
            self.gripper_command = float(action[3])
        self._wait_tick()
        self._steps += 1
        obs = self._obs()
        success = bool(np.linalg.norm(obs["state"][:3] - self.goal) < self.tolerance)
        truncated = self._steps >= self.max_episode_steps
        return obs, float(success), success, truncated and not success, {SUCCESS_KEY: success}

    def render(self) -> np.ndarray | None:
        """A 96x96 top view: the goal green, the target blue, the end effector red."""
        if self.render_mode != "rgb_array":
            return None
        size = 96
        frame = np.full((size, size, 3), 235, np.uint8)
        state = self._obs()["state"]
        for xyz, colour in ((state[7:10], (40, 170, 60)), (state[4:7], (60, 90, 220)),
                            (state[:3], (220, 50, 40))):
            u, v = ((xyz[:2] - REACH_LOW[:2]) / (REACH_HIGH[:2] - REACH_LOW[:2]) * (size - 7))
            col, row = int(np.clip(u, 0, size - 7)), int(np.clip(size - 7 - v, 0, size - 7))
            frame[row:row + 7, col:col + 7] = colour
        return frame

    def scripted_expert(self) -> Any:
        """Moves the target straight at the goal (for interventions and demonstrations)."""
        scale = self.action_scale

        def expert(observation: dict[str, np.ndarray]) -> np.ndarray:
            state = observation["state"]
            delta = np.clip((state[7:10] - state[4:7]) / scale, -1.0, 1.0)
            return np.concatenate([delta, [0.0]]).astype(np.float32)

        return expert

    def close(self) -> None:
        self._stop.set()
        if self._loop.is_alive():
            self._loop.join(timeout=1.0)
        super().close()
