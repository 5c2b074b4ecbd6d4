"""Reward plugins: the contract over every registered one, and each on hand-made frames."""

from __future__ import annotations

import numpy as np
import pytest

import warl
from tests.conftest import passed_checks
from warl.core.errors import ConfigError, ContractError
from warl.core.registry import create_registry

REWARD_IDS = [s.id for s in create_registry().specs("reward")]


@pytest.mark.parametrize("reward_id", REWARD_IDS)
def test_every_reward_passes_warl_check(reward_id):
    passed, report = passed_checks(reward_id)
    if "needs-weights" in create_registry().get(reward_id).tags:  # checked with weights below
        assert "--set weights=PATH" in next(r.message for r in report.results if r.name == "make")
    else:
        assert {"make", "interface", "scores"} <= passed


def square_video(direction: int, color: int = 250, t: int = 5) -> np.ndarray:
    """(1, t, 48, 48, 3): a textured square moving ``direction`` pixels per frame."""
    frames = np.full((t, 48, 48, 3), 40, np.uint8)
    texture = (np.indices((12, 12)).sum(0) % 4 * 40).astype(np.uint8)[..., None]
    for i in range(t):
        x = 18 + direction * i
        frames[i, 18:30, x:x + 12] = np.clip(color - texture, 0, 255)
    return frames[None]


def test_sparse_success_reads_the_env_infos():
    reward = warl.make("warl/sparse-success", kind="reward")
    assert reward.reward({}, [{"success": True}, {}, {"success": False}]).tolist() == [1, 0, 0]
    with pytest.raises(ContractError, match="pass the step infos"):
        reward.reward({})


def test_pixel_mse_is_exact_and_zero_on_identical_futures():
    reward = warl.make("warl/pixel-mse", kind="reward")
    a = np.full((2, 3, 8, 8, 3), 100, np.uint8)
    assert reward.similarity(a, a).tolist() == [0.0, 0.0]
    assert np.allclose(reward.similarity(a, a + 51), -(0.2**2))


def test_flow_compares_motion_not_appearance():
    flow = warl.make("warl/flow-mse", kind="reward")
    pixels = warl.make("warl/pixel-mse", kind="reward")
    executed = square_video(+2)
    recoloured = square_video(+2, color=150)  # same motion, other colour
    reversed_ = square_video(-2)  # same look, the other way
    # The recoloured square differs in every pixel it covers, yet moves as the executed one:
    # flow calls it close, ten times closer than the square that moves the other way.
    assert pixels.similarity(recoloured, executed) < 0
    assert flow.similarity(recoloured, executed) > 10 * flow.similarity(reversed_, executed)
    with pytest.raises(ContractError, match="T >= 2"):
        flow.similarity(executed[:, :1], executed[:, :1])


@pytest.fixture(scope="module")
def feature_weights(tmp_path_factory):
    """Tiny DINOv2 and V-JEPA2 models written as save_pretrained folders: the real loading
    code reads them exactly as it would read downloaded weights."""
    import torch
    from transformers import Dinov2Config, Dinov2Model, VJEPA2Config, VJEPA2Model

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("weights")
    Dinov2Model(Dinov2Config(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=2, intermediate_size=64)
                ).save_pretrained(root / "dinov2")
    VJEPA2Model(VJEPA2Config(crop_size=32, patch_size=16, frames_per_clip=4, tubelet_size=2,
                             hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                             pred_hidden_size=32, pred_num_hidden_layers=1,
                             pred_num_attention_heads=2)).save_pretrained(root / "vjepa2")
    return root


@pytest.mark.parametrize("reward_id", ["warl/dinov2", "warl/vjepa2"])
def test_feature_similarities_load_local_weights_and_pass_the_contract(reward_id,
                                                                       feature_weights):
    from warl.core.check import check_plugin

    folder = feature_weights / reward_id.split("/")[1]
    report = check_plugin(reward_id, settings={"weights": str(folder)})
    assert report.ok and all(r.status == "pass" for r in report.results
                             if r.name in ("make", "scores", "refuses_bad_input"))
    reward = warl.make(reward_id, kind="reward", weights=str(folder))
    executed = square_video(+2)
    assert reward.similarity(executed, executed)[0] == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= reward.similarity(square_video(-2), executed)[0] <= 1.0
    with pytest.raises(ConfigError, match=r"config\.json does not exist"):
        warl.make(reward_id, kind="reward", weights=str(feature_weights / "missing"))
    with pytest.raises(ConfigError, match="needs weights="):
        warl.make(reward_id, kind="reward")


