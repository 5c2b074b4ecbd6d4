"""A closed-loop scripted expert for robosuite's Lift, in the BASIC (operational-space)
controller: like MetaWorld's, it reads the state every step and so replans from any state.

robosuite ships no scripted policies; the other tasks have none here (algorithms that need
no demonstrations, SB3 for one, still train on them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from warl.core.envs.contract import STATE_KEY

STEP_M = 0.05  # BASIC's operational-space output range: an action of 1 moves 5 cm
OPEN, CLOSE = -1.0, 1.0  # robosuite's gripper convention (the opposite of ManiSkill's)
HOVER_M = 0.05
ALIGN_M = 0.006
GRASP_DEPTH_M = 0.008  # close a little below the cube's centre, where the grip holds
LIFT_M = 0.12  # above the cube's resting height; success is 4 cm above the table
# The fingers' joint positions (robot0_gripper_qpos, one per finger) below which they have
# closed on the 4 cm cube, not on air.
FINGERS_ON_CUBE = 0.035


def lift(part: Callable[[str], np.ndarray]) -> np.ndarray:
    cube, eef = part("cube_pos"), part("robot0_eef_pos")
    fingers = np.abs(part("robot0_gripper_qpos"))
    offset = float(np.linalg.norm(eef[:2] - cube[:2]))
    # Held: the fingers stopped on the cube and it moves with the hand (at any height).
    settled = float(np.max(np.abs(part("robot0_gripper_qvel")))) < 0.02
    held = (float(np.min(fingers)) < FINGERS_ON_CUBE and settled
            and float(np.linalg.norm(eef - cube)) < 0.02)
    if held:
        target, grip = np.array([cube[0], cube[1], cube[2] + LIFT_M]), CLOSE
    elif offset < ALIGN_M and eef[2] - cube[2] < 0.01:  # at the cube: close on it
        target, grip = cube - np.array([0.0, 0.0, GRASP_DEPTH_M]), CLOSE
    elif offset > ALIGN_M:  # hover above first, so the fingers do not sweep the cube
        target, grip = np.array([cube[0], cube[1], max(cube[2] + HOVER_M, eef[2])]), OPEN
    else:
        target, grip = cube - np.array([0.0, 0.0, GRASP_DEPTH_M]), OPEN
    delta = np.clip((target - eef) / STEP_M, -1.0, 1.0)
    return np.array([*delta, 0.0, 0.0, 0.0, grip], dtype=np.float32)


EXPERTS: dict[str, Callable[[Callable[[str], np.ndarray]], np.ndarray]] = {"Lift": lift}


class RobosuiteExpert:
    """``expert(observation) -> action`` for a task in `EXPERTS`, reading named parts of the
    state vector (`RobosuiteEnv.state_slices`)."""

    closed_loop = True

    def __init__(self, task: str, slices: Mapping[str, slice]) -> None:
        self.task = task
        self.slices = dict(slices)
        self._policy = EXPERTS[task]

    def __call__(self, observation: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        state = np.asarray(observation[STATE_KEY] if isinstance(observation, Mapping)
                           else observation, dtype=np.float64)
        return self._policy(lambda name: state[self.slices[name]])
