"""`world-model/imagined`: imagination as an env (untrained models: the mechanics, not quality)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import warl
from warl.core.envs.chunked import ChunkedEnv
from warl.core.errors import ConfigError
from warl.core.training.log import read_csv

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
    frames = keyed.episodes.frames[0]
    assert keyed.keyframes == [(0, t) for t in range(len(frames))]
    assert any(np.array_equal(first, frame) for frame in frames)
    # A keyframe start: the episode's first frame is the anchor, its last frames the context.
    start = keyed.start_at(0, 5)
    assert start.elapsed == 5 and np.array_equal(start.frames[0], frames[0])
    keyed.close()


def test_bad_settings_are_one_clear_error():
    with pytest.raises(ConfigError, match="needs source="):
        warl.make("world-model/imagined")
    with pytest.raises(ConfigError, match="start 'keyframe'"):
        imagined(start="keyframe")
    for reward in ("warl/pixel-mse", "warl/sparse-success"):
        with pytest.raises(ConfigError, match="does not score imagined observations"):
            imagined(reward=reward)


def _sets(prefix: str, settings: dict) -> list[str]:
    return [f"--set={prefix}{k}={json.dumps(v)}" for k, v in settings.items()]


@pytest.mark.parametrize("algo", ["halo-wa", "sb3/sac"])
def test_any_algorithm_trains_in_imagination_as_in_the_simulator(algo, small_wa, tmp_path,
                                                                 capsys):
    """`warl train ALGO --env world-model/imagined --set env.source=...`: the same command,
    run folder and counters as in the simulator; HALO-WA's WA model and demonstrations are
    the source env's."""
    from tests.conftest import SMALL_TASK, SMALL_WA
    from warl.core.cli import main

    run = tmp_path / "run"
    env = {"source": SMALL_TASK, "pretrained": False, "wm": WM, "max_episode_steps": 40}
    quick = {"env_steps": 240, "minutes": 0, "baseline": False, "eval_every": 1000,
             "eval_trials": 1, "final_trials": 2, "videos": 0, "asynchronous": False}
    if algo == "halo-wa":
        algorithm = {"hidden": 32, "heads": 2, "batch_size": 16, "learning_starts": 8,
                     "bc_warmup_steps": 10}
        sets = _sets("wa.", SMALL_WA) + _sets("train.", {**quick, "demos": 2})
    else:
        algorithm = {"net_arch": [32, 32], "batch_size": 16, "learning_starts": 40}
        sets = _sets("train.", {**quick, "demos": 0})
    args = ["train", algo, "--env", "world-model/imagined", "--out", str(run), "--quiet",
            "--json", *_sets("env.", env), *_sets("", algorithm), *sets]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["online_env_steps"] >= 240
    config = json.loads((run / "config.json").read_text())["resolved"]
    assert config["env"] == "world-model/imagined"
    if algo == "halo-wa":
        assert config["source_env"] == SMALL_TASK
        assert config["wa_model"]["config"]["env_id"] == SMALL_TASK
    rows = read_csv(run / "train.csv")
    assert int(rows[-1]["updates"]) > 0 and int(rows[-1]["env_steps"]) >= 240
    assert json.loads((run / "final.json").read_text())["trials"] == 2
    # The policy trained in imagination, evaluated in the real source env.
    assert main(["eval", "--run", str(run), "--env", SMALL_TASK, "--trials", "2", "--quiet",
                 "--json", "--out", str(tmp_path / "real")]) == 0
    real = json.loads(capsys.readouterr().out)
    assert real["env"] == SMALL_TASK and real["trials"] == 2
    assert main(["eval", "--run", str(run), "--env", "metaworld/reach", "--quiet"]) == 1
    assert "only a run trained in imagination" in capsys.readouterr().err
