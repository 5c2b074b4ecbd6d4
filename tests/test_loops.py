"""The stock loops driven by fake algorithms (tests/fake_algorithms.py) on a real MetaWorld
env: each trains, logs its metrics in grown columns, checkpoints a numpy array in its state,
and refuses what it cannot do before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fake_algorithms import fake_registry
from warl.core.assemble import assemble
from warl.core.errors import ConfigError, ContractError
from warl.core.training.checkpoint import load_run_state
from warl.core.training.config import make_train_config
from warl.core.training.log import read_csv
from warl.core.training.runner import train

ENV = "metaworld/reach"
QUICK = {"minutes": 0, "env_steps": 1200, "demos": 0, "baseline": False, "eval_trials": 1,
         "eval_every": 600, "final_trials": 1, "videos": 0, "asynchronous": False,
         "checkpoint_every": 600, "torch_threads": 1}


def _train(algo: str, tmp_path, **settings):
    registry = fake_registry()
    world_model = settings.pop("world_model", None)
    setup = assemble(registry, algo, ENV, show_progress=False, world_model_id=world_model)
    config = make_train_config({**QUICK, **settings})
    return train(setup, config, tmp_path, registry, show_progress=False), setup.algorithm


@pytest.mark.parametrize("algo", ["fake/off-policy", "fake/rounds", "fake/on-policy"])
def test_a_fake_algorithm_drives_its_stock_loop(algo, tmp_path):
    result, algorithm = _train(algo, tmp_path)
    c = result.counters
    assert c.stage == "done" and c.env_steps >= 1200 and c.updates == algorithm.updates > 0
    rows = read_csv(tmp_path / "train.csv")
    assert [int(r["episode"]) for r in rows] == list(range(1, len(rows) + 1))
    # The algorithm's own metric grew a column (a round's metrics go to rounds.csv).
    table = read_csv(tmp_path / ("rounds.csv" if algo == "fake/rounds" else "train.csv"))
    assert any(r["fake_loss"] for r in table)
    assert len(read_csv(tmp_path / "eval.csv")) >= 2
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["stages_done"] == [] and state["stage"] == "done"
    restored = type(algorithm)(setup_env())
    load_run_state(tmp_path, restored, _NoReplay())
    assert isinstance(restored.history, np.ndarray)
    if algo == "fake/rounds":
        assert len(read_csv(tmp_path / "rounds.csv")) == c.rounds
    if algo == "fake/on-policy":
        assert algorithm.seen.count("groups=2") == c.groups // 2 > 0


def test_on_policy_groups_start_from_one_state_with_their_own_noise(tmp_path, monkeypatch):
    from warl.core.training.collector import Collector

    seen = []
    episodes = Collector.episodes

    def spy(self, policy_state, requests):
        rollouts = episodes(self, policy_state, requests)
        seen.extend(zip(requests, rollouts, strict=True))
        return rollouts

    monkeypatch.setattr(Collector, "episodes", spy)
    _train("fake/on-policy", tmp_path, env_steps=1000, eval_trials=0)
    assert len(seen) == 4
    (r0, e0), (r1, e1), (r2, e2), (r3, e3) = seen
    assert r0.seed == r1.seed and r2.seed == r3.seed and r0.seed != r2.seed
    assert len({r.noise_seed for r, _ in seen}) == 4  # each episode samples its own noise
    for a, b in ((e0, e1), (e2, e3)):  # every member of a group starts from the same state
        first_a, first_b = a.record.steps[0].features, b.record.steps[0].features
        assert all(np.array_equal(first_a[k], first_b[k]) for k in first_a)
    assert not np.array_equal(e0.record.steps[0].features["state"],
                              e2.record.steps[0].features["state"])


def test_imagination_counts_imagined_steps_apart(tmp_path):
    result, _ = _train("fake/imagination", tmp_path, world_model="fake/world-model",
                       imagined_steps=300, env_steps=1)
    c = result.counters
    assert c.imagined_steps >= 300 and c.env_steps == 0 and c.updates > 0
    rows = read_csv(tmp_path / "train.csv")
    assert rows and all(int(r["env_steps"]) == 0 for r in rows)
    assert int(rows[-1]["imagined_steps"]) == c.imagined_steps
    # Evaluations stay in the real env.
    assert int(read_csv(tmp_path / "eval.csv")[-1]["mean_episode_length"].split(".")[0]) > 0


def test_needs_are_provided_or_refused_before_any_work(tmp_path):
    registry = fake_registry()
    with pytest.raises(ConfigError, match="--world-model"):
        assemble(registry, "fake/imagination", ENV, show_progress=False)
    with pytest.raises(ConfigError, match="does not use a world model"):
        assemble(registry, "fake/off-policy", ENV, show_progress=False,
                 world_model_id="fake/world-model")


def test_an_algorithm_without_train_is_refused_and_a_legacy_one_still_trains(tmp_path,
                                                                             capsys):
    with pytest.raises(ContractError, match="no train"):
        _train("fake/nothing", tmp_path / "nothing")
    result, _ = _train("fake/legacy", tmp_path / "legacy")
    assert result.counters.updates > 0
    err = capsys.readouterr().err
    assert "warl 0.1 interface" in err and "off_policy(session, self)" in err


def setup_env():
    import warl

    return warl.make(ENV)


class _NoReplay:
    def load(self, directory) -> None:
        pass


def _eval_run(run, registry, settings):
    """What `warl eval --run` evaluates for a `fake/wa-tuner` run folder: (setup, act)."""
    import argparse

    from warl.core.cli.evaluating import _trained
    from warl.core.training.run import make_request

    request = make_request("fake/wa-tuner", ENV, settings)
    (run / "config.json").write_text(json.dumps({"request": request}))
    args = argparse.Namespace(run=run, algo=None, env=None, sets=None, wa_sets=None,
                              videos=0, quiet=True, gap="default", variant=None)
    evaluated, act, _ = _trained(args, registry)
    return evaluated, act


def test_a_fine_tuned_wa_model_reaches_the_rollout_side_the_checkpoint_and_eval(tmp_path):

    import torch

    from warl.core.training.log import RunLog
    from warl.core.training.session import Session

    registry = fake_registry()
    wa = {"pretrained": False, "obs_mode": "state", "hidden": 64}
    setup = assemble(registry, "fake/wa-tuner", ENV, wa_settings=wa, show_progress=False)
    frozen = {k: v.clone() for k, v in setup.wa_model.state_dict().items()}
    config = make_train_config({**QUICK, "eval_trials": 0})
    session = Session(setup, config, tmp_path, registry, show_progress=False)
    session.log = RunLog(tmp_path)
    assert session.collector.wa_model is not setup.wa_model  # the worker has its own copy
    setup.algorithm.train(session)
    session.checkpoint()
    trained = setup.wa_model.state_dict()
    assert any(not torch.equal(frozen[k], trained[k]) for k in frozen)
    session.collect(session.rollout_state(), seed=3)  # the worker loads the tuned weights
    worker = session.collector.wa_model.state_dict()
    assert all(torch.equal(worker[k], trained[k]) for k in trained)
    # Resume and `warl eval --run` load the tuned weights, not the frozen model.
    evaluated, _ = _eval_run(tmp_path, registry, {"wa": wa})
    loaded = evaluated.wa_model.state_dict()
    assert all(torch.equal(loaded[k], trained[k]) for k in trained)


def test_select_best_keeps_the_fine_tuned_wa_model_with_its_policy(tmp_path):

    import torch

    from warl.core.training.checkpoint import WA_MODEL, checkpoint_dir
    from warl.core.training.selection import BEST_ROLLOUT

    registry = fake_registry()
    wa = {"pretrained": False, "obs_mode": "state", "hidden": 64}
    setup = assemble(registry, "fake/wa-tuner", ENV, wa_settings=wa, show_progress=False)
    frozen = {k: v.clone() for k, v in setup.wa_model.state_dict().items()}
    # One evaluation, before any update: the best is the untuned pair.
    settings = {**QUICK, "eval_every": 100_000, "select": "best", "final_seed": 1}
    train(setup, make_train_config(settings), tmp_path, registry, show_progress=False)
    kept = torch.load(tmp_path / BEST_ROLLOUT, weights_only=True)
    assert all(torch.equal(kept["wa_model"][k], frozen[k]) for k in frozen)
    assert torch.equal(kept["policy"]["weight"], torch.zeros_like(kept["policy"]["weight"]))
    # The final evaluation ran the kept pair, so the WA model it used is the untuned one...
    assert all(torch.equal(setup.wa_model.state_dict()[k], frozen[k]) for k in frozen)
    # ...while the checkpoint holds the tuned one, and `warl eval --run` runs the kept pair.
    tuned = torch.load(checkpoint_dir(tmp_path) / WA_MODEL, weights_only=True)
    assert any(not torch.equal(tuned[k], frozen[k]) for k in frozen)
    evaluated, act = _eval_run(tmp_path, registry, {"wa": wa, "train": settings})
    loaded = evaluated.wa_model.state_dict()
    assert all(torch.equal(loaded[k], frozen[k]) for k in frozen)
    assert evaluated.algorithm.updates > 0 and act is not evaluated.algorithm.act


class _Killed(Exception):
    pass


def test_the_imagination_loop_resumes_exactly(tmp_path, monkeypatch):
    from warl.core.training.session import Session

    settings = {"world_model": "fake/world-model", "imagined_steps": 600, "env_steps": 1,
                "checkpoint_every": 1, "eval_trials": 0}
    _train("fake/imagination", tmp_path / "reference", **dict(settings))
    checkpoint = Session.checkpoint

    def killed_after_a_checkpoint_in_training(self: Session) -> None:
        checkpoint(self)
        if self.counters.stage == "train" and self.counters.imagined_steps > 200:
            raise _Killed

    monkeypatch.setattr(Session, "checkpoint", killed_after_a_checkpoint_in_training)
    # Checkpoints come from the schedule (every env step, i.e. every tick here).
    with pytest.raises(_Killed):
        _train("fake/imagination", tmp_path / "killed", **dict(settings))
    monkeypatch.undo()
    registry = fake_registry()
    setup = assemble(registry, "fake/imagination", ENV, show_progress=False,
                     world_model_id="fake/world-model")
    config = make_train_config({**QUICK, **{k: v for k, v in settings.items()
                                            if k != "world_model"}})
    train(setup, config, tmp_path / "killed", registry, resume=True, show_progress=False)

    def rows(run):
        return [{k: v for k, v in r.items() if k not in ("wall_s", "updates_per_s")}
                for r in read_csv(run / "train.csv")]

    assert rows(tmp_path / "killed") == rows(tmp_path / "reference")
