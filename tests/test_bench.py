"""warl bench: the spec and its validation, the aggregation and table marking on hand-made
numbers, a report rendered from hand-made cells, and a CI-sized matrix (WA-base and HALO-WA,
two seeds) through the CLI: run, continue without retraining, re-render."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import SMALL_TASK, SMALL_WA
from tests.test_training import TINY
from warl.core.bench.aggregate import (
    Score,
    Summary,
    cell_score,
    interval_estimates,
    method_order,
    summarize,
)
from warl.core.bench.matrix import BenchSpec, Cell, make_spec, read_config, write_spec
from warl.core.bench.report import render
from warl.core.bench.runner import run_cells
from warl.core.bench.table import emphasize, main_table, ranks
from warl.core.cli import main
from warl.core.errors import ConfigError
from warl.core.runs import write_json

REPS = "--bootstrap-reps=1000"


def _score(method: str, task: str, seed: int, sr: float, el: float, algo: str = "") -> Score:
    return Score(method=method, algo=algo or method, task=task, seed=seed, success_rate=sr,
                 ci95=(max(0.0, sr - 0.1), min(1.0, sr + 0.1)), episode_length=el, trials=10,
                 env_steps=300, updates=300, wall_minutes=1.0, run_dir=f"{method}/{task}/{seed}")


# --- pure units: marking, aggregation -----------------------------------------------------------
def test_ranks_mark_the_best_and_the_second_best_ties_included():
    assert ranks([50.0, 70.0, None, 70.0, 60.0]) == [0, 1, 0, 1, 0]  # a tie for best: no second
    assert ranks([50.0, 70.0, 60.0, 60.0]) == [0, 1, 2, 2]
    assert ranks([300.0, 200.0, 250.0, 400.0], higher_is_better=False) == [0, 1, 2, 0]
    assert ranks([10.0]) == [1]
    assert ranks([None, None]) == [0, 0]
    assert emphasize("72.0", 1) == "**72.0**"
    assert emphasize("72.0", 2) == "<u>72.0</u>"
    assert emphasize("72.0", 0) == "72.0"


def _summary() -> Summary:
    scores = [_score("wa-base", "a", 0, 0.4, 300), _score("wa-base", "a", 1, 0.6, 200),
              _score("wa-base", "b", 0, 0.0, 500), _score("wa-base", "b", 1, 0.0, 500),
              _score("halo-wa", "a", 1, 1.0, 150), _score("halo-wa", "a", 0, 0.8, 100),
              _score("halo-wa", "b", 0, 0.2, 400), _score("halo-wa", "b", 1, 0.4, 450),
              _score("pld", "a", 0, 0.5, 250)]
    return summarize(scores, method_order(["wa-base", "halo-wa", "pld"], scores), ["a", "b"])


def test_summary_means_over_seeds_and_changes_against_wa_base():
    summary = _summary()
    assert summary.methods == ["wa-base", "halo-wa", "pld"]
    halo = summary.per_task["halo-wa"]["a"]
    assert halo.success_rates == (0.8, 1.0) and halo.over == (0, 1)  # ordered by seed
    assert halo.success_rate == pytest.approx(0.9) and halo.episode_length == 125
    assert halo.sr_change == pytest.approx(0.4) and halo.sr_relative == pytest.approx(0.8)
    assert halo.el_relative == pytest.approx(-0.5)
    assert summary.per_task["halo-wa"]["b"].sr_relative is None  # WA-base at 0: no ratio
    assert summary.per_task["halo-wa"]["b"].sr_change == pytest.approx(0.3)
    assert summary.per_task["wa-base"]["a"].sr_change is None
    average = summary.average["halo-wa"]
    assert average.success_rate == pytest.approx(0.6) and average.over == ("a", "b")
    assert average.sr_change == pytest.approx(0.35)
    # pld has one seed on one task: its average compares with nothing
    assert summary.per_task["pld"]["a"].sr_change is None  # seed 0 only vs seeds 0 and 1
    assert summary.average["pld"].over == ("a",) and summary.average["pld"].sr_change is None


def test_iqm_intervals_hold_with_one_seed_one_task_and_are_reproducible():
    summary = _summary()
    intervals = interval_estimates(summary, reps=500)
    assert intervals == interval_estimates(summary, reps=500)
    assert (intervals["halo-wa"].runs, intervals["halo-wa"].tasks) == (2, 2)
    assert (intervals["pld"].runs, intervals["pld"].tasks) == (1, 1)
    assert intervals["pld"].iqm == intervals["pld"].iqm_ci[0] == 0.5
    one_seed = summarize([_score("m", t, 0, sr, 100) for t, sr in zip("abc", (0.2, 0.5, 0.9),
                                                                         strict=True)],
                         ["m"], ["a", "b", "c"])
    for interval in (*intervals.values(), *interval_estimates(one_seed, reps=500).values()):
        low, high = interval.iqm_ci
        assert low - 1e-9 <= interval.iqm <= high + 1e-9
        assert interval.mean_ci[0] - 1e-9 <= interval.mean <= interval.mean_ci[1] + 1e-9
    assert interval_estimates(one_seed, reps=500)["m"].iqm_ci[1] > 0.5  # spread across tasks


def _cells(table: str) -> dict[str, dict[str, str]]:
    """{method: {column header: cell}} of a Markdown table."""
    header, _, *rows = [[c.strip() for c in line.strip("|").split("|")]
                        for line in table.splitlines()]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def test_main_table_marks_best_and_second_per_column():
    table = _cells(main_table(_summary()))
    assert list(table) == ["wa-base", "halo-wa", "pld"]
    halo, base, pld = table["halo-wa"], table["wa-base"], table["pld"]
    assert halo["a SR (%) ↑"] == "**90.0 (+80.0%; +40.0 pts)**"  # best SR
    assert base["a SR (%) ↑"] == pld["a SR (%) ↑"] == "<u>50.0</u>"  # tied second
    assert halo["a EL ↓"] == "**125.0 (-50.0%)**"  # best EL is the lowest
    assert base["a EL ↓"] == "<u>250.0</u>"
    assert halo["b SR (%) ↑"] == "**30.0 (n/a; +30.0 pts)**"  # WA-base at 0: points only
    assert pld["b SR (%) ↑"] == pld["b EL ↓"] == "-"
    assert halo["Average SR (%) ↑"] == "**60.0 (+140.0%; +35.0 pts)**"
    assert pld["Average SR (%) ↑"] == "50.0 (1/2 tasks)"  # not ranked: fewer tasks
    assert base["Average SR (%) ↑"] == "<u>25.0</u>"


# --- the report, from hand-made cells -----------------------------------------------------------
def _fake_cell(root: Path, cell: Cell, rows: list[dict], curve: list[float],
               interventions: float = 0.0, rounds: bool = False) -> None:
    out = cell.path(root)
    out.mkdir(parents=True)
    steps = [0, 150, 300][:len(curve)]
    lines = ["env_steps,success_rate"] + [f"{s},{v}" for s, v in zip(steps, curve, strict=True)]
    (out / "eval.csv").write_text("\n".join(lines) + "\n")
    episodes = [f"{100 * (i + 1)},{interventions * (3 - i) / 3}" for i in range(3)]
    (out / "train.csv").write_text("\n".join(["env_steps,intervention_rate", *episodes]) + "\n")
    if rounds:
        (out / "rounds.csv").write_text("round,env_steps,intervention_rate\n1,100,0.5\n2,300,0.2\n")
    full = [{"task": cell.env, "success_rate_ci95": [0.0, 1.0], "trials": 4, **r} for r in rows]
    write_json(out / "results.json", {"run_dir": str(out), "rows": full, "online_env_steps": 300,
                                      "updates": 120, "total_minutes": 0.5})


def test_report_renders_tables_figures_and_missing_cells_from_the_cells(tmp_path):
    spec = make_spec({"algos": ["wa-base", "halo-wa", "pld"], "envs": ["suite/a", "suite/b"],
                      "seeds": 1, "budget": 300, "trials": 4})
    write_spec(tmp_path, spec)
    for env, base in (("suite/a", 0.25), ("suite/b", 0.5)):
        _fake_cell(tmp_path, Cell("wa-base", env, 0),
                   [{"method": "wa-base", "success_rate": base, "mean_episode_length": 400}],
                   [base])
        _fake_cell(tmp_path, Cell("halo-wa", env, 0),
                   [{"method": "halo-wa", "success_rate": 0.75, "mean_episode_length": 200}],
                   [base, 0.5, 0.75])
    _fake_cell(tmp_path, Cell("pld", "suite/a", 0),
               [{"method": "pld", "success_rate": 0.5, "mean_episode_length": 300},
                {"method": "pld-distilled", "success_rate": 1.0, "mean_episode_length": 100}],
               [0.25, 0.5, 0.5], interventions=0.6, rounds=True)
    write_json(tmp_path / "errors.json", {Cell("pld", "suite/b", 0).relative_path(): {
        "error": "RuntimeError: boom"}})
    data = render(tmp_path, reps=500)
    assert data["methods"] == ["wa-base", "halo-wa", "pld", "pld-distilled"]
    assert data["missing"] == [{"cell": "pld on suite/b seed 0",
                                "run_dir": "cells/pld/suite__b/seed0",
                                "error": "RuntimeError: boom"}]
    md = (tmp_path / "results.md").read_text()
    assert "**100.0 (+300.0%; +75.0 pts)**" in md  # pld-distilled on a
    assert "- pld on suite/b seed 0: failed: RuntimeError: boom" in md
    assert "300 online env steps, the same for every trained method" in md
    for name in ("curves_suite__a.png", "curves_suite__b.png", "interventions_suite__a.png",
                 "iqm.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 0, name
    assert not (tmp_path / "figures" / "interventions_suite__b.png").exists()
    assert "(figures/iqm.png)" in md


def test_a_failing_cell_is_recorded_and_the_others_still_run(tmp_path, monkeypatch):
    import warl.core.training.run as run

    def fake_training(request, out, **kwargs):
        if request["algo"] == "halo-wa" and request["settings"]["train"]["seed"] == 0:
            raise RuntimeError("boom")
        assert request["settings"]["train"]["env_steps"] == 300
        assert request["settings"]["train"]["baseline"] is False
        rows = [{"method": request["algo"], "task": request["env"], "success_rate": 0.5,
                 "success_rate_ci95": [0.2, 0.8], "mean_episode_length": 100, "trials": 4}]
        write_json(out / "results.json", {"rows": rows})

    monkeypatch.setattr(run, "run_training", fake_training)
    spec = make_spec({"algos": ["wa-base", "halo-wa"], "envs": ["x/a"], "seeds": 2,
                      "budget": 300})
    lines: list[str] = []
    failed = run_cells(spec, tmp_path, show_progress=False, echo=lines.append)
    key = Cell("halo-wa", "x/a", 0).relative_path()
    assert list(failed) == [key] and "RuntimeError: boom" in failed[key]["error"]
    assert json.loads((tmp_path / "errors.json").read_text())[key]["cell"] == \
        "halo-wa on x/a seed 0"
    assert lines[1] == "[2/4] halo-wa on x/a seed 0"
    assert lines[2] == "[2/4] halo-wa on x/a seed 0: failed: RuntimeError: boom"
    assert (Cell("halo-wa", "x/a", 1).path(tmp_path) / "results.json").is_file()
    monkeypatch.setattr(run, "run_training", lambda request, out, **kw: fake_training(
        {**request, "algo": "wa-base"}, out))
    assert run_cells(spec, tmp_path, show_progress=False, echo=lines.append) == {}
    assert json.loads((tmp_path / "errors.json").read_text()) == {}  # retried, succeeded


def test_the_precision_config_is_a_valid_spec():
    path = Path(__file__).resolve().parents[1] / "benchmarks/configs/precision.yaml"
    spec = make_spec(read_config(path), str(path))
    assert spec.algos[0] == "wa-base" and "halo-wa" in spec.algos and len(spec.envs) == 4
    assert (spec.seeds, spec.budget, spec.minutes, spec.trials) == (1, 30_000, 0.0, 50)
    train = spec.request(Cell("halo-wa", spec.envs[0], 0))["settings"]["train"]
    assert train == {"env_steps": 30_000, "minutes": 0.0, "seed": 0, "final_trials": 50,
                     "baseline": False}



def test_the_wovr_config_puts_wovr_and_grpo_beside_wa_base():
    path = Path(__file__).resolve().parents[1] / "benchmarks/configs/wovr.yaml"
    spec = make_spec(read_config(path), str(path))
    assert spec.algos == ("wa-base", "grpo", "wovr", "wovr@no-kir", "wovr@no-pace")
    assert spec.recipe == "sim"
    train = spec.request(Cell("wovr", spec.envs[0], 0))["settings"]["train"]
    assert train["imagined_steps"] == 2_000_000 and train["env_steps"] == 30_000
    # A variant is the same plugin with its own settings, cells and row label.
    variant = Cell("wovr@no-kir", spec.envs[0], 0)
    request = spec.request(variant)
    assert request["algo"] == "wovr" and request["settings"]["algorithm"]["kir_share"] == 0
    assert "kir_share" not in spec.request(Cell("wovr", spec.envs[0], 0))["settings"]["algorithm"]
    assert variant.relative_path().startswith("cells/wovr@no-kir/")
    row = {"method": "wovr", "success_rate_ci95": [0.1, 0.3], "success_rate": 0.2,
           "mean_episode_length": 300.0, "trials": 100}
    assert cell_score(variant, {}, row).method == "wovr@no-kir"
    with pytest.raises(ConfigError, match="<id>@<label>"):
        make_spec({"algos": ["wovr@"], "envs": ["x"]})


def test_the_sim_seeds_config_gives_each_seed_its_own_wa_model():
    path = Path(__file__).resolve().parents[1] / "benchmarks/configs/sim_seeds.yaml"
    spec = make_spec(read_config(path), str(path))
    assert spec.wa_seeds and spec.seeds == 3 and spec.minutes == 30
    seeds = [spec.request(Cell("wa-base", spec.envs[0], k))["settings"]["wa"]["seed"]
             for k in range(spec.seeds)]
    assert seeds == [0, 1, 2]
    shared = make_spec({**read_config(path), "wa_seeds": False})
    assert "seed" not in shared.request(Cell("wa-base", spec.envs[0], 2))["settings"]["wa"]
    with pytest.raises(ConfigError, match=r"wa\.seed is set by wa_seeds"):
        make_spec({**read_config(path), "wa": {"seed": 3}})
    with pytest.raises(ConfigError, match="wa_seeds must be true or false"):
        make_spec({**read_config(path), "wa_seeds": "yes"})


# --- validation ---------------------------------------------------------------------------------
def test_bad_specs_are_refused_with_what_to_fix(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text(
        "algos: [wa-base, halo-wa]\nenvs: [metaworld/hammer]\nalgorithm: {halo-wq: {hidden: 8}}\n")
    assert main(["bench", "--config", str(tmp_path / "bad.yaml")]) == 1
    err = capsys.readouterr().err
    assert "halo-wq" in err and "not in algos" in err
    assert main(["bench", "--algos", "wa-base", "--envs", SMALL_TASK, "--seeds", "0"]) == 1
    assert "seeds must be an integer >= 1" in capsys.readouterr().err
    assert main(["bench", "--algos", "wa-base"]) == 1
    assert "no envs" in capsys.readouterr().err
    assert main(["bench", "--algos", "wa-base", "--envs", SMALL_TASK,
                 "--set", "train.env_steps=5"]) == 1
    assert "--budget" in capsys.readouterr().err
    assert main(["bench", "--algos", "wa-base,halo-wq", "--envs", SMALL_TASK]) == 1
    assert "halo-wa" in capsys.readouterr().err  # the registry suggests the known id
    with pytest.raises(ConfigError, match="unknown key"):
        make_spec({"algos": ["wa-base"], "envs": ["x"], "budgets": 5})
    with pytest.raises(ConfigError, match="bogus"):
        make_spec({"algos": ["wa-base"], "envs": ["x"], "train": {"bogus": 1}})
    write_spec(tmp_path / "b", BenchSpec(("wa-base",), (SMALL_TASK,), budget=300))
    args = ["bench", "--algos", "wa-base", "--envs", SMALL_TASK, "--out", str(tmp_path / "b")]
    assert main([*args, "--budget", "400"]) == 1
    assert "different spec" in capsys.readouterr().err
    assert main(["bench", "report", str(tmp_path)]) == 1
    assert "bench.json" in capsys.readouterr().err
    assert main(["bench", "--seeds", "2", "report", str(tmp_path / "b")]) == 1
    assert "no run options (got --seeds)" in capsys.readouterr().err


# --- a CI-sized bench through the CLI -----------------------------------------------------------
def _bench_args(out: Path) -> list[str]:
    sets = [f"--set=halo-wa.{k}={json.dumps(v)}" for k, v in TINY.items()]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]
    train = {"demos": 4, "eval_every": 150, "eval_trials": 2, "videos": 0, "asynchronous": False,
             "torch_threads": 1}
    sets += [f"--set=train.{k}={json.dumps(v)}" for k, v in train.items()]
    return ["bench", "--algos", "wa-base,halo-wa", "--envs", SMALL_TASK, "--seeds", "2",
            "--budget", "300", "--trials", "3", "--out", str(out), "--quiet", REPS, *sets]


def test_warl_bench_runs_continues_and_reports(small_wa, tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(_bench_args(out)) == 0
    captured = capsys.readouterr()
    assert "[4/4] halo-wa on metaworld/button-press-topdown seed 1" in captured.err
    md = (out / "results.md").read_text()
    assert md in captured.out and f"bench folder: {out}" in captured.out
    table = md.split("## Final success rate")[1].split("##")[0]
    assert "| wa-base |" in table and "| halo-wa |" in table and "**" in table
    assert (out / "figures" / "curves_metaworld__button-press-topdown.png").stat().st_size > 0
    assert (out / "figures" / "iqm.png").stat().st_size > 0
    data = json.loads((out / "bench_results.json").read_text())
    cells = {(c["method"], c["seed"]): c for c in data["cells"]}
    assert set(cells) == {(m, s) for m in ("wa-base", "halo-wa") for s in (0, 1)}
    assert cells[("halo-wa", 1)]["env_steps"] >= 300 and cells[("halo-wa", 1)]["trials"] == 3
    assert cells[("wa-base", 0)]["trials"] == 3
    for method in ("wa-base", "halo-wa"):
        iqm = data["iqm"][method]
        assert iqm["runs"] == 2 and iqm["tasks"] == 1
        assert iqm["iqm_ci"][0] - 1e-9 <= iqm["iqm"] <= iqm["iqm_ci"][1] + 1e-9
    assert data["per_task"]["halo-wa"][SMALL_TASK]["sr_change"] is not None
    assert data["missing"] == []

    results = sorted(out.glob("cells/*/*/seed*/results.json"))
    assert len(results) == 4
    stamps = [p.stat().st_mtime_ns for p in results]
    start = time.perf_counter()
    assert main(_bench_args(out)) == 0
    assert time.perf_counter() - start < 20
    assert capsys.readouterr().err.count("finished, skipped") == 4
    assert [p.stat().st_mtime_ns for p in results] == stamps

    (out / "results.md").unlink()
    assert main(["bench", "report", str(out), REPS, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iqm"] == data["iqm"]
    assert (out / "results.md").read_text() == md

    results[-1].unlink()  # as if killed after its last checkpoint: continued, not restarted
    assert main(_bench_args(out)) == 0
    err = capsys.readouterr().err
    assert err.count("finished, skipped") == 3 and err.count(": resuming") == 1
    assert results[-1].is_file()
