"""The sim recipe's report script: target and stability arithmetic on a run folder's files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_report():
    spec = importlib.util.spec_from_file_location("sim_report", ROOT / "benchmarks/sim_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_folder(path: Path, base: float, trained: float, rates: list[float]) -> Path:
    def row(method, sr, low, high):
        return {"method": method, "success_rate": sr, "success_rate_ci95": [low, high],
                "mean_episode_length": 200.0, "trials": 100}

    path.mkdir()
    (path / "results.json").write_text(json.dumps({
        "env": "metaworld/hammer", "online_minutes": 30.0, "online_env_steps": 40_000 * len(rates),
        "updates": 1000, "rows": [row("wa-base", base, base - 0.1, base + 0.1),
                                  row("halo-wa", trained, trained - 0.1, trained + 0.1)]}))
    lines = ["env_steps,success_rate"] + [f"{40_000 * (i + 1)},{r}" for i, r in enumerate(rates)]
    (path / "eval.csv").write_text("\n".join(lines) + "\n")
    return path


def test_target_needs_25_points_and_separate_intervals(tmp_path):
    report = load_report()
    met = report.summarize(run_folder(tmp_path / "a", 0.4, 0.7, [0.5, 0.6, 0.7, 0.7]))
    assert met["change_points"] == 30.0 and not met["intervals_overlap"] and met["target_met"]
    close = report.summarize(run_folder(tmp_path / "b", 0.4, 0.55, [0.5, 0.5]))
    assert close["intervals_overlap"] and not close["target_met"]


def test_stability_counts_drops_in_the_second_half_only(tmp_path):
    report = load_report()
    # A 40-point drop early (first half) is not counted; a 36-point one late is.
    early = report.stability([{"env_steps": s, "success_rate": r} for s, r in
                              ((1, 0.6), (2, 0.2), (3, 0.5), (4, 0.5), (5, 0.5), (6, 0.52))])
    assert early["stable"] and early["max_drop_points"] == 0.0
    late = report.stability([{"env_steps": s, "success_rate": r} for s, r in
                             ((1, 0.5), (2, 0.5), (3, 0.5), (4, 0.56), (5, 0.2), (6, 0.5))])
    assert not late["stable"] and late["max_drop_points"] == 36.0
