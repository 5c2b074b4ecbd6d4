"""The robosuite env plugin through the real `robosuite` 1.5 package (MuJoCo, EGL on CPU)."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from warl.core.errors import ConfigError

pytest.importorskip("robosuite", reason="pip install 'warl[robosuite]'")

from warl.plugins.envs.robosuite.env import RobosuiteEnv


@pytest.fixture(scope="module")
def lift():
    env = RobosuiteEnv("Lift", cameras=["agentview"], image_size=32, max_episode_steps=150)
    yield env
    env.close()


def test_observation_follows_the_contract(lift):
    obs, info = lift.reset(seed=2)
    assert info["instruction"] == "Pick up the red cube and lift it off the table."
    assert obs["state"].dtype == np.float32
    assert obs["state"].shape == lift.observation_space["state"].shape
    assert obs["rgb_agentview"].shape == (32, 32, 3) and obs["rgb_agentview"].std() > 0
    cube = lift.state_part(obs["state"], "cube_pos")
    np.testing.assert_allclose(cube, lift._rs.sim.data.body_xpos[lift._rs.cube_body_id],
                               atol=1e-6)
    assert lift.action_space.shape == (7,)


def test_seed_fixes_the_placement(lift):
    first = lift.reset(seed=5)[0]["state"]
    other = lift.reset(seed=6)[0]["state"]
    again = lift.reset(seed=5)[0]["state"]
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(lift.state_part(first, "cube_pos"), lift.state_part(other, "cube_pos"))


_DRAWS = """
from warl.plugins.envs.robosuite.env import RobosuiteEnv
env = RobosuiteEnv("NutAssemblySingle", max_episode_steps=10)
print([(env.reset(seed=s)[0]["state"].size, env._rs.obj_to_use) for s in range(6)])
"""


def test_single_object_task_draws_its_object_from_the_seed():
    """NutAssemblySingle picks its nut per reset: the state keeps one layout (``object_*``
    parts, ``nut_id`` saying which nut) and the seed, not the process's string-hash seed,
    decides which nut."""
    runs = {subprocess.run([sys.executable, "-c", _DRAWS], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": str(h)}
                           ).stdout.strip().splitlines()[-1] for h in (1, 2)}
    assert len(runs) == 1
    draws = ast.literal_eval(runs.pop())
    assert len({size for size, _ in draws}) == 1
    assert {nut for _, nut in draws} == {"RoundNut", "SquareNut"}


def test_images_are_upright(lift):
    """agentview looks at the table from the front and above: the table fills the bottom of
    the image, the background the top (robosuite's own images are bottom-up)."""
    lift.reset(seed=0)
    image = lift.render_cameras()["rgb_agentview"].astype(float)
    top, bottom = image[:8].mean(), image[-8:].mean()
    assert abs(top - bottom) > 5
    flipped = lift._rs.sim.render(width=32, height=32, camera_name="agentview").astype(float)
    assert np.allclose(flipped[::-1], image)


def test_closed_loop_expert_lifts_the_cube(lift):
    """Measured here: 10/10 seeds in 32-37 steps."""
    expert = lift.scripted_expert()
    wins = 0
    for seed in range(3):
        obs, _ = lift.reset(seed=seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = lift.step(expert(obs))
            done = terminated or truncated
        wins += info["success"] and reward == 1.0
    assert wins == 3


def test_two_arm_task_acts_in_fourteen_dimensions():
    env = RobosuiteEnv("TwoArmLift")
    assert env.action_space.shape == (14,)
    assert not hasattr(env, "scripted_expert")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(14, np.float32))
    assert info["success"] is False
    env.close()


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="Lfit"), "Did you mean Lift"),
    (dict(task="Lift", robots="Pandas"), "unknown robosuite robot 'Pandas'"),
    (dict(task="Lift", cameras=["wrist"]), "has no camera 'wrist'; choose from"),
    (dict(task="Lift", reward_type="shaped"), "reward_type must be one of"),
])
def test_bad_settings_fail_with_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message) as caught:
        RobosuiteEnv(**kwargs)
    assert "\n" not in str(caught.value)
