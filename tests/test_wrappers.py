"""ChunkedEnv, InterventionWrapper, deployment-gap wrappers and video recording."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from warl.core.envs import (
    ActionNoise,
    CalibrationOffset,
    ChunkedEnv,
    ControlLatency,
    DeviationGate,
    GatedExpert,
    InterventionWrapper,
    ObservationNoise,
    RecordEpisodeVideo,
)


class LineEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """A 1-D position; success (and termination) once x >= goal. Records what it was sent."""

    def __init__(self, goal: float = 3.0, horizon: int = 20) -> None:
        self.goal, self.horizon = goal, horizon
        self.observation_space = spaces.Dict(
            {"state": spaces.Box(-100, 100, (1,), np.float32),
             "rgb_cam": spaces.Box(0, 255, (8, 8, 3), np.uint8)}
        )
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.sent: list[np.ndarray] = []

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        super().reset(seed=seed)
        self.x, self.t = 0.0, 0
        return self._obs(), {"success": False, "instruction": "go right"}

    def step(self, action: np.ndarray) -> Any:
        self.sent.append(np.array(action))
        self.x += float(action[0])
        self.t += 1
        success = self.x >= self.goal
        return self._obs(), float(success), success, self.t >= self.horizon, {"success": success}

    def _obs(self) -> dict[str, np.ndarray]:
        img = np.full((8, 8, 3), min(255, int(self.x * 10) + 100), np.uint8)
        return {"state": np.array([self.x], np.float32), "rgb_cam": img}


def test_chunk_runs_all_steps_and_sums_reward():
    env = ChunkedEnv(LineEnv(goal=100), chunk=4, record_frames=True)
    _, info = env.reset(seed=0)
    assert len(info["frames"]) == 1
    obs, reward, terminated, _, info = env.step(np.full((4, 1), 0.5))
    assert obs["state"][0] == pytest.approx(2.0) and reward == 0 and not terminated
    assert info["steps_executed"] == 4 and info["executed_actions"].shape == (4, 1)
    assert not info["intervened"].any() and len(info["frames"]) == 4


def test_chunk_stops_early_at_termination():
    env = ChunkedEnv(LineEnv(goal=2.0), chunk=5)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(np.ones((5, 1)))
    assert terminated and reward == 1.0 and info["steps_executed"] == 2
    assert np.array_equal(info["executed_actions"][:, 0], [1, 1, 0, 0, 0])
    assert info["rewards"].tolist() == [0, 1, 0, 0, 0] and info["success"]


def test_chunk_shape_errors_are_explained():
    env = ChunkedEnv(LineEnv(), chunk=3)
    env.reset()
    with pytest.raises(ValueError, match=r"shape \(k, 1\) with 1 <= k <= 3"):
        env.step(np.zeros((4, 1)))
    assert env.action_space.shape == (3, 1)


def test_intervention_is_executed_reported_and_refilled():
    # The source takes over while x < 1 (pushes +1), then hands back.
    class Source:
        def reset(self) -> None:
            pass

        def __call__(self, obs: Any, proposed: np.ndarray) -> np.ndarray | None:
            return np.array([1.0], np.float32) if obs["state"][0] < 1 else None

    base = LineEnv(goal=100)
    refills = []

    def refill(obs: Any, remaining: int) -> np.ndarray:
        refills.append((float(obs["state"][0]), remaining))
        return np.full((remaining, 1), 0.25, np.float32)

    env = ChunkedEnv(InterventionWrapper(base, Source()), chunk=4, refill=refill)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.full((4, 1), -0.5))
    assert info["intervened"].tolist() == [True, False, False, False]
    assert np.allclose(info["executed_actions"][:, 0], [1.0, 0.25, 0.25, 0.25])
    assert refills == [(1.0, 3)]  # re-planned once, from the post-intervention observation
    assert np.allclose(np.concatenate(base.sent), [1.0, 0.25, 0.25, 0.25])


def test_deviation_gate_hysteresis():
    gate = DeviationGate(threshold=1.0, release=0.2, min_takeover_steps=2)
    far, near = np.array([2.0]), np.array([0.1])
    zero = np.array([0.0])
    assert [gate(far, zero), gate(near, zero), gate(near, zero), gate(near, zero)] == [
        True, True, False, False]
    source = GatedExpert(lambda obs: np.zeros(1), DeviationGate(threshold=0.5))
    assert source({}, np.array([1.0])) is not None and source({}, np.array([0.1])) is not None


def test_calibration_offset_rotates_and_shifts():
    class Recorder(LineEnv):
        def __init__(self) -> None:
            super().__init__()
            self.action_space = spaces.Box(-1.0, 1.0, (3,), np.float32)

        def step(self, action: np.ndarray) -> Any:
            self.sent.append(np.array(action))
            return self._obs(), 0.0, False, False, {"success": False}

    inner = Recorder()
    env = CalibrationOffset(inner, bias=[0.0, 0.1, 0.0], yaw_deg=90, dims=(0, 1, 2))
    env.reset()
    env.step(np.array([0.5, 0.0, 0.2], np.float32))
    assert np.allclose(inner.sent[-1], [0.0, 0.6, 0.2], atol=1e-6)
    with pytest.raises(ValueError, match="bias needs 3 values"):
        CalibrationOffset(inner, bias=[0.1])


def test_noise_wrappers_are_seeded_per_episode():
    def trace(seed: int) -> np.ndarray:
        env = ObservationNoise(ActionNoise(LineEnv(goal=100), std=0.1, seed=1), std=0.2, seed=2)
        obs = [env.reset(seed=seed)[0]["state"]]
        obs += [env.step(np.zeros(1))[0]["state"] for _ in range(5)]
        return np.concatenate(obs)

    assert np.array_equal(trace(3), trace(3))
    assert not np.array_equal(trace(3), trace(4))
    assert np.abs(trace(3)).max() > 0


def test_control_latency_delays_actions():
    inner = LineEnv(goal=100)
    env = ControlLatency(inner, steps=2)
    env.reset()
    for value in (0.1, 0.2, 0.3):
        env.step(np.array([value], np.float32))
    assert np.allclose(np.concatenate(inner.sent), [0.0, 0.0, 0.1])


def test_video_recording_writes_readable_mp4(tmp_path):
    import imageio.v2 as imageio

    env = RecordEpisodeVideo(LineEnv(goal=3.0), tmp_path, prefix="eval")
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.ones(1))
    env.close()
    (path,) = env.saved
    assert path.name == "eval-0000.mp4"
    reader = imageio.get_reader(path, format="FFMPEG")
    assert reader.count_frames() == 4 and reader.get_data(0).shape == (8, 8, 3)


def test_chunked_env_defers_camera_rendering_without_changing_observations():
    import warl

    def final_obs(record_frames):
        env = ChunkedEnv(warl.make("metaworld/reach", cameras=["corner"]), 6,
                         record_frames=record_frames)
        env.reset(seed=4)
        chunk = np.tile([[0.5, -0.3, 0.2, 0.0]], (6, 1)).astype(np.float32)
        obs, *_ = env.step(chunk)
        inner = env.unwrapped
        env.close()
        return obs, inner

    deferred, inner = final_obs(record_frames=False)
    rendered, _ = final_obs(record_frames=True)
    assert not inner.defer_cameras  # reset after the chunk
    assert deferred["rgb_corner"].any()  # a real image, not the black placeholder
    for key in rendered:
        np.testing.assert_array_equal(deferred[key], rendered[key])
