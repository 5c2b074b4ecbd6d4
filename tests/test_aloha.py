"""The ALOHA env plugin: gym-aloha's bimanual tasks and scripted experts (MuJoCo, CPU)."""

import numpy as np
import pytest

from warl.core.errors import ConfigError

pytest.importorskip("gym_aloha", reason="pip install 'warl[aloha]'")

from warl.plugins.envs.aloha.env import AlohaEnv


@pytest.fixture(scope="module")
def insertion():
    env = AlohaEnv("insertion", cameras=["top"], image_size=32)
    yield env
    env.close()


def test_observation_follows_the_contract(insertion):
    obs, info = insertion.reset(seed=4)
    assert "peg" in info["instruction"]
    assert obs["state"].shape == (42,)  # qpos 14, qvel 14, peg and socket poses 7 + 7
    assert obs["rgb_top"].shape == (32, 32, 3) and obs["rgb_top"].std() > 0
    assert insertion.action_space.shape == (14,)
    # The objects start where gym-aloha's sampler puts them for this seed.
    from gym_aloha.utils import sample_insertion_pose

    peg, socket = sample_insertion_pose(4)
    np.testing.assert_allclose(obs["state"][28:31], peg[:3], atol=1e-6)
    np.testing.assert_allclose(obs["state"][35:38], socket[:3], atol=1e-6)


def test_deferred_cameras(insertion):
    obs, _ = insertion.reset(seed=0)
    insertion.defer_cameras = True
    try:
        obs, *_ = insertion.step(obs["state"][:14])
    finally:
        insertion.defer_cameras = False
    assert obs["rgb_top"].max() == 0 and insertion.render_cameras()["rgb_top"].std() > 0


@pytest.mark.parametrize("task", ["transfer-cube", "insertion"])
def test_scripted_expert_solves_the_task(task):
    """Measured here: 20/20 seeds each (about 0.3-0.4 s an episode without cameras)."""
    env = AlohaEnv(task)
    expert = env.scripted_expert()
    assert expert.closed_loop is False
    for seed in range(2):
        obs, _ = env.reset(seed=seed)
        done, stages = False, []
        while not done:
            obs, reward, terminated, truncated, info = env.step(expert(obs))
            done = terminated or truncated
            stages.append(info["reward_stage"])
        assert info["success"] and reward == 1.0 and max(stages) == 4
    env.close()


def test_interventions_are_refused_before_any_work():
    from warl.core.registry import create_registry
    from warl.core.training.preflight import preflight
    from warl.core.training.run import make_request

    registry = create_registry()
    request = make_request("hg-dagger", "aloha/insertion", gap="none")
    with pytest.raises(ConfigError, match="plans from reset"):
        preflight(request, registry)


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="insert"), "Did you mean insertion"),
    (dict(task="insertion", cameras=["wrist"]), "unknown ALOHA camera 'wrist'"),
])
def test_bad_settings_fail_with_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AlohaEnv(**kwargs)


def test_a_diverging_physics_step_truncates_the_episode():
    """Random joint targets over the full ranges can make MuJoCo's solver diverge
    (benchmarks/env_rates.py met it): the episode is truncated, not crashed, and the next
    reset is valid again. Divergence is forced here with an absurd velocity."""
    env = AlohaEnv("transfer-cube")
    obs, _ = env.reset(seed=0)
    env.physics.data.qvel[:] = 1e12
    obs, reward, terminated, truncated, info = env.step(obs["state"][:14])
    assert truncated and not terminated and reward == 0.0 and "physics_error" in info
    obs, _ = env.reset(seed=1)
    assert np.isfinite(obs["state"]).all()
    assert not env.step(obs["state"][:14])[3]
    env.close()
