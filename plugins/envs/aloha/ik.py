"""Inverse kinematics for one ViperX arm: damped least squares on MuJoCo's Jacobian, on a
scratch copy of the state (the simulated robot is never touched)."""

from __future__ import annotations

import mujoco
import numpy as np

# The grasp point: between the finger pads, 10 cm along the gripper link's x axis (measured
# from the scene: the finger geoms' centres are 9.3 cm out).
TCP_OFFSET = np.array([0.13, 0.0, 0.0])
ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")


class ArmIK:
    """``solve(qpos, target_pos, target_quat) -> 6 joint positions`` for ``arm``."""

    def __init__(self, model: mujoco.MjModel, arm: str, damping: float = 0.05,
                 iterations: int = 40) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"vx300s_{arm}/gripper_link")
        joints = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"vx300s_{arm}/{j}")
                  for j in ARM_JOINTS]
        self.qpos_index = np.array([model.jnt_qposadr[j] for j in joints])
        self.dof_index = np.array([model.jnt_dofadr[j] for j in joints])
        self.low = model.jnt_range[joints, 0]
        self.high = model.jnt_range[joints, 1]
        self.damping = damping
        self.iterations = iterations

    def tcp_pose(self, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World position of the grasp point and the gripper link's quaternion at ``qpos``."""
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        return self._tcp(), self.data.xquat[self.body].copy()

    def _tcp(self) -> np.ndarray:
        rotation = self.data.xmat[self.body].reshape(3, 3)
        return np.asarray(self.data.xpos[self.body] + rotation @ TCP_OFFSET)

    def solve(self, qpos: np.ndarray, target_pos: np.ndarray,
              target_quat: np.ndarray) -> np.ndarray:
        data = self.data
        data.qpos[:] = qpos
        jacp, jacr = np.zeros((3, self.model.nv)), np.zeros((3, self.model.nv))
        rot_error = np.zeros(3)
        for _ in range(self.iterations):
            mujoco.mj_kinematics(self.model, data)
            mujoco.mj_comPos(self.model, data)
            tcp = self._tcp()
            # Orientation error as a world-frame rotation vector: mju_subQuat gives it in the
            # current body frame.
            mujoco.mju_subQuat(rot_error, target_quat, data.xquat[self.body])
            error = np.concatenate([target_pos - tcp,
                                    data.xmat[self.body].reshape(3, 3) @ rot_error])
            if np.linalg.norm(error[:3]) < 1e-4 and np.linalg.norm(error[3:]) < 1e-3:
                break
            mujoco.mj_jac(self.model, data, jacp, jacr, tcp, self.body)
            jac = np.vstack([jacp, jacr])[:, self.dof_index]
            step = jac.T @ np.linalg.solve(jac @ jac.T + self.damping**2 * np.eye(6), error)
            q = data.qpos[self.qpos_index] + np.clip(step, -0.2, 0.2)
            data.qpos[self.qpos_index] = np.clip(q, self.low, self.high)
        return np.asarray(data.qpos[self.qpos_index]).copy()
