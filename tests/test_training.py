"""The training loop: run folder, exact resume (in-process and after kill -9), the CLI, and a
CI-sized learning run that must beat WA-base on fixed seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.assemble import assemble
from warl.core.cli import main
from warl.core.errors import ConfigError
from warl.core.registry import default_registry
from warl.core.training.config import make_train_config
from warl.core.training.log import RunLog, read_csv
from warl.core.training.runner import fill_demos, train
from warl.core.training.session import Session

# A CI-sized HALO-WA: the paper's structure and objective at toy width.
TINY = {"preset": "cpu", "hidden": 32, "heads": 2, "actor_decoder": [64, 32],
        "q_head": [64, 32], "batch_size": 32, "utd": 1, "learning_starts": 32,
        "bc_warmup_steps": 50}
QUICK = {"minutes": 0, "demos": 4, "baseline": False, "eval_trials": 0, "final_trials": 3,
         "videos": 0, "asynchronous": False}


def _setup(**algo):
    return assemble(default_registry(), "halo-wa", SMALL_TASK, algo_settings={**TINY, **algo},
                    wa_settings=SMALL_WA, show_progress=False)


def _trainer(run: Path, **train_settings) -> Session:
    config = make_train_config({**QUICK, **train_settings})
    trainer = Session(_setup(), config, run, default_registry(), show_progress=False)
    trainer.log = RunLog(run)
    return trainer


def test_resume_gives_the_identical_next_update(small_wa, tmp_path):
    first = _trainer(tmp_path, env_steps=400)
    fill_demos(first)
    first.algorithm.train(first)
    first.checkpoint()
    assert first.counters.updates > 0 and len(first.replay.online) > 0
    expected = first.algorithm.update(first.replay.sample(32))
    expected_actor = first.algorithm.policy_state()

    second = _trainer(tmp_path, env_steps=400)
    second.resume()
    saved, resumed = dict(first.counters.__dict__), dict(second.counters.__dict__)
    for counters in (saved, resumed):
        counters.pop("wall_s"), counters.pop("online_s")
    assert resumed == saved
    assert len(second.replay.online) == len(first.replay.online)
    assert len(second.replay.demos) == len(first.replay.demos)
    got = second.algorithm.update(second.replay.sample(32))
    assert got == expected
    for key, value in second.algorithm.policy_state().items():
        assert torch.equal(value, expected_actor[key]), key


def test_async_and_sync_loops_fill_the_run_folder(small_wa, tmp_path):
    for asynchronous in (True, False):
        run = tmp_path / f"async_{asynchronous}"
        run.mkdir()
        config = make_train_config({**QUICK, "env_steps": 600, "asynchronous": asynchronous,
                                    "eval_every": 300, "eval_trials": 2, "baseline": True,
                                    "final_trials": 2, "checkpoint_every": 300})
        result = train(_setup(), config, run, default_registry(), show_progress=False)
        assert result.counters.stage == "done" and result.counters.env_steps >= 600
        assert result.baseline is not None and len(result.baseline.trials) == 2
        rows = read_csv(run / "train.csv")
        assert [int(r["episode"]) for r in rows] == list(range(1, len(rows) + 1))
        assert len(read_csv(run / "eval.csv")) >= 2  # during training, and the final one
        assert (run / "checkpoint" / "state.json").is_file()
        assert not (run / "replay_storage").exists()  # one copy of the replay: the checkpoint's
        assert list((run / "tensorboard").iterdir())
        if not asynchronous:  # exactly UTD updates per collected chunk transition
            assert result.counters.updates == result.counters.transitions


def _train_cli(run: Path, *extra: str) -> list[str]:
    sets = [f"--set={k}={json.dumps(v)}" for k, v in TINY.items()]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]
    return ["train", "halo-wa", "--env", SMALL_TASK, "--out", str(run), "--quiet", *sets, *extra]


def test_warl_train_cli_writes_table_card_and_plots(small_wa, tmp_path, capsys):
    run = tmp_path / "run"
    args = _train_cli(run, "--set=train.env_steps=500", "--set=train.minutes=0",
                      "--set=train.demos=3", "--set=train.final_trials=3",
                      "--set=train.eval_trials=2", "--set=train.eval_every=250",
                      "--set=train.videos=1", "--json")
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    methods = [r["method"] for r in summary["rows"]]
    assert methods == ["wa-base", "halo-wa"]
    assert summary["rows"][1]["sr_relative"] is not None
    config = json.loads((run / "config.json").read_text())
    assert config["resolved"]["algorithm_config"]["hidden"] == 32
    assert "warl" in config["versions"]
    card = (run / "results.md").read_text()
    assert "| metaworld/button-press-topdown | halo-wa |" in card
    for name in ("success_rate.png", "mean_episode_length.png"):
        assert (run / "plots" / name).stat().st_size > 0
    assert list((run / "videos" / "final").glob("*.mp4"))


def test_warl_train_refuses_bad_input(tmp_path, capsys):
    assert main(["train", "halo-wa"]) == 1
    assert "--env" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 1
    assert "config.json" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path), "--set", "x=1"]) == 1
    assert "alone" in capsys.readouterr().err
    assert main(["train", "halo-wa", "--env", SMALL_TASK, "--set", "train.bogus=1"]) == 1
    assert "bogus" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("algorithms: {}\n")
    assert main(["train", "halo-wa", "--env", SMALL_TASK, "--config",
                 str(tmp_path / "bad.yaml")]) == 1
    assert "sections" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="minutes"):
        make_train_config({"minutes": -1})


def test_halo_wa_beats_wa_base_on_fixed_seeds(small_wa, tmp_path):
    """CI-sized main job: the same 20 evaluation seeds, WA-base vs HALO-WA after a short run.

    The demonstration buffer holds scripted-expert episodes recorded under the deployment gap
    (the default), so the warm-up and the BC term carry the correction; measured: 55% -> 100%.
    """
    config = make_train_config({**QUICK, "env_steps": 1000, "demos": 10, "baseline": True,
                                "final_trials": 20})
    result = train(_setup(bc_warmup_steps=100), config, tmp_path, default_registry(),
                   show_progress=False)
    assert result.baseline is not None and result.final is not None
    seeds = [t.seed for t in result.baseline.trials]
    assert seeds == [t.seed for t in result.final.trials]
    assert result.final.success_rate >= result.baseline.success_rate + 0.2, (
        result.baseline.success_rate, result.final.success_rate)
    assert result.final.mean_length < result.baseline.mean_length


def test_expert_interventions_are_stored_as_executed_and_plotted(small_wa, tmp_path):
    from warl.core.training.plots import plot_run

    config = make_train_config({**QUICK, "env_steps": 600, "intervention": "expert",
                                "intervention_threshold": 0.3, "demos": 0,
                                "final_trials": 2})
    setup = _setup(bc_warmup_steps=0)
    trainer = Session(setup, config, tmp_path, default_registry(), show_progress=False)
    collecting = trainer.collector.engine.vector.local(0)
    assert collecting is not setup.env and collecting.refill is not None
    result = train(setup, config, tmp_path, default_registry(), show_progress=False)
    rates = [float(r["intervention_rate"]) for r in read_csv(tmp_path / "train.csv")]
    assert max(rates) > 0
    assert all(t.intervention_steps == 0 for t in result.final.trials)  # autonomous eval
    assert (tmp_path / "plots" / "intervention_rate.png") in plot_run(tmp_path)
    with pytest.raises(ConfigError, match="intervention"):
        make_train_config({"intervention": "human"})
