"""HALO-WA: the objective against hand-computed values, every ablation variant, the BC target."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from tests.conftest import SMALL_TASK
from warl.core.errors import ConfigError
from warl.core.training.learners.td3_losses import (
    actor_loss,
    chunk_td_target,
    critic_loss,
    polyak,
    smoothed_target_action,
)
from warl.plugins.algorithms.halo_wa.algorithm import executed_or_reference, reference_weights
from warl.plugins.algorithms.halo_wa.config import CPU_PRESET, make_config
from warl.plugins.algorithms.halo_wa.networks import FUSIONS

C, A = 4, 4


def test_chunk_td_target_matches_hand_computation():
    reward = torch.tensor([0.0, 1.0, 0.0])
    done = torch.tensor([0.0, 1.0, 0.0])
    q1 = torch.tensor([0.5, 0.9, 0.2])
    q2 = torch.tensor([0.4, 0.8, 0.3])
    y = chunk_td_target(reward, done, q1, q2, gamma=0.9, chunk=3)
    # y = R + 0.9^3 * min(Q1', Q2') * (1 - done)
    expected = torch.tensor([0.729 * 0.4, 1.0, 0.729 * 0.2])
    assert torch.allclose(y, expected)


def test_sparse_target_is_clamped_to_the_largest_return():
    reward = torch.tensor([1.0, 0.0, 0.0])
    done = torch.tensor([0.0, 0.0, 0.0])
    q = torch.tensor([0.5, 3.0, -2.0])
    y = chunk_td_target(reward, done, q, q, gamma=1.0, chunk=12, max_return=1.0)
    assert y.tolist() == [1.0, 1.0, 0.0]  # 1.5 -> 1, 3 -> 1, -2 -> 0
    unclamped = chunk_td_target(reward, done, q, q, gamma=1.0, chunk=12)
    assert unclamped.tolist() == [1.5, 3.0, -2.0]


def test_critic_loss_sums_both_heads():
    q1, q2, y = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), torch.tensor([0.5, 1.0])
    # ((0.5^2 + 0.5^2) + (1^2 + 1^2)) / 2
    assert critic_loss(q1, q2, y).item() == pytest.approx(1.25)


def test_actor_loss_is_minus_q_plus_lambda_bc():
    q1 = torch.tensor([0.2, 0.4])
    action = torch.zeros(2, 3, 2)
    reference = torch.full((2, 3, 2), 0.5)
    loss, bc = actor_loss(q1, action, reference, bc_coef=50.0)
    assert bc.item() == pytest.approx(0.25)  # mean squared element error
    assert loss.item() == pytest.approx(-0.3 + 50.0 * 0.25)


def test_target_smoothing_noise_is_clipped_and_actions_bounded():
    action = torch.full((1000, 2), 0.9)
    smoothed = smoothed_target_action(action, noise_std=10.0, noise_clip=0.5,
                                      generator=torch.Generator().manual_seed(0))
    assert smoothed.max() <= 1.0 and smoothed.min() >= 0.4 - 1e-6


def test_polyak_moves_targets_by_tau():
    source, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        source.weight.fill_(1.0)
        target.weight.fill_(0.0)
    polyak(target, source, 0.1)
    assert torch.allclose(target.weight, torch.full_like(target.weight, 0.1))


def test_presets_and_bad_settings():
    assert make_config({"preset": "paper"}).hidden == 512
    cpu = make_config({"preset": "cpu"})
    assert cpu.hidden == CPU_PRESET["hidden"] and cpu.bc_coef == 50.0 and cpu.utd == 5
    assert make_config({"preset": "cpu", "hidden": 32, "heads": 2}).hidden == 32
    for bad, word in (({"fusion": "mlp"}, "fusion"), ({"latent_source": "x"}, "latent_source"),
                      ({"hiden": 3}, "hiden"), ({"preset": "gpu"}, "preset"),
                      ({"hidden": 30, "heads": 4}, "divisible")):
        with pytest.raises(ConfigError, match=word):
            make_config(bad)


def _batch(model, algorithm, size: int = 8) -> TensorDict:
    """A replay batch in the layout the loop stores, built from real WA outputs."""
    from warl.core.world_model import synthetic_observations

    obs = synthetic_observations(model, (size,))
    wa = model.infer(obs, "")
    policy = algorithm.make_policy()
    rows = [policy.features({k: v[i] for k, v in obs.items()}, wa.index(i))
            for i in range(size)]
    state = {k: torch.as_tensor(np.stack([r[k] for r in rows])) for k in rows[0]}
    chunk = algorithm.chunk
    return TensorDict({
        "obs": state, "next": {k: v.flip(0) for k, v in state.items()},
        "action": torch.rand(size, chunk, model.action_dim) * 2 - 1,
        "reward": torch.zeros(size), "done": torch.zeros(size, dtype=torch.bool),
        "steps": torch.full((size,), chunk), "intervened": torch.zeros(size, chunk, dtype=bool),
        "success": torch.zeros(size, dtype=torch.bool),
    }, batch_size=[size])


def _halo(model, **settings):
    import warl

    env = warl.make(SMALL_TASK)
    base = {"preset": "cpu", "hidden": 32, "heads": 2, "actor_decoder": [32],
            "q_head": [32], "chunk": C}
    return warl.make("halo-wa", env, wa_model=model, **{**base, **settings})


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("latent_source", ["latents", "intermediate", "none"])
def test_every_ablation_acts_and_updates(small_wa, fusion, latent_source):
    algo = _halo(small_wa, fusion=fusion, latent_source=latent_source)
    batch = _batch(small_wa, algo)
    assert ("memory" in batch["obs"]) == (latent_source != "none")
    before = [p.detach().clone() for p in algo.learner.critic.parameters()]
    for _ in range(2):  # the second update also steps the actor (critic:actor 2:1)
        metrics = algo.update(batch)
    assert {"critic_loss", "actor_loss", "bc", "q"} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())
    critic = algo.learner.critic.parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, critic, strict=True))
    from warl.core.world_model import synthetic_observations

    raw = synthetic_observations(small_wa, (1,))
    chunk = algo.act({k: v[0] for k, v in raw.items()}, small_wa.infer(raw, ""))
    assert chunk.shape == (C, small_wa.action_dim) and np.all(np.abs(chunk) <= 1)


def test_raw_image_source_encodes_the_camera():
    from warl.plugins.algorithms.halo_wa.networks import HaloActor, HaloCritic

    image = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    state, ref = torch.randn(3, 5), torch.rand(3, C, A)
    actor = HaloActor(5, A, C, None, hidden=32, heads=2, decoder=(32,), image_size=64)
    critic = HaloCritic(5, A, C, None, hidden=32, heads=2, q_head=(32,), image_size=64)
    action = actor(state, ref, image)
    assert action.shape == (3, C, A)
    q1, q2 = critic(state, ref, image, action)
    assert q1.shape == q2.shape == (3,)
    q1.sum().backward()
    assert critic.memory.image is not None
    assert critic.memory.image.net[0].weight.grad is not None  # trained end to end


def test_raw_image_source_needs_a_camera(small_wa):
    from warl.core.errors import ContractError

    with pytest.raises(ContractError, match="raw_image"):
        _halo(small_wa, latent_source="raw_image")


def test_bc_target_is_executed_for_successes_and_interventions(small_wa):
    algo = _halo(small_wa)
    batch = _batch(small_wa, algo, size=3)
    batch["success"] = torch.tensor([True, False, False])
    batch["intervened"][1, 1] = True
    batch["steps"] = torch.tensor([2, C, C])  # episode 0 ended after 2 of C actions
    target = executed_or_reference(batch, algo.chunk)
    executed, reference = batch["action"], batch["obs", "reference"]
    assert torch.equal(target[0, :2], executed[0, :2])  # successful trajectory
    assert torch.equal(target[0, 2:], reference[0, 2:])  # never executed
    assert torch.equal(target[1, 1], executed[1, 1])  # the intervention
    assert torch.equal(target[1, 0], reference[1, 0])
    assert torch.equal(target[2], reference[2])  # a failure: the WA reference
    assert reference_weights(algo.chunk, 1.0) is None  # the paper's rule: all weigh 1
    weights = reference_weights(algo.chunk, 0.25)(batch)  # type: ignore[misc]
    assert weights[0, :2].tolist() == [1.0, 1.0] and weights[0, 2:].eq(0.25).all()
    assert weights[1].tolist() == [0.25, 1.0, 0.25, 0.25] and weights[2].eq(0.25).all()


def test_reference_weight_zero_leaves_failures_to_the_critic():
    """Failed, uncorrected actions add nothing to the BC term at reference_weight 0."""
    action, reference = torch.zeros(2, C, A), torch.ones(2, C, A)
    weight = torch.tensor([[1.0] * C, [0.0] * C])  # row 0 succeeded, row 1 failed
    _, bc = actor_loss(torch.zeros(2), action, reference, 50.0, weight)
    assert bc.item() == pytest.approx(0.5)  # half the elements, each error 1
    with pytest.raises(ConfigError, match="reference_weight"):
        make_config({"reference_weight": -1})


def test_state_dict_round_trip_and_refusal(small_wa):
    algo = _halo(small_wa)
    batch = _batch(small_wa, algo)
    algo.update(batch)
    algo.update(batch)
    twin = _halo(small_wa)
    twin.load_state_dict(algo.state_dict())
    torch.manual_seed(1)
    a = algo.update(batch)
    torch.manual_seed(1)
    b = twin.update(batch)
    assert a == b
    with pytest.raises(ConfigError, match="other settings"):
        _halo(small_wa, bc_coef=1.0).load_state_dict(algo.state_dict())


def test_gamma_unit_reads_equation_5_per_step_or_per_chunk(small_wa):
    """``gamma_unit=step`` bootstraps with gamma^C, ``chunk`` with gamma, on the same batch."""
    targets, batch = {}, None
    for unit in ("step", "chunk"):
        algorithm = _halo(small_wa, gamma=0.82, gamma_unit=unit, clamp_target=False, seed=0)
        batch = _batch(small_wa, algorithm) if batch is None else batch  # one batch for both
        _, _, targets[unit] = algorithm.learner.td(batch)
    # Rewards are zero: the targets are the discounted bootstrap, differing by 0.82^(C-1).
    assert torch.allclose(targets["step"], targets["chunk"] * 0.82 ** (C - 1), atol=1e-6)
    with pytest.raises(ConfigError, match="gamma_unit"):
        make_config({"gamma_unit": "chunks"})


def test_exploration_shape_draws_per_action_or_holds_one_draw_per_chunk():
    from warl.plugins.algorithms.halo_wa.policy import ActorPolicy

    class Zero(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, state, reference, memory):
            return reference * self.w

    fields = {"state": np.zeros(3, np.float32), "reference": np.zeros((C, A), np.float32)}
    chunks = {}
    for shape in ("action", "chunk"):
        policy = ActorPolicy(Zero(), C, "none", 0.1, 0, None, "halo-wa", shape)
        chunks[shape] = policy.act_on(fields, explore=True)
        assert not np.allclose(chunks[shape], 0.0)
        assert np.allclose(policy.act_on(fields, explore=False), 0.0)  # evaluation: no noise
    assert np.allclose(chunks["chunk"], chunks["chunk"][0])  # one draw over the C actions
    assert not np.allclose(chunks["action"], chunks["action"][0])
    with pytest.raises(ConfigError, match="exploration_shape"):
        make_config({"exploration_shape": "step"})
