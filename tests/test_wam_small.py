"""`warl/wam-small` and WAM-RL's parts: the joint model (its actor reads the video generator),
video SFT with the latent KL, and the Flow-SDE policy's likelihood, against hand-computed
values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from warl.core.errors import ConfigError, IncompatibleModelError
from warl.core.world_model import WorldActionModel, synthetic_observations
from warl.plugins.algorithms.wam_rl.flow_sde import sde_log_prob, sde_sample, sigmas
from warl.plugins.algorithms.wam_rl.kl import LatentKL, diagonal_gaussian_kl
from warl.plugins.algorithms.wam_rl.sft import VideoSFT
from warl.plugins.world_models.wam_small.config import WAMSmallConfig
from warl.plugins.world_models.wam_small.model import IMAGINED_FEATURE
from warl.plugins.world_models.wam_small.video import instruction_buckets

TASK = "metaworld/reach"
TINY = {"demos": 2, "autoencoder_steps": 100, "video_steps": 100, "action_steps": 50,
        "width": 32, "depth": 1, "heads": 2, "batch_size": 16}


@pytest.fixture(scope="module")
def wam():
    """A tiny joint model pretrained on two scripted demos (through the cache, as users get
    it)."""
    import warl

    torch.set_num_threads(1)
    return warl.make("warl/wam-small", env=TASK, show_progress=False, **TINY)


def fixed_inputs(model, b=4):
    obs = synthetic_observations(model, (b,), seed=3)
    noise = torch.randn((b, model.horizon, model.action_dim),
                        generator=torch.Generator().manual_seed(5))
    return obs, noise


def test_it_is_a_world_action_model_with_the_video_features_as_latents(wam):
    assert isinstance(wam, WorldActionModel)
    assert wam.instruction  # the demonstrations' task instruction
    obs, noise = fixed_inputs(wam)
    out = wam.infer(obs, noise=noise)
    n = wam.codec.tokens
    assert out.ref_actions.shape == (4, 16, 4) and out.ref_actions.abs().max() <= 1.0
    assert out.latents.shape == (4, 3 * n, 32) == (4, *wam.latent_shape)
    assert out.features[IMAGINED_FEATURE].shape == (4, 2, n, wam.cfg.token_dim)
    # The same input and noise give the same chunk: the video sampler starts from zero noise.
    assert torch.equal(wam.infer(obs, noise=noise).ref_actions, out.ref_actions)
    # Other algorithms fine-tune a copy of its head on these features (HG-DAgger, PLD).
    head = wam.action_head_copy()
    assert head.sample(out.latents, torch.as_tensor(obs["state"])).shape == (4, 16, 4)
    assert not any(p.requires_grad for p in wam.parameters())


def test_pretraining_beat_copying_the_current_frame_and_is_cached(wam):
    import warl

    losses = wam.metrics["final_losses"]
    assert losses["imagine_mse"] < losses["copy_mse"], losses
    again = warl.make("warl/wam-small", env=TASK, show_progress=False, **TINY)
    assert again.checkpoint_path == wam.checkpoint_path and again.instruction == wam.instruction
    obs, noise = fixed_inputs(wam)
    assert torch.equal(again.infer(obs, noise=noise).ref_actions,
                       wam.infer(obs, noise=noise).ref_actions)


def test_a_checkpoint_of_another_env_or_config_is_refused(wam):
    from warl.plugins.world_models.wam_small.factory import from_checkpoint

    with pytest.raises(IncompatibleModelError, match="trained for env 'metaworld/reach'"):
        from_checkpoint(wam.checkpoint_path, "metaworld/hammer", {})
    with pytest.raises(IncompatibleModelError, match="width: checkpoint 32 vs requested 64"):
        from_checkpoint(wam.checkpoint_path, TASK, {"width": 64})


def test_bad_settings_are_one_clear_error():
    from warl.plugins.world_models.wam_small.config import check_settings

    with pytest.raises(ConfigError, match="widht"):
        check_settings({"widht": 32})
    with pytest.raises(ConfigError, match=r"future \(3\) must divide horizon \(16\)"):
        WAMSmallConfig(future=3)
    with pytest.raises(ConfigError, match="feature_block must name one of the 2 blocks"):
        WAMSmallConfig(feature_block=2)


def test_instructions_hash_stably_into_buckets():
    assert instruction_buckets("Reach the goal", 64) == instruction_buckets("reach  the GOAL", 64)
    assert instruction_buckets("", 64) == [0]
    assert all(1 <= b < 64 for b in instruction_buckets("press the button", 64))


def sft_batch(model, b=8):
    obs = synthetic_observations(model, (b * 2,), seed=7)
    with torch.no_grad():
        latents = model.encode(obs)
    current, future = latents[:b], latents[b:].view(b, 1, *latents.shape[1:]).expand(
        -1, model.cfg.future, -1, -1).contiguous()
    return current, future, [model.instruction] * b


def test_one_video_sft_step_moves_the_actor_and_lowers_the_video_loss(wam):
    import copy

    model = copy.deepcopy(wam)
    current, future, instructions = sft_batch(model)
    obs, noise = fixed_inputs(model)

    def video_loss() -> float:
        with torch.no_grad():
            return float(model.video_loss(current, future, instructions,
                                          torch.Generator().manual_seed(11)))

    before_actions, before_loss = model.infer(obs, noise=noise).ref_actions, video_loss()
    sft = VideoSFT(model, lr=1e-3, kl_weight=0.1, ema_decay=0.99)
    metrics = sft.step(current, future, instructions, torch.Generator().manual_seed(11))
    assert metrics["kl"] == pytest.approx(0.0, abs=1e-6)  # same weights as the frozen copy
    after_actions = model.infer(obs, noise=noise).ref_actions
    assert video_loss() < before_loss
    # Only the generator was trained, yet the actor's chunk on the same input and noise moved.
    assert (after_actions - before_actions).abs().max() > 1e-4
    assert torch.equal(model.action_head.velocity.inp.weight, wam.action_head.velocity.inp.weight)
    # A second step now pays a KL for the features that moved away from the frozen copy.
    assert sft.step(current, future, instructions)["kl"] > 0.0


def test_diagonal_gaussian_kl_is_the_closed_form():
    g = torch.Generator().manual_seed(0)
    mp, mq = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    vp, vq = torch.rand(5, 3, generator=g) + 0.1, torch.rand(5, 3, generator=g) + 0.1
    p = torch.distributions.Independent(torch.distributions.Normal(mp, vp.sqrt()), 1)
    q = torch.distributions.Independent(torch.distributions.Normal(mq, vq.sqrt()), 1)
    assert torch.allclose(diagonal_gaussian_kl(mp, vp, mq, vq),
                          torch.distributions.kl_divergence(p, q), atol=1e-6)
    # One dimension by hand: N(1, 1) || N(0, 4) = 1/2 (log 4 + (1 + 1) / 4 - 1).
    one = diagonal_gaussian_kl(torch.ones(1), torch.ones(1), torch.zeros(1), torch.full((1,), 4.))
    assert float(one) == pytest.approx(0.5 * (math.log(4) + 0.5 - 1))


def test_latent_kl_fixes_the_old_covariance_and_tracks_the_current_by_ema():
    z_old = torch.tensor([[[0.0, 0.0], [2.0, 4.0]]])  # (B=1, L=2, D=2): variances 1 and 4
    z = z_old + 1.0  # same spread, shifted by 1 in every dimension
    kl = LatentKL(decay=0.5)
    value = kl(z, z_old)
    assert torch.allclose(kl.var_old, torch.tensor([1.0, 4.0]))
    # Same variances on both sides: KL = 1/2 sum_d 1 / var_old_d per token.
    assert float(value) == pytest.approx(0.5 * (1 / 1 + 1 / 4))
    kl(torch.zeros_like(z), z_old)  # a batch with no spread halves the EMA variance
    assert torch.allclose(kl.var, torch.tensor([0.5, 2.0]))
    assert torch.allclose(kl.var_old, torch.tensor([1.0, 4.0]))


def test_flow_sde_log_prob_is_the_sum_of_gaussian_transitions():
    steps, noise = 4, 0.4
    sigma = sigmas(steps, noise, "decreasing")
    assert torch.allclose(sigma, noise / 2 * torch.sqrt(1 - torch.arange(4) / 4))
    weight = torch.tensor([[0.5, -0.2], [0.1, 0.3]])

    def velocity(x, t):
        return x @ weight + t[:, None, None]

    x0 = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(1))
    path = sde_sample(velocity, x0, sigma, torch.Generator().manual_seed(2))
    assert path.shape == (3, steps + 1, 5, 2) and torch.equal(path[:, 0], x0)
    by_hand = torch.zeros(3)
    for k in range(steps):
        x = path[:, k]
        mean = x + (x @ weight + k / steps) / steps
        by_hand += torch.distributions.Normal(mean, sigma[k]).log_prob(path[:, k + 1]).sum((1, 2))
    assert torch.allclose(sde_log_prob(velocity, path, sigma), by_hand, atol=1e-4)


def test_flow_sde_without_velocity_is_a_random_walk_of_the_set_spread():
    steps, noise = 8, 0.3
    x0 = torch.zeros(20000, 1, 1)
    path = sde_sample(lambda x, t: torch.zeros_like(x), x0, sigmas(steps, noise),
                      torch.Generator().manual_seed(0))
    assert float(path[:, -1].std()) == pytest.approx(noise, rel=0.03)
    with pytest.raises(ValueError, match="does not fit 3 steps"):
        sde_log_prob(lambda x, t: x, path, sigmas(3, noise))
    assert np.isfinite(float(sde_log_prob(lambda x, t: torch.zeros_like(x), path,
                                          sigmas(steps, noise)).mean()))
