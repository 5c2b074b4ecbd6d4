"""The bench's ``results.md``: the paper-style comparison table (methods x tasks, best and
second best marked per column), the IQM table and what produced them (budgets, seeds, trials,
wall time)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from warl.core.bench.aggregate import Interval, Score, Stats, Summary
from warl.core.bench.matrix import BenchSpec, Cell

MISSING = "-"


def short_names(tasks: Sequence[str]) -> dict[str, str]:
    """``metaworld/hammer`` -> ``hammer`` when that leaves the names distinct."""
    short = {t: t.rsplit("/", 1)[-1] for t in tasks}
    return short if len(set(short.values())) == len(short) else {t: t for t in tasks}


def ranks(values: Sequence[float | None], higher_is_better: bool = True) -> list[int]:
    """Competition ranks, kept for the first two places: 1 for the best value, 2 for the
    second (ties share a rank and the next rank is skipped, so when two methods tie for best
    none is second), 0 for the rest and for missing values. Values are compared as displayed
    (``round`` them first)."""
    present = [v for v in values if v is not None]

    def place(v: float) -> int:
        better = sum(1 for w in present if (w > v if higher_is_better else w < v))
        return better + 1 if better < 2 else 0

    return [0 if v is None else place(v) for v in values]


def emphasize(text: str, rank: int) -> str:
    """Best **bold**, second <u>underlined</u> (Markdown has no underline; HTML does)."""
    return f"**{text}**" if rank == 1 else f"<u>{text}</u>" if rank == 2 else text


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def sr_text(stats: Stats | None) -> str:
    """``72.0 (+118.2%; +39.0 pts)``: SR in %, relative change and points against WA-base."""
    if stats is None:
        return MISSING
    text = f"{100 * stats.success_rate:.1f}"
    if stats.sr_change is not None:
        text += f" ({_percent(stats.sr_relative)}; {100 * stats.sr_change:+.1f} pts)"
    return text


def el_text(stats: Stats | None) -> str:
    """``231.5 (-42.3%)``: mean episode length and its relative change against WA-base."""
    if stats is None:
        return MISSING
    text = f"{stats.episode_length:.1f}"
    if stats.el_relative is not None:
        text += f" ({_percent(stats.el_relative)})"
    return text


def _column(cells: Sequence[Stats | None],
            ranked: Sequence[bool] | None = None) -> tuple[list[str], list[str]]:
    """A column's SR and EL cells, best and second marked (SR: higher, EL: lower is better)
    among the ``ranked`` ones (default: all)."""
    ranked = ranked or [True] * len(cells)
    shown = [s if r else None for s, r in zip(cells, ranked, strict=True)]
    sr = [None if s is None else round(100 * s.success_rate, 1) for s in shown]
    el = [None if s is None else round(s.episode_length, 1) for s in shown]
    return ([emphasize(sr_text(s), r) for s, r in zip(cells, ranks(sr), strict=True)],
            [emphasize(el_text(s), r) for s, r in zip(cells, ranks(el, False), strict=True)])


def main_table(summary: Summary) -> str:
    """Rows: methods; columns: SR and EL of every task, then their average over tasks."""
    names = short_names(summary.tasks)
    header: list[str] = ["method"]
    columns: list[list[str]] = []
    for task in summary.tasks:
        header += [f"{names[task]} SR (%) ↑", f"{names[task]} EL ↓"]
        columns += _column([summary.per_task.get(m, {}).get(task) for m in summary.methods])
    header += ["Average SR (%) ↑", "Average EL ↓"]
    averages = [summary.average.get(m) for m in summary.methods]
    # An average over fewer tasks is shown, marked, and not ranked: it is no comparison.
    complete = [s is not None and len(s.over) == len(summary.tasks) for s in averages]
    columns += _column(averages, complete)
    for i, stats in enumerate(averages):
        if stats is not None and not complete[i]:
            columns[-2][i] += f" ({len(stats.over)}/{len(summary.tasks)} tasks)"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, method in enumerate(summary.methods):
        lines.append("| " + " | ".join([method, *(c[i] for c in columns)]) + " |")
    return "\n".join(lines) + "\n"


def iqm_table(methods: Sequence[str], intervals: Mapping[str, Interval], tasks: int) -> str:
    """IQM and mean SR over every seed and task, with their 95% bootstrap CIs; methods with
    results on all ``tasks`` are ranked."""
    shown = [m for m in methods if m in intervals]
    iqm_ranks = ranks([round(100 * intervals[m].iqm, 1) if intervals[m].tasks == tasks
                       else None for m in shown])
    lines = ["| method | IQM SR (%) ↑ | 95% CI | mean SR (%) | 95% CI | seeds x tasks |",
             "|---|---|---|---|---|---|"]
    for method, rank in zip(shown, iqm_ranks, strict=True):
        i = intervals[method]
        lines.append(f"| {method} | {emphasize(f'{100 * i.iqm:.1f}', rank)} | "
                     f"{100 * i.iqm_ci[0]:.1f}-{100 * i.iqm_ci[1]:.1f} | {100 * i.mean:.1f} | "
                     f"{100 * i.mean_ci[0]:.1f}-{100 * i.mean_ci[1]:.1f} | "
                     f"{i.runs} x {i.tasks} |")
    return "\n".join(lines) + "\n"


def cost_table(spec: BenchSpec, scores: Sequence[Score]) -> str:
    """What each algorithm's cells used: env steps, updates and wall time (all stages)."""
    lines = ["| algorithm | cells finished | online env steps (mean) | updates (mean) | "
             "wall min per cell (mean) | wall min (total) |", "|---|---|---|---|---|---|"]
    total = spec.seeds * len(spec.envs)
    for algo in spec.algos:
        own = [s for s in scores if s.algo == algo and s.method == algo]
        if not own:
            lines.append(f"| {algo} | 0/{total} | {MISSING} | {MISSING} | {MISSING} | "
                         f"{MISSING} |")
            continue
        wall = [s.wall_minutes for s in own]
        lines.append(f"| {algo} | {len(own)}/{total} | "
                     f"{np.mean([s.env_steps for s in own]):.0f} | "
                     f"{np.mean([s.updates for s in own]):.0f} | {np.mean(wall):.1f} | "
                     f"{sum(wall):.1f} |")
    return "\n".join(lines) + "\n"


