"""The SB3 pass-through algorithms: the run folder through `warl train`, checkpoints that
restore the model, its replay and the counters, a critic that learns, and settings errors
that name the key."""

from __future__ import annotations

import dataclasses
import io
import json
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.conftest import SMALL_TASK
from warl.core.assemble import assemble
from warl.core.cli import main
from warl.core.envs.intervention import InterventionWrapper
from warl.core.errors import BadKwargsError, ConfigError
from warl.core.registry import default_registry
from warl.core.training.config import make_train_config
from warl.core.training.log import RunLog, read_csv
from warl.core.training.loops.external import EpisodeReporter
from warl.core.training.runner import train
from warl.core.training.session import Counters, Session

# The plugin imports SB3 when built; nothing above does.
pytest.importorskip("stable_baselines3")
pytest.importorskip("metaworld")

ALGORITHMS = ("sb3/sac", "sb3/td3", "sb3/ppo")
# CI-sized networks; PPO updates every 256 steps so that a short run trains.
SMALL = {
    "sb3/sac": {"net_arch": [32, 32], "batch_size": 32, "learning_starts": 100},
    "sb3/td3": {"net_arch": [32, 32], "batch_size": 32, "learning_starts": 100},
    "sb3/ppo": {"net_arch": [32, 32], "batch_size": 64, "n_steps": 256, "n_epochs": 2},
}
QUICK = {"minutes": 0, "demos": 0, "baseline": False, "eval_trials": 0, "final_trials": 1,
         "videos": 0}


