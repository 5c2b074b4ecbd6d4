"""WA-base, the evaluation protocol, `warl eval` / `warl pretrain`, and deployment gaps."""

from __future__ import annotations

import json

import numpy as np
import pytest

import warl
from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.assemble import assemble, resolve_gap
from warl.core.cli import main
from warl.core.envs import CalibrationOffset, ControlLatency, apply_deployment_gap
from warl.core.errors import ConfigError
from warl.core.evaluate import EVAL_SEED_BASE, EvalResult, Trial, eval_seeds, evaluate
from warl.core.registry import default_registry

TRIALS = 10
PRECISION_TASKS = ["peg-insert-side", "assembly", "hammer", "button-press-topdown"]


def wa_sets():
    return [arg for k, v in SMALL_WA.items() for arg in ("--wa-set", f"{k}={v}")]


def test_wa_base_is_far_better_than_random_actions(small_wa):
    setup = assemble(default_registry(), "wa-base", SMALL_TASK, wa_settings=SMALL_WA, gap=None,
                     show_progress=False)
    seeds = eval_seeds(0, TRIALS)
    wa_base = evaluate(setup.env, setup.algorithm.act, setup.wa_model, seeds)
    rng = np.random.default_rng(0)
    chunk = setup.env.action_space.shape

    def random_chunk(obs, wa_output, explore):
        return rng.uniform(-1, 1, chunk).astype(np.float32)

    random = evaluate(setup.env, random_chunk, None, seeds)
    setup.close()
    assert wa_base.success_rate >= 0.7, wa_base.to_dict()
    assert random.success_rate <= 0.1
    assert wa_base.mean_length < random.mean_length


def test_evaluation_is_reproducible_per_trial(small_wa):
    setup = assemble(default_registry(), "wa-base", SMALL_TASK, wa_settings=SMALL_WA,
                     show_progress=False)
    seeds = eval_seeds(3, 4)
    both = evaluate(setup.env, setup.algorithm.act, setup.wa_model, seeds)
    last = evaluate(setup.env, setup.algorithm.act, setup.wa_model, seeds[-1:])
    setup.close()
    assert both.trials[-1] == last.trials[0]
    assert seeds[0] == EVAL_SEED_BASE + 30_000


def test_wilson_interval_is_sound_at_the_edges():
    none = EvalResult([Trial(seed=i, success=False, length=10) for i in range(20)])
    low, high = none.wilson_interval()
    assert low == 0.0 and 0.1 < high < 0.2
    half = EvalResult([Trial(seed=i, success=i % 2 == 0, length=10) for i in range(100)])
    low, high = half.wilson_interval()
    assert low < 0.5 < high and high - low < 0.2


def test_warl_eval_writes_the_run_folder(small_wa, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["eval", "wa-base", "--env", SMALL_TASK, "--trials", "3", "--videos", "1",
                 "--out", str(out), "--quiet", "--json", *wa_sets()])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert printed["success_rate"] == results["success_rate"]
    assert [t["seed"] for t in results["per_trial"]] == eval_seeds(0, 3)
    assert results["config"]["deployment_gap"] == default_registry().get(
        SMALL_TASK).deployment_gap
    assert config["versions"]["warl"] == warl.__version__
    assert len(list((out / "videos").glob("trial_000_*.mp4"))) == 1
    assert f"| wa-base | {SMALL_TASK} |" in (out / "results.md").read_text()


def test_warl_eval_refuses_bad_input(tmp_path, capsys):
    assert main(["eval", "wa-base", "--env", SMALL_TASK, "--trials", "0"]) == 1
    assert "--trials must be >= 1" in capsys.readouterr().err
    assert main(["eval", "wa-bsae", "--env", SMALL_TASK]) == 1
    assert "did you mean 'wa-base'" in capsys.readouterr().err.lower()
    assert main(["eval", "wa-base", "--env", SMALL_TASK, "--gap", "{teleport: {}}",
                 "--quiet", *wa_sets()]) == 1
    assert "unknown deployment-gap wrapper(s) ['teleport']" in capsys.readouterr().err
    (tmp_path / "keep.txt").write_text("results")
    assert main(["eval", "wa-base", "--env", SMALL_TASK, "--out", str(tmp_path)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "results"


def test_warl_pretrain_reports_size_time_and_latency(small_wa, capsys):
    sets = [arg for k, v in SMALL_WA.items() for arg in ("--set", f"{k}={v}")]
    assert main(["pretrain", SMALL_TASK, "--quiet", "--json", *sets]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checkpoint"] == str(small_wa.checkpoint_path)
    assert report["parameters"] > 0 and report["inference_ms_per_chunk"] > 0
    assert report["final_losses"]["action"] < report["first_losses"]["action"]


@pytest.mark.parametrize("task", PRECISION_TASKS)
def test_precision_tasks_carry_a_calibration_gap(task):
    spec = default_registry().get(f"metaworld/{task}")
    gap = resolve_gap(spec, "default")
    assert "calibration" in gap
    env = apply_deployment_gap(warl.make(spec.id), gap)
    assert any(isinstance(w, CalibrationOffset) for w in _wrappers(env))
    env.close()
    assert resolve_gap(spec, "none") == {}


def test_gap_from_yaml_text_and_errors():
    spec = default_registry().get("metaworld/reach")
    gap = resolve_gap(spec, "{latency: {steps: 2}}")
    env = apply_deployment_gap(warl.make(spec.id), gap)
    assert any(isinstance(w, ControlLatency) and w.steps == 2 for w in _wrappers(env))
    env.close()
    with pytest.raises(ConfigError, match="YAML/JSON mapping"):
        resolve_gap(spec, "[1, 2]")
    with pytest.raises(ConfigError, match="bad settings"):
        apply_deployment_gap(warl.make(spec.id), {"latency": {"stepz": 2}})


def _wrappers(env):
    while hasattr(env, "env"):
        yield env
        env = env.env
