"""Recipes: the built-in protocols load, their settings sit under the user's, bad ones are one
clear line, and a run under a recipe records it, holds the final seeds out and selects the
best weights on the validation list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SMALL_TASK, SMALL_WA
from tests.test_training import TINY
from warl.core.bench.matrix import Cell, make_spec, write_spec
from warl.core.cli import main
from warl.core.errors import ConfigError
from warl.core.evaluate import eval_seeds
from warl.core.recipes import apply_recipe, load_recipe, names, with_recipe
from warl.core.registry import default_registry
from warl.core.training.config import make_train_config
from warl.core.training.log import read_csv


def test_builtin_recipes_load_and_say_what_they_measure():
    assert {"gap", "sim"} <= set(names())
    sim = load_recipe("sim")
    assert sim.gap == "none" and sim.summary
    assert sim.demos_for("metaworld/peg-insert-side") == 10
    assert sim.demos_for("metaworld/unlisted-task") == sim.demos["default"]
    config = make_train_config(sim.train)  # every loop setting of the recipe is valid
    assert config.demo_source == "lab" and config.final_list != config.eval_seed
    assert load_recipe("gap").gap is None  # the default recipe: the env's own gap


def test_recipe_settings_sit_under_the_users():
    sim = load_recipe("sim")
    halo_defaults = {"bc_warmup_steps": 500, "gamma": 0.98}
    settings, gap = apply_recipe(sim, "halo-wa", "metaworld/hammer", {}, None, halo_defaults)
    assert gap == "none"
    assert settings["wa"]["demos"] == settings["train"]["demos"] == sim.demos_for(
        "metaworld/hammer")
    assert settings["algorithm"]["bc_warmup_steps"] == 0
    assert settings["train"]["demo_source"] == "lab"
    # The user's values win; the buffer follows the WA model's demonstrations.
    user = {"wa": {"demos": 7}, "train": {"minutes": 5}, "algorithm": {"bc_warmup_steps": 9}}
    settings, gap = apply_recipe(sim, "halo-wa", "metaworld/hammer", user, "default",
                                 halo_defaults)
    assert gap == "default" and settings["wa"]["demos"] == settings["train"]["demos"] == 7
    assert settings["train"]["minutes"] == 5 and settings["algorithm"]["bc_warmup_steps"] == 9
    # A generic algorithm key reaches only the algorithms that have that setting.
    settings, _ = apply_recipe(sim, "sb3/sac", "metaworld/hammer", {}, None, {"lr": 1.0})
    assert "bc_warmup_steps" not in settings["algorithm"]
    # The default recipe sets nothing.
    settings, gap = with_recipe(None, default_registry(), "halo-wa", SMALL_TASK,
                                {"train": {"demos": 3}}, None)
    assert settings == {"train": {"demos": 3}} and gap == "default"


def test_bad_recipes_are_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'sim'"):
        load_recipe("simm")
    cases = {"bad.yaml": ("gap: [none\n", "not valid YAML"),
             "keys.yaml": ("gapp: none\n", "gapp"),
             "demos.yaml": ("demos: {default: 0}\n", "demos.default must be an integer"),
             "section.yaml": ("train: 3\n", "train must be a mapping")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_recipe(str(tmp_path / name))
    assert main(["train", "halo-wa", "--env", SMALL_TASK, "--recipe", "simm"]) == 1
    assert main(["eval", "wa-base", "--env", SMALL_TASK, "--recipe", "nope"]) == 1
    assert main(["bench", "--algos", "wa-base", "--envs", SMALL_TASK, "--recipe", "nope",
                 "--out", str(tmp_path / "b")]) == 1
    assert not (tmp_path / "b").exists()  # refused before the bench folder is written


def test_bench_cells_expand_the_recipe_and_old_benches_continue(tmp_path):
    spec = make_spec({"algos": ["wa-base", "halo-wa"], "envs": [SMALL_TASK], "recipe": "sim",
                      "budget": 1000})
    request = spec.request(Cell("halo-wa", SMALL_TASK, 0))
    assert request["recipe"] == "sim" and request["gap"] == "none"
    train = request["settings"]["train"]
    assert train["demo_source"] == "lab" and train["env_steps"] == 1000  # the bench's budget
    assert train["demos"] == request["settings"]["wa"]["demos"]
    # A bench recorded before recipes existed (no key, gap "default") is the same spec.
    plain = make_spec({"algos": ["wa-base"], "envs": [SMALL_TASK]})
    old = plain.to_dict()
    old.pop("recipe")
    old["gap"] = "default"
    (tmp_path / "bench.json").write_text(json.dumps({"spec": old}))
    write_spec(tmp_path, plain)
    with pytest.raises(ConfigError, match="recipe"):
        write_spec(tmp_path, make_spec({"algos": ["wa-base"], "envs": [SMALL_TASK],
                                        "recipe": "sim"}))


def test_a_recipe_run_holds_out_the_final_seeds_and_selects_the_best(small_wa, tmp_path,
                                                                      capsys):
    recipe = tmp_path / "mini.yaml"
    recipe.write_text(
        "summary: a CI-sized sim-like protocol\ngap: none\n"
        f"demos: {{default: {SMALL_WA['demos']}}}\n"
        "train: {demo_source: lab, demos: 3, eval_seed: 1, final_seed: 0, select: best,\n"
        "        eval_every: 200, eval_trials: 2, final_trials: 2, env_steps: 600,\n"
        "        minutes: 0, videos: 0, asynchronous: false}\n"
        "algorithm: {bc_warmup_steps: 0}\n")
    run = tmp_path / "run"
    sets = [f"--set={k}={json.dumps(v)}" for k, v in TINY.items() if k != "bc_warmup_steps"]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items() if k != "demos"]
    assert main(["train", "halo-wa", "--env", SMALL_TASK, "--recipe", str(recipe), "--out",
                 str(run), "--quiet", "--json", *sets]) == 0
    summary = json.loads(capsys.readouterr().out)
    request = json.loads((run / "config.json").read_text())["request"]
    assert request["recipe"] == str(recipe) and request["gap"] == "none"
    assert request["settings"]["wa"]["demos"] == SMALL_WA["demos"]
    assert request["settings"]["train"]["demos"] == SMALL_WA["demos"]  # the WA model's own
    assert request["settings"]["algorithm"]["bc_warmup_steps"] == 0
    assert summary["eval_seed"] == 0 and summary["validation_seed"] == 1
    evaluations = read_csv(run / "eval.csv")
    during = [e for e in evaluations[:-1]]
    assert during, "evaluations ran during training"
    best = max(float(e["success_rate"]) for e in during)
    assert summary["selected_validation_sr"] == best
    assert (run / "best_policy.pt").is_file()
    final = json.loads((run / "final.json").read_text())
    seeds = [trial["seed"] for trial in final["per_trial"]]
    assert seeds == eval_seeds(0, 2)  # the held-out list, not the validation one
    assert "best evaluation during training" in (run / "results.md").read_text()
    # `warl eval --run` evaluates the weights the final evaluation ran: the selected ones.
    assert main(["eval", "--run", str(run), "--trials", "2", "--videos", "0", "--quiet",
                 "--out", str(tmp_path / "eval"), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["success_rate"] == final["success_rate"]
    # A run folder continues as it was configured: no recipe with --resume.
    assert main(["train", "--resume", str(run), "--recipe", "sim"]) == 1


def test_select_best_is_refused_where_no_policy_weights_exist(tmp_path, capsys):
    assert main(["train", "sb3/sac", "--env", SMALL_TASK, "--set", "train.select=best",
                 "--out", str(tmp_path / "r")]) == 1
    assert "train.select=best" in capsys.readouterr().err
    assert not Path(tmp_path / "r").exists()


def test_cpu_levers_apply_only_where_the_algorithm_runs_its_cpu_preset(tmp_path):
    from warl.core.recipes import on_cpu

    path = tmp_path / "levers.yaml"
    path.write_text("algorithms: {halo-wa: {gamma: 0.9}}\n"
                    "cpu: {algorithms: {halo-wa: {hidden: 32}}, algorithm: {utd: 2}}\n")
    recipe = load_recipe(str(path))
    defaults = {"hidden": 512, "utd": 5, "gamma": 0.98}
    on, _ = apply_recipe(recipe, "halo-wa", SMALL_TASK, {}, None, defaults, on_cpu=True)
    assert on["algorithm"] == {"gamma": 0.9, "hidden": 32, "utd": 2}
    off, _ = apply_recipe(recipe, "halo-wa", SMALL_TASK, {}, None, defaults, on_cpu=False)
    assert off["algorithm"] == {"gamma": 0.9}
    user, _ = apply_recipe(recipe, "halo-wa", SMALL_TASK, {"algorithm": {"hidden": 64}}, None,
                           defaults, on_cpu=True)
    assert user["algorithm"]["hidden"] == 64  # the user's value wins over a lever
    assert on_cpu({"preset": "cpu"}) and not on_cpu({"preset": "paper"})
    (tmp_path / "bad.yaml").write_text("cpu: {train: {minutes: 1}}\n")
    with pytest.raises(ConfigError, match="cpu takes algorithm and algorithms"):
        load_recipe(str(tmp_path / "bad.yaml"))
