"""`wam-rl`'s reward, its video-SFT data and its return, on hand-made batches; the refusals
that come before any work."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from warl.core.errors import ConfigError, ContractError
from warl.plugins.algorithms.wam_rl.algorithm import WAMRL, reward_to_go
from warl.plugins.algorithms.wam_rl.config import wam_rl_config

TASK = "metaworld/reach"
TINY = {"demos": 2, "autoencoder_steps": 100, "video_steps": 100, "action_steps": 50,
        "width": 32, "depth": 1, "heads": 2, "batch_size": 16}


@pytest.fixture(scope="module")
def wam():
    import warl

    torch.set_num_threads(1)
    return warl.make("warl/wam-small", env=TASK, show_progress=False, **TINY)


def hand_batch(model, frames: np.ndarray, states: np.ndarray, imagined: torch.Tensor,
               trajectory: list[int], success: list[bool]) -> TensorDict:
    """Decisions 0..T-1 whose next frames are the following rows' (the last row's is the
    extra frame at the end of ``frames``)."""
    t = len(trajectory)
    obs = {"frame": torch.as_tensor(frames[:t]), "state": torch.as_tensor(states[:t]),
           "imagined": imagined}
    nxt = {"frame": torch.as_tensor(frames[1:t + 1]), "state": torch.as_tensor(states[1:t + 1])}
    return TensorDict({"obs": obs, "next": nxt,
                       "trajectory": torch.tensor(trajectory),
                       "episode_success": torch.tensor(success)}, batch_size=[t])


def test_the_reward_is_highest_where_the_imagined_frame_is_the_executed_one(wam):
    algo = WAMRL(None, wam)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    states = rng.normal(size=(5, wam.state_dim)).astype(np.float32)
    with torch.no_grad():
        truth = wam.encode({"rgb_corner": frames[1:], "state": states[1:]})
        other = wam.encode({"rgb_corner": frames[[3, 0, 1, 2]], "state": states[1:]})
    # The first imagined frame (t + 8, the chunk's end) is compared; the second (t + 16) is
    # the other way round in each case, so comparing it would reverse the ranking.
    right = torch.stack([truth, other], dim=1)
    wrong = torch.stack([other, truth], dim=1)
    good = algo.reconstruction_reward(hand_batch(wam, frames, states, right, [0] * 4, [False] * 4))
    bad = algo.reconstruction_reward(hand_batch(wam, frames, states, wrong, [0] * 4, [False] * 4))
    assert good.shape == (4,) and bool((good > bad).all()) and bool((good <= 0).all())


def test_successful_trajectories_become_sft_pairs_one_decision_apart(wam):
    algo = WAMRL(None, wam, sft_capacity=100)
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    states = rng.normal(size=(6, wam.state_dim)).astype(np.float32)
    imagined = torch.zeros(5, wam.cfg.future, *wam.frame_shape)
    # Trajectory 0 (rows 0-1) failed; trajectory 1 (rows 2-4) succeeded.
    batch = hand_batch(wam, frames, states, imagined, [0, 0, 1, 1, 1], [False] * 2 + [True] * 3)
    assert algo.add_successes(batch) == 3
    with torch.no_grad():
        latents = wam.encode({"rgb_corner": frames[2:], "state": states[2:]})  # rows 2-4 + end
    for i, (current, future) in enumerate(algo.pairs):
        assert torch.allclose(current, latents[i], atol=1e-5)
        ahead = [min(i + j, 3) for j in (1, 2)]  # K = 2 frames, clamped at the episode's end
        assert torch.allclose(future, latents[ahead], atol=1e-5)
    before = {k: v.clone() for k, v in wam.dit.state_dict().items()}
    metrics = algo.video_sft()
    assert set(metrics) == {"video_loss", "kl"} and algo.sft_steps == algo.own.sft_steps
    assert any(not torch.equal(before[k], v) for k, v in wam.dit.state_dict().items())


def test_reward_to_go_stays_within_each_trajectory():
    reward = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0])
    trajectory = torch.tensor([0, 0, 0, 1, 1])
    assert torch.equal(reward_to_go(reward, trajectory, 0.0), reward)
    assert torch.allclose(reward_to_go(reward, trajectory, 0.5),
                          torch.tensor([1 + 1 + 1.0, 2 + 2.0, 4.0, 8 + 8.0, 16.0]))


def test_bad_settings_and_models_are_refused_before_any_work(wam, small_wa):
    with pytest.raises(ConfigError, match="kl_wieght"):
        wam_rl_config({"kl_wieght": 0.1})
    with pytest.raises(ConfigError, match=r"chunk \(12\) must be the WA model's frame stride"):
        WAMRL(None, wam, chunk=12)
    with pytest.raises(ContractError, match="--wa-model warl/wam-small"):
        WAMRL(None, small_wa)
    with pytest.raises(ConfigError, match="scores single frames"):
        WAMRL(None, wam, similarity="warl/sparse-success")


def test_the_per_dimension_ratio_is_the_geometric_mean_of_the_path_ratio(wam):
    import copy

    from warl.plugins.algorithms.wam_rl.config import learner_config
    from warl.plugins.algorithms.wam_rl.flow_sde import sde_sample, sigmas
    from warl.plugins.algorithms.wam_rl.learner import FlowPG
    from warl.plugins.algorithms.wam_rl.policy import FlowHead

    model = copy.deepcopy(wam)
    head = FlowHead(model, "test")
    sigma = sigmas(head.flow_steps, 0.3)
    b = 4
    latents = torch.randn(b, *model.latent_shape, generator=torch.Generator().manual_seed(0))
    state = torch.zeros(b, model.state_dim)
    with torch.no_grad():
        cond = head.condition(latents, state)
        x0 = torch.randn(b, head.horizon, head.action_dim)
        path = sde_sample(lambda x, t: head.action_head(x, t, cond), x0, sigma)
        log_prob = head.log_prob(latents, state, path, sigma)
    n = path[0, 1:].numel()
    # pi_old 0.1 nats per dimension below pi: path ratio e^(0.1 n), per dimension e^0.1.
    batch = TensorDict({"obs": {"latents": latents, "state": state},
                        "extras": {"path": path, "log_prob": log_prob - 0.1 * n},
                        "valid": torch.ones(b, dtype=torch.bool),
                        "trajectory": torch.arange(b)}, batch_size=[b])
    for ratio, expected in (("per_dim", math.exp(0.1)), ("path", None)):
        learner = FlowPG(FlowHead(copy.deepcopy(model), "test"),
                         learner_config({"epochs": 1, "ratio": ratio}, "test"), sigma)
        metrics = learner.update(batch.clone(), torch.ones(b))
        if expected is not None:
            assert metrics["ratio"] == pytest.approx(expected, rel=1e-3)
            assert metrics["clip_fraction"] == 0.0  # 1.105 is inside the 0.2 clip
        else:
            assert metrics["clip_fraction"] == 1.0  # e^(0.1 n) is far outside it


def test_a_saved_state_from_before_a_new_setting_still_loads():
    from warl.core.training.learners.chunk_td3 import same_config

    same_config({"lr": 1e-4}, {"lr": 1e-4, "ratio": "path"}, "pi-rl", {"ratio": "path"})
    with pytest.raises(ConfigError, match=r"'ratio': \(None, 'path'\)"):
        same_config({"lr": 1e-4}, {"lr": 1e-4, "ratio": "path"}, "pi-rl")
    with pytest.raises(ConfigError, match=r"'ratio': \('path', 'per_dim'\)"):
        same_config({"lr": 1e-4}, {"lr": 1e-4, "ratio": "per_dim"}, "pi-rl", {"ratio": "path"})