def test_the_success_classifier_learns_a_small_labelled_set():
    from warl.plugins.rewards.success_classifier.config import make_config
    from warl.plugins.rewards.success_classifier.model import SuccessClassifier
    from warl.plugins.rewards.success_classifier.train import fit, report

    # Scenes with a gripper-like block; a success is the block on the green target.
    rng = np.random.default_rng(0)

    def scenes(n):
        frames = np.full((n, 64, 64, 3), 60, np.uint8)
        frames[:, 40:50, 40:50] = (40, 180, 40)  # the target
        labels = rng.random(n) < 0.3
        for i in range(n):
            x, y = (42, 42) if labels[i] else rng.integers(4, 30, 2)
            frames[i, y:y + 6, x:x + 6] = (220, 220, 220)
        noisy = frames + rng.normal(0, 6, frames.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8), labels.astype(np.float32)

    classifier = SuccessClassifier(make_config({"steps": 300, "batch_size": 32}), "test/env")
    frames, labels = scenes(240)
    fit(classifier, frames, labels, show_progress=False)
    held = report(classifier, *scenes(120))
    assert held["positives"] > 20
    assert held["accuracy"] >= 0.95 and held["precision"] >= 0.9 and held["recall"] >= 0.9
    rewards = classifier.reward({"rgb_corner": frames[:8]})
    assert set(np.unique(rewards)) <= {0.0, 1.0}


def test_rollouts_held_past_the_first_success_label_every_held_frame(warl_cache):
    from warl.core.rollout.recorded import Episodes, RolloutSpec, record_rollouts
    from warl.plugins.rewards.success_classifier.train import labelled_frames

    spec = RolloutSpec(policy="expert", action_noise=0.0, episodes=1, hold=6)
    episodes = Episodes(record_rollouts("metaworld/reach", spec, show_progress=False),
                        spec.camera)
    after = episodes.step_success[0]
    first = int(np.argmax(after))
    assert episodes.success[0] and len(after) == first + 1 + 6  # 6 steps past the success
    frames, labels = labelled_frames(episodes, [0])
    assert len(frames) == len(after) + 1 and labels.sum() == after.sum() > 1
    with pytest.raises(ConfigError, match="hold must be >= 0"):
        RolloutSpec(hold=-1)


def test_train_reward_reports_held_out_frames(capsys):
    import json

    from warl.core.cli import main
    from warl.plugins.rewards.success_classifier.config import ClassifierConfig

    argv = ["train-reward", "metaworld/reach", "--set", "policy=expert", "--set", "episodes=6",
            "--set", "steps=60", "--set", "validation=0.34", "--quiet", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rollouts"] == 6 and report["held_out_episodes"] == 2
    held, successes = report["held_out"], report["successful_rollouts"]
    positives = held["positives"] + report["train"]["positives"]
    # Each success is held `hold` steps: up to hold + 1 success frames per episode.
    per_episode = ClassifierConfig.hold + 1
    assert held["frames"] > 0 and successes < positives <= per_episode * successes
    assert main(["train-reward", "metaworld/reach", "--set", "treshold=0.4"]) == 1
    assert "did you mean 'threshold'" in capsys.readouterr().err


def test_auroc_is_the_chance_a_success_outscores_a_failure():
    from warl.core.reward_report import auroc, separation

    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0 and auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5, 0.5], [0.5]) == 0.5 and auroc([], [0.1]) is None
    result = separation([0.9, 0.1, float("nan"), 0.7], [True, False, True, True])
    assert result["successes"] == 2 and result["failures"] == 1  # the NaN is left out
    assert result["difference"] == pytest.approx(0.7)


@pytest.mark.parametrize("reward_args", [
    ["--reward", "warl/success-classifier", "--set", "pretrained=false"],
    ["--reward", "warl/pixel-mse", "--wm-set", "pretrained=false", "--wm-set", "width=32",
     "--wm-set", "depth=1", "--wm-set", "heads=2", "--wm-set", "sampling_steps=2"],
])
def test_reward_report_scores_real_rollouts(reward_args, tmp_path, capsys):
    import json

    from warl.core.cli import main

    argv = ["reward-report", "metaworld/reach", "--policy", "expert", "--action-noise", "1.5",
            "--episodes", "4", "--out", str(tmp_path), "--quiet", *reward_args]
    assert main(argv) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["successes"] + report["failures"] == 4
    assert report["auroc"] is None or 0.0 <= report["auroc"] <= 1.0
    assert (tmp_path / "separation.png").stat().st_size > 0
    assert "successes" in capsys.readouterr().out
