"""The `sim` recipe's headline table from `warl train` run folders, one per task.

For each run: WA-base and the trained method on the held-out list (``results.json``), the
change in points and whether the two 95% Wilson intervals overlap; the online budget spent
(minutes, env steps, updates); and the stability check of the issue that defined the recipe:
the largest drop between consecutive evaluations (``eval.csv``, 50 trials each on the
validation list) in the second half of the run, flagged when above 30 points. The success
curves are copied beside the table.

    python benchmarks/sim_report.py RUN_DIR [RUN_DIR ...] [--figures docs/figures/sim]
        [--out benchmarks/results/sim_report.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from warl.core.runs import write_json
from warl.core.training.log import read_csv

TARGET_POINTS = 25.0
MAX_DROP_POINTS = 30.0


def stability(evals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The largest drop (points) between consecutive evaluations whose later one lies in the
    second half of the run (by env steps)."""
    if len(evals) < 2:
        return {"evaluations": len(evals), "max_drop_points": None, "stable": None}
    last = float(evals[-1]["env_steps"])
    drops = [100 * (float(a["success_rate"]) - float(b["success_rate"]))
             for a, b in itertools.pairwise(evals)
             if float(b["env_steps"]) >= last / 2]
    worst = max(drops, default=0.0)
    return {"evaluations": len(evals), "max_drop_points": round(max(worst, 0.0), 1),
            "stable": worst <= MAX_DROP_POINTS,
            "success_rates": [round(100 * float(e["success_rate"])) for e in evals]}


def summarize(run_dir: Path) -> dict[str, Any]:
    results = json.loads((run_dir / "results.json").read_text())
    rows = results["rows"]
    if len(rows) < 2:
        raise SystemExit(f"{run_dir}: results.json has no baseline row (run with "
                         f"train.baseline=true)")
    base, method = rows[0], rows[-1]
    overlap = (method["success_rate_ci95"][0] <= base["success_rate_ci95"][1]
               and base["success_rate_ci95"][0] <= method["success_rate_ci95"][1])
    change = 100 * (method["success_rate"] - base["success_rate"])
    evals = read_csv(run_dir / "eval.csv") if (run_dir / "eval.csv").is_file() else []
    # The evaluations during training share their trial count; the final one (on the held-out
    # list, more trials) is reported above, not in the curve.
    evals = [e for e in evals if evals and e.get("trials") == evals[0].get("trials")]
    return {
        "run_dir": str(run_dir), "task": results["env"], "method": method["method"],
        "wa_base": {k: base[k] for k in ("success_rate", "success_rate_ci95",
                                         "mean_episode_length", "trials")},
        "trained": {k: method[k] for k in ("success_rate", "success_rate_ci95",
                                           "mean_episode_length", "trials")},
        "change_points": round(change, 1), "intervals_overlap": overlap,
        "target_met": change >= TARGET_POINTS and not overlap,
        "online_minutes": results["online_minutes"], "env_steps": results["online_env_steps"],
        "updates": results["updates"], "stability": stability(evals),
    }


def _sr(row: Mapping[str, Any]) -> str:
    low, high = row["success_rate_ci95"]
    return (f"{100 * row['success_rate']:.0f}% ({100 * low:.0f}-{100 * high:.0f}), "
            f"EL {row['mean_episode_length']:.0f}")


def markdown(runs: Sequence[Mapping[str, Any]]) -> str:
    lines = ["| task | WA-base | HALO-WA | change | intervals overlap | online min / env steps "
             "/ updates | evaluations during training (%) | largest late drop |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        s = r["stability"]
        lines.append(
            f"| `{r['task']}` | {_sr(r['wa_base'])} | {_sr(r['trained'])} | "
            f"{r['change_points']:+.0f} pts | {'yes' if r['intervals_overlap'] else 'no'} | "
            f"{r['online_minutes']:.0f} / {r['env_steps']:,} / {r['updates']:,} | "
            f"{', '.join(map(str, s.get('success_rates', [])))} | "
            f"{s['max_drop_points'] if s['max_drop_points'] is not None else '-'} pts |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="warl train run folders")
    parser.add_argument("--figures", type=Path, default=None,
                        help="copy each run's plots/success_rate.png here")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sim_report.json"))
    args = parser.parse_args()
    missing = [str(r) for r in args.runs if not (r / "results.json").is_file()]
    if missing:
        parser.error(f"no results.json in {', '.join(missing)} (not finished: warl train "
                     f"--resume DIR)")
    runs = [summarize(r) for r in args.runs]
    if args.figures is not None:
        args.figures.mkdir(parents=True, exist_ok=True)
        for run in runs:
            curve = Path(run["run_dir"]) / "plots" / "success_rate.png"
            if curve.is_file():
                slug = run["task"].replace("/", "__")
                shutil.copyfile(curve, args.figures / f"success_{slug}.png")
    met = sum(r["target_met"] for r in runs)
    write_json(args.out, {"runs": runs, "target_points": TARGET_POINTS,
                          "tasks_meeting_target": met})
    print(markdown(runs))
    print(f"\n{met} of {len(runs)} tasks at least +{TARGET_POINTS:.0f} points with "
          f"non-overlapping intervals")


if __name__ == "__main__":
    main()
