"""warl envs through the plain Gymnasium API: SB3 trains, TorchRL's specs check out."""

import gymnasium
import numpy as np
import pytest

pytest.importorskip("metaworld")


def test_gymnasium_make_maps_ids():
    env = gymnasium.make("warl.gym:metaworld/reach", max_episode_steps=20)
    obs, info = env.reset(seed=0)
    assert obs["state"].shape == (39,) and info["instruction"]
    same = gymnasium.make("metaworld/reach")  # registered by the import above
    assert np.array_equal(same.reset(seed=0)[0]["state"], obs["state"])
    env.close()
    same.close()


def test_sb3_sac_trains_on_a_warl_env(tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    env = gymnasium.make("warl.gym:metaworld/reach", max_episode_steps=50)
    model = sb3.SAC("MultiInputPolicy", env, learning_starts=100, batch_size=32, seed=0,
                    policy_kwargs={"net_arch": [32, 32]}, verbose=0)
    before = [p.detach().clone() for p in model.policy.actor.parameters()]
    model.learn(total_timesteps=300)
    assert model.num_timesteps == 300 and model.replay_buffer.size() == 300
    after = list(model.policy.actor.parameters())
    pairs = zip(after, before, strict=True)
    changed = [not np.allclose(a.detach().numpy(), b.numpy()) for a, b in pairs]
    assert any(changed)
    model.save(tmp_path / "sac")
    action, _ = sb3.SAC.load(tmp_path / "sac").predict(env.reset(seed=1)[0], deterministic=True)
    assert env.action_space.contains(action)
    env.close()


def test_torchrl_gym_wrapper_passes_check_env_specs():
    pytest.importorskip("torchrl")
    from torchrl.envs import GymWrapper
    from torchrl.envs.utils import check_env_specs

    import warl

    env = GymWrapper(warl.make_env("metaworld/reach", cameras=["corner"], image_size=32))
    check_env_specs(env, seed=0)
    rollout = env.rollout(5)
    assert rollout["rgb_corner"].shape[-3:] == (32, 32, 3)
    # TorchRL's Gym wrapper names the `state` key "observation", its own convention.
    assert rollout["next", "observation"].shape == (5, 39)
