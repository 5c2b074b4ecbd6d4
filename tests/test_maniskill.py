"""The ManiSkill3 env plugin through the real `mani_skill` package (SAPIEN, CPU)."""

import numpy as np
import pytest

from tests.conftest import no_vulkan
from warl.core.errors import ConfigError

pytest.importorskip("mani_skill", reason="pip install 'warl[maniskill]'")
if no_vulkan():
    pytest.skip(no_vulkan() or "", allow_module_level=True)

from warl.plugins.envs.maniskill.env import ManiSkillEnv


@pytest.fixture(scope="module")
def pick_cube():
    env = ManiSkillEnv("PickCube-v1", cameras=["base_camera"], image_size=32)
    yield env
    env.close()


def test_observation_follows_the_contract(pick_cube):
    obs, info = pick_cube.reset(seed=3)
    assert info["instruction"] == "Pick up the red cube and move it to the goal position."
    assert obs["state"].dtype == np.float32 and obs["state"].shape == (
        pick_cube.observation_space["state"].shape)
    assert obs["rgb_base_camera"].shape == (32, 32, 3) and obs["rgb_base_camera"].std() > 0
    # The layout names ManiSkill's privileged extras: the cube is where ManiSkill says it is.
    cube = pick_cube.state_part(obs["state"], "extra/obj_pose")[:3]
    ms_cube = pick_cube._ms.cube.pose.p.numpy()[0]
    np.testing.assert_allclose(cube, ms_cube, atol=1e-6)
    assert pick_cube.action_space.shape == (4,) and pick_cube.control_mode == "pd_ee_delta_pos"


def test_deferred_cameras_are_black_and_render_fresh(pick_cube):
    pick_cube.reset(seed=0)
    pick_cube.defer_cameras = True
    try:
        obs, *_ = pick_cube.step(np.zeros(4, np.float32))
    finally:
        pick_cube.defer_cameras = False
    assert obs["rgb_base_camera"].max() == 0
    assert pick_cube.render_cameras()["rgb_base_camera"].std() > 0


@pytest.mark.parametrize("task, at_least", [("PickCube-v1", 4), ("PushCube-v1", 5),
                                            ("PullCube-v1", 5), ("StackCube-v1", 3)])
def test_closed_loop_expert_solves_the_task(task, at_least):
    """5 seeds; measured here: PickCube 9/10, PushCube 10/10, PullCube 10/10, StackCube 7/10."""
    env = ManiSkillEnv(task)
    expert = env.scripted_expert()
    wins = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(expert(obs))
            done = terminated or truncated
        wins += info["success"]
    env.close()
    assert wins >= at_least


def test_expert_replans_from_a_perturbed_state():
    """Pushed off course mid-episode (random actions), the expert still finishes: it reads
    the state every step instead of replaying a plan."""
    env = ManiSkillEnv("PushCube-v1")
    expert = env.scripted_expert()
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(8):
        obs, *_ = env.step(expert(obs))
    for _ in range(5):
        obs, *_ = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
    done, info = False, {"success": False}
    while not done:
        obs, _, terminated, truncated, info = env.step(expert(obs))
        done = terminated or truncated
    env.close()
    assert info["success"]


def test_a_seed_reproduces_its_episode_after_a_different_one():
    """MS-AntRun keeps state across a plain reset that its observation does not show (PhysX's
    contact cache): the same seed and actions diverge unless the scene is rebuilt on reset
    (the default there)."""
    def rollout(env: ManiSkillEnv, warmup: int) -> np.ndarray:
        env.reset(seed=7)
        for _ in range(warmup):
            env.step(env.action_space.sample())
        start = env.reset(seed=7)[0]["state"]
        return np.stack([start, *(env.step(a)[0]["state"] for a in actions)])

    env = ManiSkillEnv("MS-AntRun-v1")
    assert env.rebuild_on_reset
    env.action_space.seed(123)
    actions = [env.action_space.sample() for _ in range(10)]
    np.testing.assert_array_equal(rollout(env, 0), rollout(env, 30))
    env.close()


def test_two_robot_actions_are_one_box():
    env = ManiSkillEnv("TwoRobotPickCube-v1")
    assert env.action_space.shape == (8,)  # two arms x (dx, dy, dz, gripper)
    assert not hasattr(env, "scripted_expert")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(8, np.float32))
    assert isinstance(info["success"], bool)
    env.close()


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="PickCub-v1"), "Did you mean PickCube-v1"),
    (dict(task="PickSingleYCB-v1"), "needs ManiSkill assets"),
    (dict(task="PickCube-v1", cameras=["wrist"]), "has no camera 'wrist'; choose from base_camera"),
    (dict(task="PickCube-v1", control_mode="pd_ee_twist"), "has no control mode 'pd_ee_twist'"),
])
def test_bad_settings_fail_with_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message) as caught:
        ManiSkillEnv(**kwargs)
    assert "\n" not in str(caught.value)
