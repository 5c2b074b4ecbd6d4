"""Scripted bimanual experts for gym-aloha's tasks (gym-aloha ships none).

Each plans, at the first step of an episode, a schedule of grasp-point waypoints for both
arms from the objects' start poses (timed at gym-aloha's 50 Hz, ACT's 400-step episodes),
interpolates it at every step and turns it into joint targets by inverse kinematics from
the arms' current joint positions. The schedule is timed from reset, so the expert is
open-loop in time: it cannot take over from an arbitrary state (HG-DAgger refuses it,
``closed_loop = False``); it serves demonstrations, kept only when they succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from gym_aloha.constants import START_ARM_POSE

from warl.core.envs.contract import STATE_KEY
from warl.plugins.envs.aloha.ik import ArmIK

OPEN, CLOSED = 1.0, 0.0  # gym-aloha's normalised gripper position
# Insertion: the peg and the socket are 12 cm bars along x; each is held 3 cm from its
# centre towards its outer end, and the peg's end meets the 8 cm pin at the socket's centre
# when the centres are 6 + 4 cm apart.
GRIP_FROM_CENTRE_M = 0.03
# The grasp point (`ik.TCP_OFFSET`) sits 3 cm above an object's centre when the fingers hold
# it: the finger pads reach that far beyond it.
GRASP_ABOVE = np.array([0.0, 0.0, 0.03])
# gym-aloha drops the objects from 5 cm at reset; the plan is made once they rest.
SETTLE_STEPS = 10
PEG_TO_PIN_M = 0.10


@dataclass(frozen=True)
class Waypoint:
    t: int  # control step
    pos: np.ndarray  # grasp point, world frame
    quat: np.ndarray  # gripper link orientation (w, x, y, z)
    gripper: float


def _v(x: float, y: float, z: float) -> np.ndarray:
    return np.array([x, y, z])


def rotated(quat: np.ndarray, axis: Sequence[float], degrees: float) -> np.ndarray:
    """``quat`` turned by ``degrees`` about its own (body-frame) ``axis``."""
    turn, out = np.zeros(4), np.zeros(4)
    mujoco.mju_axisAngle2Quat(turn, np.asarray(axis, float), np.deg2rad(degrees))
    mujoco.mju_mulQuat(out, quat, turn)
    return out


def slerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    dot = float(np.dot(a, b))
    if dot < 0:
        b, dot = -b, -dot
    if dot > 0.9995:
        out = a + s * (b - a)
        return out / np.linalg.norm(out)
    theta = np.arccos(dot)
    return (np.sin((1 - s) * theta) * a + np.sin(s * theta) * b) / np.sin(theta)


def interpolate(plan: Sequence[Waypoint], t: int) -> tuple[np.ndarray, np.ndarray, float]:
    if t >= plan[-1].t:
        last = plan[-1]
        return last.pos, last.quat, last.gripper
    after = next(i for i, w in enumerate(plan) if w.t > t)
    a, b = plan[after - 1], plan[after]
    s = (t - a.t) / (b.t - a.t)
    return a.pos + s * (b.pos - a.pos), slerp(a.quat, b.quat, s), a.gripper + s * (
        b.gripper - a.gripper)


def pointing_down(quat: np.ndarray, degrees: float) -> np.ndarray:
    """The gripper pitched by ``degrees`` about its y axis, whichever way points it down."""
    options = [rotated(quat, (0, 1, 0), sign * degrees) for sign in (1, -1)]
    def down(q: np.ndarray) -> float:
        matrix = np.zeros(9)
        mujoco.mju_quat2Mat(matrix, q)
        return float(matrix.reshape(3, 3)[2, 0])  # z of the pointing (x) axis
    return min(options, key=down)


Start = Mapping[str, tuple[np.ndarray, np.ndarray]]  # arm -> (grasp point, quaternion)


def transfer_cube(start: Start, objects: np.ndarray) -> dict[str, list[Waypoint]]:
    """The right arm picks the cube from above, brings it to the meeting point and turns it
    level (fingers on the cube's side faces); the left arm, rolled so that its fingers close
    on the top and bottom faces, takes it from the other side; the right lets go."""
    cube = objects[:3] + GRASP_ABOVE
    meet = np.array([0.0, 0.5, 0.25])
    (l_pos, l_quat), (r_pos, r_quat) = start["left"], start["right"]
    pick = pointing_down(r_quat, 90)
    receive = rotated(l_quat, (1, 0, 0), 90)
    up = np.array([0.0, 0.0, 0.08])
    hand_over = meet + _v(0.012, 0, 0)  # the right hand's grasp point: the cube's centre
    right = [Waypoint(SETTLE_STEPS, r_pos, r_quat, CLOSED), Waypoint(90, cube + up, pick, OPEN),
             Waypoint(130, cube, pick, OPEN), Waypoint(170, cube, pick, CLOSED),
             Waypoint(190, cube + 2 * up, pick, CLOSED),
             # Turning level slowly: a fast turn flings the cube out of the fingers.
             Waypoint(260, hand_over + _v(0.03, 0, 0), r_quat, CLOSED),
             Waypoint(275, hand_over, r_quat, CLOSED), Waypoint(320, hand_over, r_quat, CLOSED),
             Waypoint(340, hand_over, r_quat, OPEN),
             Waypoint(380, hand_over + _v(0.1, 0, 0), r_quat, OPEN)]
    left = [Waypoint(SETTLE_STEPS, l_pos, l_quat, CLOSED),
            Waypoint(140, meet + _v(-0.12, 0, 0), receive, OPEN),
            Waypoint(290, meet + _v(-0.012, 0, 0), receive, OPEN),
            Waypoint(315, meet + _v(-0.012, 0, 0), receive, CLOSED),
            Waypoint(370, meet + _v(-0.1, 0, 0), receive, CLOSED)]
    return {"left": left, "right": right}


def insertion(start: Start, objects: np.ndarray) -> dict[str, list[Waypoint]]:
    """Each arm picks its object from above by its outer end (left: the socket, right: the
    peg), lifts it to the meeting height with the two in line, and the right arm pushes the
    peg into the socket until it meets the pin (gym-aloha's last reward stage)."""
    peg, socket = objects[:3] + GRASP_ABOVE, objects[7:10] + GRASP_ABOVE
    grip = np.array([GRIP_FROM_CENTRE_M, 0.0, 0.0])
    meet = np.array([0.0, 0.5, 0.15])
    (l_pos, l_quat), (r_pos, r_quat) = start["left"], start["right"]
    l_pick, r_pick = pointing_down(l_quat, 90), pointing_down(r_quat, 90)
    up = np.array([0.0, 0.0, 0.08])
    # Where the grasp points are once the peg's end meets the pin (0.06 + 0.04 from the
    # centres), and 4 cm short of it.
    socket_at = meet - _v(0.07, 0, 0)
    left_at = socket_at - grip
    right_home = socket_at + _v(PEG_TO_PIN_M + 0.04, 0, 0) + grip
    right_in = socket_at + _v(PEG_TO_PIN_M - 0.005, 0, 0) + grip
    left = [Waypoint(SETTLE_STEPS, l_pos, l_quat, CLOSED),
            Waypoint(90, socket - grip + up, l_pick, OPEN),
            Waypoint(130, socket - grip, l_pick, OPEN),
            Waypoint(160, socket - grip, l_pick, CLOSED),
            Waypoint(180, socket - grip + up, l_pick, CLOSED),
            Waypoint(240, left_at, l_pick, CLOSED), Waypoint(400, left_at, l_pick, CLOSED)]
    right = [Waypoint(SETTLE_STEPS, r_pos, r_quat, CLOSED),
             Waypoint(90, peg + grip + up, r_pick, OPEN),
             Waypoint(130, peg + grip, r_pick, OPEN), Waypoint(160, peg + grip, r_pick, CLOSED),
             Waypoint(180, peg + grip + up, r_pick, CLOSED),
             Waypoint(240, right_home, r_pick, CLOSED), Waypoint(330, right_in, r_pick, CLOSED),
             Waypoint(400, right_in, r_pick, CLOSED)]
    return {"left": left, "right": right}


PLANS: dict[str, Callable[[Start, np.ndarray], dict[str, list[Waypoint]]]] = {
    "transfer-cube": transfer_cube, "insertion": insertion}
ARMS = ("left", "right")
START_ARMS = np.array([*START_ARM_POSE[:6], *START_ARM_POSE[8:14]])


class AlohaExpert:
    """``expert(observation) -> action (14,)``: the task's waypoint plan through IK."""

    closed_loop = False

    def __init__(self, task: str, physics: Any) -> None:
        self.task = task
        model = physics.model.ptr
        self._ik = {arm: ArmIK(model, arm) for arm in ARMS}
        self._qpos0 = np.asarray(model.qpos0).copy()
        self._plan: dict[str, list[Waypoint]] | None = None
        self._t = 0

    def __call__(self, observation: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        state = np.asarray(observation[STATE_KEY] if isinstance(observation, Mapping)
                           else observation, dtype=np.float64)
        arms = np.concatenate([state[0:6], state[7:13]])
        qpos = self._qpos0.copy()
        for arm, joints in zip(ARMS, (arms[:6], arms[6:]), strict=True):
            qpos[self._ik[arm].qpos_index] = joints
        # A new episode starts at rest in gym-aloha's start pose; the arms hold it until
        # the objects have settled, then the plan is made from where they lie.
        if np.allclose(arms, START_ARMS, atol=1e-6) and not np.any(state[14:28]):
            self._plan, self._t = None, 0
        if self._t < SETTLE_STEPS:
            self._t += 1
            return np.array([*START_ARMS[:6], CLOSED, *START_ARMS[6:], CLOSED], np.float32)
        if self._plan is None:
            start = {arm: self._ik[arm].tcp_pose(qpos) for arm in ARMS}
            self._plan = PLANS[self.task](start, state[28:])
        action = []
        for arm in ARMS:
            pos, quat, gripper = interpolate(self._plan[arm], self._t)
            action.extend([*self._ik[arm].solve(qpos, pos, quat), gripper])
        self._t += 1
        return np.asarray(action, dtype=np.float32)
