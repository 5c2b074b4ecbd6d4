"""`world-model/imagined`: imagination as an env (untrained models: the mechanics, not quality)."""

from __future__ import annotations

import numpy as np
import pytest

import warl
from warl.core.envs.chunked import ChunkedEnv
from warl.core.errors import ConfigError

WM = {"width": 32, "depth": 1, "heads": 2, "sampling_steps": 2, "chunk": 4, "future": 4}


def imagined(**settings):
    return warl.make("world-model/imagined", source="metaworld/reach", pretrained=False, wm=WM,
                     **settings)


def test_chunks_of_any_length_run_to_the_horizon_and_report_what_ran():
    env = ChunkedEnv(imagined(max_episode_steps=10), 6)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"state", "rgb_corner"} and isinstance(info["instruction"], str)
    steps, done = 0, False
    while not done:
        obs, _, terminated, truncated, info = env.step(np.zeros((6, 4), np.float32))
        steps += info["steps_executed"]
        done = terminated or truncated
        assert obs["rgb_corner"].shape == (64, 64, 3) and obs["state"].dtype == np.float32
    assert steps == 10 and truncated and not terminated  # 6, then 4 of the next chunk
    assert info["executed_actions"][:4].shape == (4, 4) and not info["intervened"].any()
    env.close()


def test_reset_starts_from_the_real_envs_first_frame_or_a_keyframe(tmp_path):
    from warl.core.rollout.recorded import RolloutSpec, record_rollouts

    env = imagined()
    real = warl.make("metaworld/reach", cameras=["corner"], image_size=64)
    assert np.array_equal(env.reset(seed=4)[0]["rgb_corner"], real.reset(seed=4)[0]["rgb_corner"])
    real.close()
    env.close()
    path = record_rollouts("metaworld/reach", RolloutSpec(policy="expert", episodes=1),
                           show_progress=False)
    keyed = imagined(start="keyframes", keyframes=str(path))
    first = keyed.reset(seed=1)[0]["rgb_corner"]
    assert any(np.array_equal(first, frame) for frame, _ in keyed.frames)
    keyed.close()


def test_bad_settings_are_one_clear_error():
    with pytest.raises(ConfigError, match="needs source="):
        warl.make("world-model/imagined")
    with pytest.raises(ConfigError, match="start 'keyframe'"):
        imagined(start="keyframe")
    for reward in ("warl/pixel-mse", "warl/sparse-success"):
        with pytest.raises(ConfigError, match="does not score imagined observations"):
            imagined(reward=reward)