def budget_lines(spec: BenchSpec) -> list[str]:
    """The facts every number of the tables depends on."""
    limit = f"{spec.minutes:g} min" if spec.minutes else "none"
    lines = [
        f"- budget per cell: {spec.budget} online env steps, the same for every trained "
        f"method; wall-clock limit: {limit}",
        f"- seeds: {spec.seeds} per method and task (training seeds "
        f"{'0' if spec.seeds == 1 else f'0-{spec.seeds - 1}'}); SR and EL are means over them",
        f"- final evaluation: {spec.trials} trials, the same fixed seeds for every method",
        f"- recipe: {spec.recipe}; deployment gap: "
        f"{'the recipe' + chr(39) + 's' if spec.gap is None else spec.gap}; WA model: "
        f"{spec.wa_model}",
    ]
    for key, value in (("shared train settings", spec.train), ("WA settings", spec.wa),
                       *((f"{algo} settings", s) for algo, s in spec.algorithm.items())):
        if value:
            lines.append(f"- {key}: " + ", ".join(f"{k}={v}" for k, v in value.items()))
    return lines


def missing_lines(missing: Sequence[Cell], errors: Mapping[str, Mapping[str, Any]]) -> list[str]:
    out = []
    for cell in missing:
        error = errors.get(cell.relative_path())
        out.append(f"- {cell}: " + (f"failed: {error['error']}" if error else "not finished"))
    return out


def results_markdown(spec: BenchSpec, summary: Summary, intervals: Mapping[str, Interval],
                     scores: Sequence[Score], missing: Sequence[Cell],
                     errors: Mapping[str, Mapping[str, Any]], figures: Sequence[str]) -> str:
    """The whole ``results.md``."""
    names = short_names(summary.tasks)
    body = [f"# Bench: {', '.join(spec.algos)} on {len(spec.envs)} task(s)", "",
            *budget_lines(spec), "",
            "## Final success rate (SR) and episode length (EL)", "",
            "Mean over seeds of each cell's final evaluation. In parentheses: the change "
            "against wa-base (SR relative and in points, EL relative). Per column, the best "
            "value is **bold** and the second <u>underlined</u> (SR: higher is better, EL: "
            "lower). Average: the mean over tasks; one over fewer tasks (a cell missing) is "
            "marked and not ranked.", "", main_table(summary)]
    if any(names[t] != t for t in summary.tasks):
        body += ["Tasks: " + ", ".join(f"{names[t]} = `{t}`" for t in summary.tasks), ""]
    body += ["## Interquartile mean (IQM) across seeds and tasks", "",
             "SR over the seeds x tasks matrix of each method; 95% percentile intervals of a "
             "stratified bootstrap over seeds within tasks and over tasks (rliable). Only "
             "methods with results on every task are ranked.", "",
             iqm_table(summary.methods, intervals, len(summary.tasks)) if intervals
             else "No finished cells yet.\n",
             "## Cost", "", cost_table(spec, scores)]
    if missing:
        body += ["## Missing cells", "", *missing_lines(missing, errors), ""]
    if figures:
        body += ["## Figures", "", *(f"- [{f}]({f})" for f in figures), ""]
    return "\n".join(body).rstrip() + "\n"