def _make(algo: str, env: Any = None, **settings: Any) -> Any:
    import warl

    env = env if env is not None else warl.make_env(SMALL_TASK)
    return default_registry().make(algo, env, kind="algorithm", **{**SMALL[algo], **settings})


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_warl_train_fills_the_run_folder(algo, tmp_path, capsys):
    run = tmp_path / "run"
    sets = [f"--set={k}={json.dumps(v)}" for k, v in SMALL[algo].items()]
    # Two 500-step episodes; TD3 trains with the scripted expert taking over.
    sets += ["--set=train.env_steps=501", "--set=train.minutes=0", "--set=train.final_trials=2",
             "--set=train.eval_every=1000", "--set=train.eval_trials=2",
             "--set=train.videos=0", "--set=train.demos=0", "--set=train.baseline=false"]
    if algo == "sb3/td3":
        sets.append("--set=train.intervention=expert")
    assert main(["train", algo, "--env", SMALL_TASK, "--out", str(run), "--quiet", "--json",
                 *sets]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [row["method"] for row in summary["rows"]] == [algo]
    rows = read_csv(run / "train.csv")
    assert [int(r["episode"]) for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= 2 and int(rows[-1]["env_steps"]) == summary["online_env_steps"] > 500
    assert rows[-1]["critic_loss"] and rows[-1]["actor_loss"] and int(rows[-1]["updates"]) > 0
    if algo == "sb3/td3":
        assert max(float(r["intervention_rate"]) for r in rows) > 0
    assert len(read_csv(run / "eval.csv")) >= 2  # at the start, and the final one
    final = json.loads((run / "final.json").read_text())
    assert final["algorithm"] == algo and final["trials"] == len(final["per_trial"]) == 2
    assert f"| {SMALL_TASK} | {algo} |" in (run / "results.md").read_text()
    assert (run / "checkpoint" / "state.json").is_file()
    assert (run / "plots" / "success_rate.png").stat().st_size > 0
    config = json.loads((run / "config.json").read_text())["resolved"]["algorithm_config"]
    assert config["net_arch"] == [32, 32] and config["reward"] == "sparse"


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_state_dict_round_trip_gives_identical_actions(algo):
    import warl

    env = warl.make_env(SMALL_TASK)
    first = _make(algo, env)
    with torch.no_grad():  # weights no fresh instance has
        for p in first.model.policy.parameters():
            p.add_(0.1 * torch.randn_like(p))
    buffer = getattr(first.model, "replay_buffer", None)
    if buffer is not None:
        for i in range(5):
            state = np.full((1, 39), i, np.float32)
            buffer.add(state, state + 1, np.full((1, 4), 0.1 * i, np.float32), np.array([i]),
                       np.array([False]), [{}])
    saved = io.BytesIO()
    torch.save(first.state_dict(), saved)
    saved.seek(0)
    state = torch.load(saved, weights_only=True)  # what the loop's checkpoint loader allows

    second = _make(algo, env)
    observations = [env.reset(seed=s)[0] for s in range(3)]
    assert not np.allclose(second.act(observations[0]), first.act(observations[0]))
    second.load_state_dict(state)
    for obs in observations:
        np.testing.assert_array_equal(second.act(obs), first.act(obs))
        assert second.act(obs).shape == (1, 4)
    if buffer is not None:
        restored = second.model.replay_buffer
        assert restored.pos == buffer.pos == 5
        for name in ("observations", "next_observations", "actions", "rewards"):
            np.testing.assert_array_equal(getattr(restored, name)[:5], getattr(buffer, name)[:5])
    with pytest.raises(ConfigError, match="seed"):
        _make(algo, env, seed=1).load_state_dict(state)
    other = "sb3/td3" if algo == "sb3/sac" else "sb3/sac"
    with pytest.raises(ConfigError, match=algo):
        _make(other, env).load_state_dict(state)


class _Killed(Exception):
    pass


def test_resume_after_a_kill_restores_model_replay_and_counters(tmp_path, monkeypatch):
    settings = SMALL["sb3/sac"]
    config = make_train_config({**QUICK, "env_steps": 1000, "checkpoint_every": 500})

    def setup() -> Any:
        return assemble(default_registry(), "sb3/sac", SMALL_TASK, algo_settings=settings,
                        show_progress=False)

    checkpoint = Session.checkpoint

    def killed_after_first_checkpoint(self: Session) -> None:
        checkpoint(self)
        if self.counters.stage == "train" and self.counters.env_steps > 0:
            raise _Killed

    monkeypatch.setattr(Session, "checkpoint", killed_after_first_checkpoint)
    with pytest.raises(_Killed):
        train(setup(), config, tmp_path, default_registry(), show_progress=False)
    monkeypatch.undo()
    saved = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert (saved["stage"], saved["env_steps"], saved["episodes"]) == ("train", 500, 1)

    resumed = setup()
    result = train(resumed, config, tmp_path, default_registry(), resume=True,
                   show_progress=False)
    assert result.counters.stage == "done" and result.counters.env_steps == 1000
    rows = read_csv(tmp_path / "train.csv")
    assert [int(r["episode"]) for r in rows] == [1, 2]
    # One gradient step per env step after learning_starts, counted on from the checkpoint
    # (a fresh model would restart at 0 updates, a fresh replay at 0 transitions).
    starts = settings["learning_starts"]
    assert [int(r["updates"]) for r in rows] == [int(r["env_steps"]) - starts for r in rows]
    model = resumed.algorithm.model
    assert model.num_timesteps == 1000 and model.replay_buffer.pos == 1000


def _critic_loss(model: Any, batch: Any) -> float:
    """SAC's soft TD loss (both critics) on ``batch``, with fixed next-action noise."""
    torch.manual_seed(0)
    with torch.no_grad():
        next_actions, log_prob = model.actor.action_log_prob(batch.next_observations)
        next_q = torch.cat(model.critic_target(batch.next_observations, next_actions), 1)
        soft = next_q.min(1, keepdim=True)[0] - model.ent_coef_tensor * log_prob.reshape(-1, 1)
        target = batch.rewards + (1 - batch.dones) * model.gamma * soft
        qs = model.critic(batch.observations, batch.actions)
        return float(0.5 * sum(torch.nn.functional.mse_loss(q, target) for q in qs))


def test_sac_critic_loss_falls_on_a_dense_task(tmp_path):
    # 1000 random steps (no updates before learning_starts), then 500 steps of one update each.
    setup = assemble(default_registry(), "sb3/sac", SMALL_TASK, show_progress=False,
                     algo_settings={**SMALL["sb3/sac"], "reward": "dense", "ent_coef": 0.05,
                                    "learning_starts": 1000, "net_arch": [64, 64]})
    trainer = Session(setup, make_train_config({**QUICK, "env_steps": 1000}), tmp_path,
                      default_registry(), show_progress=False)
    trainer.log = RunLog(tmp_path)
    model = setup.algorithm.model
    setup.algorithm.learn(EpisodeReporter(trainer))
    assert model.num_timesteps == 1000 and model._n_updates == 0
    np.random.seed(0)  # SB3 samples with numpy's global generator
    batch = model.replay_buffer.sample(512)
    assert float(batch.rewards.max()) > 0  # the shaped reward, not the sparse success
    before = _critic_loss(model, batch)

    trainer.config = dataclasses.replace(trainer.config, env_steps=1500)
    setup.algorithm.learn(EpisodeReporter(trainer))
    trainer.log.close()
    assert model._n_updates == 500
    after = _critic_loss(model, batch)
    assert after < 0.25 * before, (before, after)
    assert read_csv(tmp_path / "train.csv")[-1]["critic_loss"]


class _Session:
    """A stand-in for `EpisodeReporter` with a custom training env and a step budget."""

    def __init__(self, make_env: Any, env_steps: int, intervention: str = "none") -> None:
        self._make_env = make_env
        self.config = types.SimpleNamespace(env_steps=env_steps, intervention=intervention)
        self.counters, self.run_dir = Counters(), Path(".")
        self.intervenes = intervention == "expert"
        self.reports: list[dict[str, Any]] = []

    def make_env(self, **overrides: Any) -> Any:
        return self._make_env(**overrides)

    def seed_of(self, episode: int) -> int:
        return 5_000_000 + episode

    def budget_left(self) -> bool:
        return self.counters.env_steps < self.config.env_steps

    def episode_done(self, **report: Any) -> bool:
        self.counters.env_steps += report["length"]
        self.counters.episodes += 1
        self.reports.append(report)
        return self.budget_left()


class _Always:
    """An intervention source that always takes over with ``action``."""

    def __init__(self, action: np.ndarray) -> None:
        self.action = action

    def reset(self) -> None:
        pass

    def __call__(self, observation: Any, proposed: np.ndarray) -> np.ndarray:
        return self.action


def test_off_policy_replay_stores_the_executed_action_when_intervened():
    import warl

    expert = np.array([0.5, -0.25, 0.0, 1.0], np.float32)

    def make_env(**overrides: Any) -> Any:
        env = warl.make_env(SMALL_TASK, max_episode_steps=50, **overrides)
        return InterventionWrapper(env, _Always(expert))

    algo = _make("sb3/sac", learning_starts=1000)
    session = _Session(make_env, env_steps=100)
    algo.learn(session)
    assert [r["intervention_steps"] for r in session.reports] == [50, 50]
    buffer = algo.model.replay_buffer
    assert buffer.pos == 100
    np.testing.assert_allclose(buffer.actions[:100, 0], np.tile(expert, (100, 1)), atol=1e-6)


@pytest.mark.parametrize("settings, message", [
    ({"bogus": 1}, r"unknown sb3/sac setting 'bogus'"),
    ({"n_steps": 64}, r"unknown sb3/sac setting 'n_steps'"),  # PPO's
    ({"reward": "shaped"}, "reward must be one of"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"gamma": 1.5}, "gamma must be in"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"net_arch": [64, 0]}, "net_arch must be a list of positive integers"),
    ({"ent_coef": "auto_x"}, "ent_coef must be auto"),
    ({"device": "tpu"}, "device must be one of"),
    ({"policy_kwargs": {"activation_fn": "nope"}}, "activation_fn 'nope'"),
])
def test_bad_settings_name_the_key(settings, message):
    with pytest.raises(ConfigError, match=message):
        _make("sb3/sac", **settings)


def test_settings_errors_reach_the_cli_and_the_session(tmp_path, capsys):
    assert main(["train", "sb3/td3", "--env", SMALL_TASK, "--out", str(tmp_path / "run"),
                 "--set", "tau=2"]) == 1
    assert "tau" in capsys.readouterr().err
    assert _make("sb3/sac", learning_rate="3e-4").config.learning_rate == 3e-4  # YAML's text

    def no_reward_type(**overrides: Any) -> Any:
        raise BadKwargsError("t/env", set(overrides), ["task"])

    with pytest.raises(ConfigError, match="reward=dense"):
        _make("sb3/sac", reward="dense").learn(_Session(no_reward_type, 100))
    with pytest.raises(ConfigError, match="on-policy"):
        _make("sb3/ppo").learn(_Session(no_reward_type, 100, intervention="expert"))
