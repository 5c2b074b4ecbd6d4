"""`wovr`: KIR's keyframes, the discounted group return, batched imagination, and PACE (a refit
that changes the world model, is checkpointed, and survives SIGKILL in the middle)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import warl
from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.training.log import read_csv
from warl.plugins.algorithms.grpo.losses import discounted_returns
from warl.plugins.algorithms.wovr.kir import first_success, keyframes
from warl.plugins.envs.world_model.imagine import Imagination, Start

WM = {"width": 32, "depth": 1, "heads": 2, "sampling_steps": 2}


def test_kir_keyframes_on_hand_made_trajectories():
    # A succeeds after its 6th action (state 6); B fails, closest to that state (5) at step 3.
    a = np.arange(7, dtype=np.float32)[:, None]
    b = np.array([0, 2, 4, 5, 3, 1], np.float32)[:, None]
    success_a = np.array([0, 0, 0, 0, 0, 1], bool)
    success_b = np.zeros(5, bool)
    assert first_success(success_a) == 6 and first_success(success_b) is None
    # W = 2 chunks of C = 1: A's two steps before its success, B's near miss and two before.
    assert keyframes([a, b], [success_a, success_b], chunk=1, window=2) == \
        [(0, 4), (0, 5), (1, 1), (1, 2), (1, 3)]
    # Chunks of 2: four steps before; a window never reaches before the first step.
    assert keyframes([a, b], [success_a, success_b], chunk=2, window=2) == \
        [(0, 2), (0, 3), (0, 4), (0, 5), (1, 0), (1, 1), (1, 2), (1, 3)]
    # No success anywhere: nothing to measure a near miss against, so no keyframes.
    assert keyframes([b], [success_b], chunk=1, window=2) == []


def test_the_discounted_return_by_hand():
    # Two trajectories of chunks (4, 3 steps: success at step 7) and (4, 4, 2: step 10).
    reward = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0])
    steps = torch.tensor([4, 3, 4, 4, 2])
    trajectory = torch.tensor([0, 0, 1, 1, 1])
    returns = discounted_returns(reward, steps, trajectory, 0.9)
    assert torch.allclose(returns, torch.tensor([0.9 ** 6, 0.9 ** 9]))
    assert torch.equal(discounted_returns(reward, steps, trajectory, 1.0), torch.ones(2))


def test_batched_imagination_matches_one_episode_at_a_time():
    """Each slot has its own sampling generator and a context of the same length, so an
    episode imagined beside others is the one imagined alone."""
    env = warl.make("world-model/imagined", source="metaworld/reach", pretrained=False, wm=WM)
    model, scorer = env.model, env.scorer
    starts = [env.real_start(seed) for seed in range(3)]
    long = Start(np.repeat(starts[0].frames, 6, 0), np.repeat(starts[0].states, 6, 0))
    starts.append(long)  # a keyframe-like start, 5 steps into its episode
    rng = np.random.default_rng(0)
    chunks = [rng.uniform(-1, 1, (2, 8, 4)).astype(np.float32) for _ in starts]

    def imagine(indices: list[int]) -> list:
        batch = Imagination(model, scorer, env.state_box, env.action_box, 40, len(indices))
        for slot, i in enumerate(indices):
            batch.begin(slot, starts[i], seed=100 + i)
        out = []
        for k in range(2):
            out.append(batch.step(list(range(len(indices))), [chunks[i][k] for i in indices]))
        return out

    together = imagine([0, 1, 2, 3])
    for i in range(4):
        alone = imagine([i])
        for k in range(2):
            obs_a, rew_a, *_ = alone[k][0]
            obs_t, rew_t, *_ = together[k][i]
            assert np.array_equal(rew_a, rew_t)
            assert np.allclose(obs_a["state"], obs_t["state"], atol=1e-4)
            assert np.abs(obs_a["rgb_corner"].astype(int) - obs_t["rgb_corner"]).max() <= 1
    env.close()


SETTINGS = {"group_size": 2, "groups_per_update": 2, "epochs": 1, "pretrained": False,
            "pace_rounds": 1, "pace_rollouts": 3, "pace_dynamics_steps": 20,
            "pace_reward_steps": 10, "max_imagined_steps": 40, "wm": WM}
TRAIN = {"imagined_steps": 800, "env_steps": 800, "minutes": 0, "baseline": False,
         "eval_trials": 0, "final_trials": 2, "videos": 0, "asynchronous": False,
         "torch_threads": 1, "checkpoint_every": 10**9}


def _args(run: Path) -> list[str]:
    sets = [f"--set={k}={json.dumps(v)}" for k, v in SETTINGS.items()]
    sets += [f"--set=train.{k}={json.dumps(v)}" for k, v in TRAIN.items()]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]
    return ["train", "wovr", "--env", SMALL_TASK, "--gap", "none", "--out", str(run), "--quiet",
            *sets]


def _cli(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "warl.core.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _record(run: Path) -> tuple[list[dict], list[dict], dict]:
    timing = ("wall_s", "updates_per_s")
    rows = [{k: v for k, v in r.items() if k not in timing} for r in read_csv(run / "train.csv")]
    pace = read_csv(run / "pace.csv")
    finals = {p.name: json.loads(p.read_text())["per_trial"] for p in run.glob("final*.json")}
    return rows, pace, finals


def test_pace_refits_the_world_model_and_resumes_after_sigkill_in_the_middle(small_wa,
                                                                              tmp_path):
    reference = tmp_path / "reference"
    done = _cli(_args(reference))
    assert done.wait(timeout=600) == 0, done.stderr.read() if done.stderr else ""
    rows, pace, _ = _record(reference)
    # The refit moved the world model: its error on the held-out new windows changed.
    assert len(pace) == 1 and float(pace[0]["val_mse_before"]) != float(pace[0]["val_mse_after"])
    budget = read_csv(reference / "wovr_budget.csv")
    assert [int(r["pace"]) for r in budget] == [0, 3]
    real = [r for r in rows if "imagined_steps" not in r or not r["imagined_steps"]]
    assert int(rows[-1]["env_steps"]) > 0 and len(real) >= 3  # PACE's episodes are real
    # The checkpoint holds the refit world model, not the one it started from.
    saved = torch.load(reference / "checkpoint" / "algorithm.pt", weights_only=True)
    fresh = warl.make("warl/video-wm", kind="world_model", env=SMALL_TASK, pretrained=False,
                      **WM).state_dict()
    assert any(not torch.equal(saved["world_model"][k], fresh[k]) for k in fresh
               if k.startswith("dit."))
    # The trained policy evaluates in the real env from the run folder.
    evaluated = _cli(["eval", "--run", str(reference), "--trials", "1", "--quiet",
                      "--out", str(tmp_path / "eval")])
    assert evaluated.wait(timeout=300) == 0, evaluated.stderr.read() if evaluated.stderr else ""

    run = tmp_path / "killed"
    proc = _cli(_args(run))
    partial = run / "pace" / "round_1.h5.partial"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not partial.exists():
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert "imagine-0" in state["stages_done"] and "pace-1" not in state["stages_done"]
    resumed = _cli(["train", "--resume", str(run), "--quiet"])
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert _record(run) == _record(reference)


@pytest.mark.parametrize("bad", [{"kir_share": 1.5}, {"pace_roundz": 1}, {"wm": 3}])
def test_bad_settings_are_one_clear_error(bad):
    from warl.core.errors import ConfigError
    from warl.plugins.algorithms.wovr.config import check_settings

    with pytest.raises(ConfigError, match="wovr"):
        check_settings(bad)


def test_the_classifier_refit_also_learns_the_world_models_reconstructions(warl_cache):
    """`reward_on_reconstructions`: each labelled frame is learned twice, as recorded and as
    decode(encode(o)), with the same label; the report covers both domains."""
    from warl.core.rollout.recorded import Episodes, RolloutSpec, record_rollouts
    from warl.plugins.algorithms.wovr.pace import refit_classifier
    from warl.plugins.rewards.success_classifier.config import make_config
    from warl.plugins.rewards.success_classifier.model import SuccessClassifier
    from warl.plugins.world_models.video_wm.pretrain import reconstruct_frames

    spec = RolloutSpec(policy="expert", action_noise=0.0, episodes=3, hold=4)
    path = record_rollouts("metaworld/reach", spec, show_progress=False)
    model = warl.make("warl/video-wm", kind="world_model", env="metaworld/reach",
                      pretrained=False, **WM)
    episodes = Episodes(path, spec.camera)
    frames = reconstruct_frames(model, episodes.frames[0], episodes.states[0])
    assert frames.shape == episodes.frames[0].shape and frames.dtype == np.uint8
    assert not np.array_equal(frames, episodes.frames[0])  # the codec's domain, not the camera's
    classifier = SuccessClassifier(make_config({"batch_size": 8}), "metaworld/reach")
    before = {k: v.clone() for k, v in classifier.net.state_dict().items()}
    report = refit_classifier(classifier, [path], 3, 0, False, world_model=model)
    assert {"reward_accuracy_before", "reward_recon_accuracy_after",
            "reward_recon_recall_after"} <= set(report)
    assert any(not torch.equal(before[k], v) for k, v in classifier.net.state_dict().items())
    # Without a world model it learns the recorded frames only.
    assert not any("recon" in k for k in refit_classifier(classifier, [path], 1, 0, False))
