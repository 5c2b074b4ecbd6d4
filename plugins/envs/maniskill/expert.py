"""Closed-loop scripted experts for ManiSkill tabletop tasks, in ``pd_ee_delta_pos``.

ManiSkill's own solutions (``mani_skill.examples.motionplanning``) plan a joint-space path
once from reset: they cannot take over from an arbitrary state, which an intervening operator
(HG-DAgger, ``train.intervention=expert``) must. These experts instead read the privileged
state every step (the tool centre point, object and goal poses that ManiSkill puts in its
extra observations) and decide what to do from it alone, like MetaWorld's scripted policies:
each step's action depends only on the current state, so they replan from wherever the arm
is. Actions are (dx, dy, dz, gripper) in [-1, 1]; a unit of dx is the controller's 10 cm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from warl.core.envs.contract import STATE_KEY

# The controller's position range: a normalised action of 1 moves the target by 10 cm.
STEP_M = 0.1
OPEN, CLOSE = 1.0, -1.0
CUBE_HALF = 0.02  # PickCube, PushCube, PullCube and StackCube use 4 cm cubes
HOVER_M = 0.06  # approach height above an object before descending onto it
ALIGN_M = 0.008  # horizontal error under which the gripper descends
# The fingers' joint positions (qpos[7:9]) above which the gripper counts as open.
FINGER_OPEN = 0.035


class StateView:
    """Named slices of a ManiSkill ``state`` vector (see `ManiSkillEnv.state_layout`)."""

    def __init__(self, layout: Mapping[str, tuple[int, int]], state: np.ndarray) -> None:
        self.layout = layout
        self.state = state

    def __getitem__(self, name: str) -> np.ndarray:
        start, stop = self.layout[name]
        return self.state[start:stop]

    def position(self, name: str) -> np.ndarray:
        return self[f"extra/{name}"][:3]

    @property
    def tcp(self) -> np.ndarray:
        return self.position("tcp_pose")

    @property
    def gripper_open(self) -> bool:
        return bool(np.min(self["agent/qpos"][-2:]) > FINGER_OPEN)


def move_to(view: StateView, target: np.ndarray, gripper: float, gain: float = 1.0) -> np.ndarray:
    """The action that moves the tool centre point towards ``target`` (clipped to one step)."""
    delta = np.clip(gain * (target - view.tcp) / STEP_M, -1.0, 1.0)
    return np.array([*delta, gripper], dtype=np.float32)


def grasp(view: StateView, obj: np.ndarray, grasped: bool) -> np.ndarray | None:
    """Approach, descend onto and close on the object at ``obj``; None once it is held."""
    if grasped:
        return None
    tcp = view.tcp
    offset = np.linalg.norm(tcp[:2] - obj[:2])
    if offset > ALIGN_M:  # hover above first, so the fingers do not sweep the object
        hover = np.array([obj[0], obj[1], max(obj[2] + HOVER_M, tcp[2])])
        if offset > 3 * ALIGN_M and tcp[2] < obj[2] + HOVER_M - 0.01:
            hover = np.array([tcp[0], tcp[1], obj[2] + HOVER_M])  # lift clear, then move over
        return move_to(view, hover, OPEN)
    if tcp[2] > obj[2] + 0.005 and view.gripper_open:
        return move_to(view, obj, OPEN)
    return move_to(view, obj, CLOSE)  # at the object, or already closing: hold and close


def is_grasped(view: StateView, obj: np.ndarray) -> bool:
    """The gripper is closed on something at the object (ManiSkill's contact test is not in
    every task's state, so this reads geometry: the fingers stopped short of closing)."""
    if "extra/is_grasped" in view.layout:
        return bool(view["extra/is_grasped"][0] > 0.5)
    fingers = view["agent/qpos"][-2:]
    near = np.linalg.norm(view.tcp - obj) < CUBE_HALF + 0.01
    return bool(near and 0.01 < np.min(fingers) < FINGER_OPEN - 0.005)


def pick_cube(view: StateView) -> np.ndarray:
    obj, goal = view.position("obj_pose"), view.position("goal_pos")
    action = grasp(view, obj, is_grasped(view, obj))
    return move_to(view, goal, CLOSE) if action is None else action


def push_cube(view: StateView) -> np.ndarray:
    """Push (PushCube) or pull (PullCube) the cube onto the goal: the gripper closed, behind
    the cube on the line from the goal through it, then along that line."""
    obj, goal = view.position("obj_pose"), view.position("goal_pos")
    direction = goal[:2] - obj[:2]
    direction = direction / max(float(np.linalg.norm(direction)), 1e-6)
    behind = np.array([*(obj[:2] - direction * (CUBE_HALF + 0.025)), obj[2]])
    tcp = view.tcp
    # Distance from the tool to the push line, and how far behind the cube it is along it.
    along = float(np.dot(tcp[:2] - obj[:2], direction))
    across = float(np.linalg.norm(tcp[:2] - obj[:2] - along * direction))
    if along > -CUBE_HALF or across > 0.01:  # not behind the cube yet: go round, above it
        above = np.array([behind[0], behind[1], obj[2] + HOVER_M])
        if np.linalg.norm(tcp[:2] - behind[:2]) > 0.01:
            if tcp[2] < obj[2] + HOVER_M - 0.01 and along > -CUBE_HALF - 0.01:
                return move_to(view, np.array([tcp[0], tcp[1], obj[2] + HOVER_M]), CLOSE)
            return move_to(view, above, CLOSE)
        return move_to(view, behind, CLOSE)
    if tcp[2] > obj[2] + 0.01:
        return move_to(view, np.array([tcp[0], tcp[1], obj[2]]), CLOSE)
    push_to = np.array([*(goal[:2] - direction * (CUBE_HALF + 0.01)), obj[2]])
    return move_to(view, push_to, CLOSE, gain=0.6)


def stack_cube(view: StateView) -> np.ndarray:
    """Pick cube A and let go of it resting on cube B."""
    a, b = view.position("cubeA_pose"), view.position("cubeB_pose")
    place = b + np.array([0.0, 0.0, 2 * CUBE_HALF])
    on_b = np.linalg.norm(a[:2] - b[:2]) < 0.01 and abs(a[2] - place[2]) < 0.006
    if on_b:  # resting on B: open and rise straight up
        return move_to(view, np.array([a[0], a[1], a[2] + HOVER_M]), OPEN)
    held = is_grasped(view, a) and bool(
        a[2] > CUBE_HALF + 0.005 or np.linalg.norm(view.tcp[:2] - a[:2]) < 0.01)
    action = grasp(view, a, held)
    if action is not None:
        return action
    if np.linalg.norm(a[:2] - b[:2]) > 0.008:  # carry above B, then lower onto it
        return move_to(view, np.array([place[0], place[1], place[2] + 0.05]), CLOSE)
    return move_to(view, place + np.array([0.0, 0.0, 0.002]), CLOSE, gain=0.5)


# Tasks with an expert, and the control mode it acts in.
EXPERTS: dict[str, Callable[[StateView], np.ndarray]] = {
    "PickCube-v1": pick_cube,
    "PushCube-v1": push_cube,
    "PullCube-v1": push_cube,
    "StackCube-v1": stack_cube,
}
EXPERT_CONTROL = "pd_ee_delta_pos"


class ManiSkillExpert:
    """``expert(observation) -> action (4,)`` for a task in `EXPERTS`."""

    closed_loop = True

    def __init__(self, task: str, layout: Mapping[str, tuple[int, int]]) -> None:
        self.task = task
        self.layout = dict(layout)
        self._policy = EXPERTS[task]

    def __call__(self, observation: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        state = observation[STATE_KEY] if isinstance(observation, Mapping) else observation
        return self._policy(StateView(self.layout, np.asarray(state, dtype=np.float64)))
