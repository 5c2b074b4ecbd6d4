"""The baselines: RL-token, Probe-Learn-Distill and HG-DAgger.

For each: its losses against hand-computed values, a save/load round trip that gives an
identical next update, and a CI-sized run through the shared loop that asserts its learning
signal (the critic's TD error falls for the off-policy methods, the BC loss falls for
HG-DAgger and for PLD's distillation).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.assemble import assemble
from warl.core.errors import ConfigError
from warl.core.registry import default_registry
from warl.core.training.config import make_train_config
from warl.core.training.log import column, read_csv
from warl.core.training.runner import fill_demos, train
from warl.core.training.session import Session

QUICK = {"minutes": 0, "demos": 4, "baseline": False, "eval_trials": 0, "final_trials": 2,
         "videos": 0, "asynchronous": False}
RL_TOKEN = {"preset": "cpu", "hidden": 32, "token_dim": 16, "token_heads": 2,
            "token_steps": 200, "token_lr": 1e-3, "batch_size": 32, "utd": 1, "learning_starts": 32,
            "bc_warmup_steps": 20}
PLD = {"preset": "cpu", "hidden": 32, "batch_size": 32, "utd": 1, "learning_starts": 32,
       "max_base_chunks": 4, "distill_episodes": 3, "distill_steps": 60}
HG_DAGGER = {"episodes_per_round": 2, "updates_per_round": 30, "batch_size": 32,
             "bc_warmup_steps": 20, "lr": 1e-3, "gate_threshold": 0.3}


def _setup(algo: str, **settings):
    return assemble(default_registry(), algo, SMALL_TASK, algo_settings=settings,
                    wa_settings=SMALL_WA, show_progress=False)


def _run(algo: str, settings: dict, tmp_path, **train_settings):
    config = make_train_config({**QUICK, **train_settings})
    return train(_setup(algo, **settings), config, tmp_path, default_registry(),
                 show_progress=False)


def _trainer(algo: str, settings: dict, run, **train_settings) -> Session:
    from warl.core.training.log import RunLog

    run.mkdir(parents=True, exist_ok=True)
    config = make_train_config({**QUICK, **train_settings})
    trainer = Session(_setup(algo, **settings), config, run, default_registry(),
                      show_progress=False)
    trainer.log = RunLog(run)
    return trainer


def _falls(values: list[float], window: int = 10) -> tuple[float, float]:
    finite = [v for v in values if np.isfinite(v)]
    assert len(finite) >= 2 * window, finite
    return float(np.mean(finite[:window])), float(np.mean(finite[-window:]))


# --- hand-computed losses ------------------------------------------------------------------
def test_masked_flow_loss_by_hand():
    from warl.plugins.world_models.wa_small.head import masked_flow_loss

    actions = torch.tensor([[[1.0, 0.0], [0.5, 0.5]]])  # (B=1, H=2, A=2)
    noise = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    t = torch.tensor([0.5])
    zero = lambda x, s: torch.zeros_like(x)  # noqa: E731
    # error per position = mean over A of (actions - noise)^2: [0.5, 0.25]
    both = masked_flow_loss(zero, actions, torch.tensor([[True, True]]), noise, t)
    first = masked_flow_loss(zero, actions, torch.tensor([[True, False]]), noise, t)
    assert both.item() == pytest.approx(0.375) and first.item() == pytest.approx(0.5)
    # The velocity sees x_t = (1 - t) noise + t actions.
    seen = {}
    masked_flow_loss(lambda x, s: seen.setdefault("x", x), actions,
                     torch.tensor([[True, True]]), noise, t)
    assert torch.allclose(seen["x"], torch.tensor([[[0.5, 0.0], [0.75, 0.75]]]))


def _batch(**fields) -> TensorDict:
    return TensorDict(fields, batch_size=[len(fields["steps"])])


def test_bc_batch_and_expert_labels_by_hand():
    from warl.plugins.algorithms.hg_dagger.algorithm import expert_labels
    from warl.plugins.algorithms.wa_head.policy import bc_batch

    batch = _batch(
        action=torch.tensor([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0]]]),
        steps=torch.tensor([3, 2]),
        intervened=torch.tensor([[False, True, True], [False, False, False]]),
        demo=torch.tensor([False, True]),
        obs=TensorDict({"tail": torch.tensor([[[9.0]], [[8.0]]]),
                        "latents": torch.zeros(2, 1, 1), "state": torch.zeros(2, 1)},
                       batch_size=[2]))
    labels = expert_labels(batch)
    assert labels.tolist() == [[False, True, True], [True, True, True]]
    _, _, target, mask = bc_batch(batch, labels)
    assert target[:, :, 0].tolist() == [[1, 2, 3, 9], [4, 5, 6, 8]]
    # the second chunk stopped after 2 actions; tails are never targets
    assert mask.tolist() == [[False, True, True, False], [True, True, False, False]]


def test_token_reconstruction_and_bounded_residual_by_hand():
    from warl.plugins.algorithms.pld.networks import bounded_residual
    from warl.plugins.algorithms.rl_token.networks import (
        TokenDecoder,
        TokenEncoder,
        reconstruction_loss,
    )

    encoder, decoder = TokenEncoder((2, 3), 4, 2), TokenDecoder((2, 3), 4, 8)
    last = decoder.decode[-1]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.copy_(torch.tensor([1.0, 0.0, -1.0]))
    latents = torch.tensor([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]])
    # decoded = bias for every token: squared errors (0+1+4 + 1+0+1) / 6
    assert reconstruction_loss(decoder, encoder, latents).item() == pytest.approx(7 / 6)
    base = torch.tensor([0.5, -0.95, 0.0])
    raw = torch.tensor([0.0, -100.0, 100.0])
    assert torch.allclose(bounded_residual(base, raw, 0.2), torch.tensor([0.5, -1.0, 0.2]))


def test_configs_name_bad_keys():
    from warl.plugins.algorithms.hg_dagger.config import make_config as hg
    from warl.plugins.algorithms.pld.config import make_config as pld
    from warl.plugins.algorithms.rl_token.config import make_config as token

    with pytest.raises(ConfigError, match="fusion"):
        token({"fusion": "cross"})
    with pytest.raises(ConfigError, match="token_dim"):
        token({"token_dim": 10, "token_heads": 4})
    with pytest.raises(ConfigError, match="residual_scale"):
        pld({"residual_scale": 0})
    with pytest.raises(ConfigError, match="bc_warmup_steps"):
        pld({"bc_warmup_steps": 10})
    with pytest.raises(ConfigError, match="gate_release"):
        hg({"gate_threshold": 0.2, "gate_release": 0.5})
    with pytest.raises(ConfigError, match="bogus"):
        hg({"bogus": 1})
    assert token({"preset": "cpu"}).hidden == 64 and pld({"preset": "cpu"}).hidden == 256


# --- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("algo,settings", [("rl-token", RL_TOKEN), ("pld", PLD),
                                           ("hg-dagger", HG_DAGGER)])
def test_state_dict_round_trip_gives_the_identical_next_update(small_wa, tmp_path, algo,
                                                                settings):
    trainer = _trainer(algo, settings, tmp_path, env_steps=200)
    fill_demos(trainer)
    trainer.algorithm.train(trainer)
    first = trainer.algorithm
    state = {k: v for k, v in first.state_dict().items()}
    torch.save(state, tmp_path / "algo.pt")
    batch = trainer.replay.sample(32)
    second = _setup(algo, **settings).algorithm
    second.load_state_dict(torch.load(tmp_path / "algo.pt", weights_only=True))
    assert first.update(batch.clone()) == second.update(batch.clone())
    for key, value in first.policy_state().items():
        assert torch.equal(value, second.policy_state()[key]), key


# --- learning signals ----------------------------------------------------------------------
def _td_error_falls(algo: str, settings: dict, run) -> tuple[float, float]:
    """The critic loss on a fixed batch (demonstrations and online data) before and after
    300 updates."""
    trainer = _trainer(algo, settings, run, env_steps=300)
    fill_demos(trainer)
    trainer.algorithm.train(trainer)
    fixed = trainer.replay.sample(256)
    torch.manual_seed(0)
    before = np.mean([trainer.algorithm.td_error(fixed) for _ in range(3)])
    for _ in range(300):
        trainer.algorithm.update(trainer.replay.sample(32))
    after = np.mean([trainer.algorithm.td_error(fixed) for _ in range(3)])
    return float(before), float(after)


def test_rl_token_learns_its_token_then_its_critic(small_wa, tmp_path):
    trainer = _trainer("rl-token", RL_TOKEN, tmp_path / "token", env_steps=100)
    fill_demos(trainer)
    losses = []
    while not trainer.algorithm.token_trained:
        losses.append(trainer.algorithm.warmup_step(trainer.replay.demos.sample(32))[
            "reconstruction"])
    first, last = _falls(losses)
    assert last < 0.8 * first, (first, last)
    before, after = _td_error_falls("rl-token", RL_TOKEN, tmp_path / "td")
    assert after < 0.7 * before, (before, after)


def test_pld_residual_starts_at_the_base_policy_and_its_td_error_falls(small_wa, tmp_path):
    from warl.core.world_model import batch_of

    setup = _setup("pld", **PLD)
    policy = setup.algorithm.make_policy()
    policy.reseed(0)
    obs, _ = setup.env.reset(seed=0)
    wa = setup.wa_model.infer(batch_of(obs))
    assert np.allclose(policy.act(obs, wa, explore=False), wa.ref_actions[0, :12].numpy(),
                       atol=1e-6)
    before, after = _td_error_falls("pld", PLD, tmp_path / "td")
    assert after < 0.7 * before, (before, after)


def test_pld_distils_and_both_policies_evaluate_through_the_cli(small_wa, tmp_path, capsys):
    import json

    from warl.core.cli import main

    run = tmp_path / "run"
    settings = {**PLD, "distill_episodes": 4, "distill_steps": 200, "distill_lr": 1e-3}
    sets = [f"--set={k}={json.dumps(v)}" for k, v in settings.items()]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]
    sets += [f"--set=train.{k}={json.dumps(v)}" for k, v in {**QUICK, "env_steps": 200}.items()]
    assert main(["train", "pld", "--env", SMALL_TASK, "--out", str(run), "--quiet", "--json",
                 *sets]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in summary["rows"]] == ["pld", "pld-distilled"]
    finals = [json.loads((run / name).read_text())
              for name in ("final.json", "final-pld-distilled.json")]
    assert [t["seed"] for t in finals[0]["per_trial"]] == \
        [t["seed"] for t in finals[1]["per_trial"]]
    # the trained run's policies through `warl eval --run`, the same numbers on the same seeds
    assert main(["eval", "--run", str(run), "--variant", "distilled", "--trials", "2",
                 "--videos", "0", "--quiet", "--json", "--out", str(tmp_path / "eval")]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["algorithm"] == "pld-distilled"
    assert evaluated["success_rate"] == finals[1]["success_rate"]
    assert main(["eval", "--run", str(run), "--variant", "bogus"]) == 1
    assert "distilled" in capsys.readouterr().err
    rows = read_csv(run / "distill.csv")
    if int(rows[-1]["kept_episodes"]) == 0:
        pytest.skip("no successful residual episode to distill on these seeds")
    bc = column(rows, "bc")
    first, last = _falls(bc, 5)
    assert last < first, (first, last)


def test_hg_dagger_aggregates_expert_segments_and_its_bc_loss_falls(small_wa, tmp_path):
    result = _run("hg-dagger", HG_DAGGER, tmp_path, env_steps=1000)
    rounds = read_csv(tmp_path / "rounds.csv")
    assert len(rounds) >= 2
    assert all(0.0 <= float(r["intervention_rate"]) <= 1.0 for r in rounds)
    assert max(float(r["intervention_rate"]) for r in rounds) > 0
    bc = column(rounds, "bc")
    assert bc[-1] < bc[0], bc
    # evaluations are autonomous: the expert never acts there
    assert all(t.intervention_steps == 0 for t in result.final.trials)


@pytest.mark.parametrize("algo,own,foreign", [("pld", "residual_scale", "fusion"),
                                              ("rl-token", "token_dim", "q_head"),
                                              ("hg-dagger", "gate_threshold", "utd"),
                                              ("sb3/sac", "buffer_size", "chunk")])
def test_warl_info_lists_every_setting_at_its_default(capsys, algo, own, foreign):
    from warl.core.cli import main

    assert main(["info", algo]) == 0
    out = capsys.readouterr().out
    assert f"{own} = " in out and f"{foreign} = " not in out
