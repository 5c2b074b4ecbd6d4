"""The MetaWorld env plugin: seeding, cameras, experts, errors."""

import threading

import numpy as np
import pytest

pytest.importorskip("metaworld")

from warl.core.envs import GatedExpert, InterventionWrapper
from warl.core.errors import ConfigError
from warl.plugins.envs.metaworld.env import UPSIDE_DOWN_CAMERAS, MetaWorldEnv
from warl.plugins.envs.metaworld.expert import MetaWorldExpert, expert_intervention


def test_seed_fixes_and_varies_object_and_goal():
    env = MetaWorldEnv("peg-insert-side")
    a = env.reset(seed=1)[0]["state"]
    b = env.reset(seed=1)[0]["state"]
    c = env.reset(seed=2)[0]["state"]
    env.close()
    assert np.array_equal(a, b)
    assert not np.allclose(a[4:7], c[4:7]) and not np.allclose(a[-3:], c[-3:])
    assert a.shape == (39,) and a.dtype == np.float32


def test_cameras_render_at_requested_size_upright():
    env = MetaWorldEnv("reach", cameras=["corner", "topview"], image_size=48)
    obs, _ = env.reset(seed=0)
    assert obs["rgb_corner"].shape == (48, 48, 3) and obs["rgb_corner"].dtype == np.uint8
    # Upright: the floor (bottom rows) differs from the raw upside-down render's bottom rows.
    raw = env._renderers[(threading.get_ident(), 48)]
    raw.update_scene(env._mw.data, camera="corner")
    assert np.array_equal(obs["rgb_corner"], raw.render()[::-1])
    assert "corner" in UPSIDE_DOWN_CAMERAS and obs["rgb_topview"].std() > 0
    env.close()


@pytest.mark.parametrize("task", ["peg-insert-side", "button-press-topdown", "reach"])
def test_scripted_expert_succeeds(task):
    env = MetaWorldEnv(task)
    expert = env.scripted_expert()
    successes = 0
    for seed in range(2):
        obs, _ = env.reset(seed=seed)
        for _ in range(env.max_episode_steps):
            obs, reward, terminated, truncated, info = env.step(expert(obs))
            if terminated or truncated:
                break
        successes += info["success"] and reward == 1.0
    env.close()
    assert successes == 2


def test_expert_takes_over_a_bad_policy():
    env = InterventionWrapper(MetaWorldEnv("reach"), expert_intervention("reach", threshold=0.3))
    env.reset(seed=0)
    intervened = []
    for _ in range(30):
        _, _, terminated, truncated, info = env.step(np.array([0, 0, -1, 0], np.float32))
        intervened.append(info["intervened"])
        if info["intervened"]:
            assert not np.allclose(info["executed_action"], [0, 0, -1, 0])
        if terminated or truncated:
            break
    assert intervened[0] and env.intervention_rate > 0.5
    assert isinstance(env.source, GatedExpert)


def test_expert_reads_dict_or_array():
    env = MetaWorldEnv("reach")
    obs, _ = env.reset(seed=0)
    expert = MetaWorldExpert("reach")
    assert np.array_equal(expert(obs), expert(obs["state"]))
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"task": "peg-insert"}, "Did you mean peg-insert-side"),
        ({"cameras": ["front"]}, "unknown MetaWorld camera 'front'"),
        ({"reward_type": "shaped"}, "reward_type"),
    ],
)
def test_bad_config_is_explained(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        MetaWorldEnv(**kwargs)


def test_bad_action_shape_is_explained():
    env = MetaWorldEnv("reach")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        env.step(np.zeros(3))
    env.close()


def test_dense_reward_and_truncation():
    env = MetaWorldEnv("reach", reward_type="dense", max_episode_steps=5)
    env.reset(seed=0)
    for _ in range(5):
        _, reward, terminated, truncated, _ = env.step(np.zeros(4, np.float32))
    assert truncated and not terminated and 0 < reward < 10
    env.close()
