"""The bench's figures, under ``BENCH_DIR/figures/``:

- ``curves_<task>.png``: evaluation SR during training against env steps per algorithm (mean
  over seeds, min-max band), WA-base as a dashed line: whether a method is still improving when
  the budget ends, and how fast it passes WA-base.
- ``interventions_<task>.png``: intervention rate against env steps for algorithms whose
  training had interventions (running mean of ``train.csv``; per round from ``rounds.csv``).
- ``iqm.png``: IQM and mean SR per method with their 95% bootstrap intervals.

Only finished cells are drawn, as in the tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.bench.aggregate import Interval, Summary
from warl.core.bench.matrix import BASELINE, BenchSpec, Cell
from warl.core.training.log import column, read_csv
from warl.core.training.plots import rolling_mean

Curve = tuple[np.ndarray, np.ndarray]
WINDOW = 20  # training episodes in a running mean, as in a run's own plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def task_slug(task: str) -> str:
    return task.replace("/", "__")


def read_curve(path: Path, y_key: str, window: int = 1) -> Curve | None:
    """``y_key`` against ``env_steps`` from a CSV of a run folder (running mean over
    ``window`` rows); None when the file is absent or empty."""
    if not path.is_file():
        return None
    rows = read_csv(path)
    x, y = np.asarray(column(rows, "env_steps")), np.asarray(column(rows, y_key))
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if window > 1 and len(y):
        y = rolling_mean(list(y), window)
        x = x[len(x) - len(y):]
    # The final evaluation is logged at the env steps of the last one during training: the
    # later row (more trials) stands.
    last = dict(zip(x.tolist(), y.tolist(), strict=True))
    steps = np.array(sorted(last))
    return (steps, np.array([last[s] for s in steps])) if len(steps) else None


def mean_band(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeds evaluate at slightly different env steps (at episode ends, and a run ends up to
    an episode past the budget): interpolate every curve onto the steps of all of them, a
    curve holding its last value past its end, then mean, min and max. The last point is
    thus the mean of the final evaluations, as in the table."""
    grid = np.unique(np.concatenate([x for x, _ in curves]))
    ys = np.array([np.interp(grid, x, y) for x, y in curves])
    return grid, ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0)


def _draw(ax: Any, curves: Sequence[Curve], label: str, color: str, fmt: str = "-") -> None:
    grid, mean, low, high = mean_band(curves)
    if len(grid) == 1 and fmt == "-":
        fmt = "o"  # a lone point needs a marker to show
    seeds = f" ({len(curves)} seeds)" if len(curves) > 1 else ""
    ax.plot(grid, mean, fmt, color=color, label=f"{label}{seeds}")
    if len(curves) > 1:
        ax.fill_between(grid, low, high, color=color, alpha=0.2)


def _cell_curves(root: Path, spec: BenchSpec, algo: str, task: str, file: str, y_key: str,
                 window: int = 1) -> list[Curve]:
    """One curve per finished cell of ``algo`` on ``task``."""
    curves = []
    for seed in range(spec.seeds):
        cell = Cell(algo, task, seed).path(root)
        curve = read_curve(cell / file, y_key, window) if (cell / "results.json").is_file() \
            else None
        if curve is not None:
            curves.append(curve)
    return curves


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def _finish_task_plot(fig: Any, ax: Any, drawn: bool, task: str, ylabel: str,
                      path: Path) -> Path | None:
    """A rate (0-1) against env steps for one task: labelled and saved, or dropped when
    nothing was drawn."""
    if not drawn:
        _pyplot().close(fig)
        return None
    ax.set(title=task, xlabel="env steps", ylabel=ylabel, ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_curves(root: Path, spec: BenchSpec, summary: Summary, task: str,
                colors: Mapping[str, str]) -> Path | None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for algo in spec.algos:
        curves = [] if algo == BASELINE else _cell_curves(root, spec, algo, task, "eval.csv",
                                                          "success_rate")
        if curves:
            _draw(ax, curves, algo, colors[algo], "o-")
            drawn = True
    base = summary.per_task.get(BASELINE, {}).get(task)
    if base is not None:
        ax.axhline(base.success_rate, color="gray", linestyle="--", label=f"{BASELINE} (final)")
        drawn = True
    return _finish_task_plot(fig, ax, drawn, task, "evaluation success rate",
                             root / "figures" / f"curves_{task_slug(task)}.png")


def plot_interventions(root: Path, spec: BenchSpec, task: str,
                       colors: Mapping[str, str]) -> Path | None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for algo in spec.algos:
        episodes = _cell_curves(root, spec, algo, task, "train.csv", "intervention_rate", WINDOW)
        rounds = _cell_curves(root, spec, algo, task, "rounds.csv", "intervention_rate")
        if any(np.any(y > 0) for _, y in episodes):
            _draw(ax, episodes, f"{algo} (mean of {WINDOW} episodes)", colors[algo])
            drawn = True
        if any(np.any(y > 0) for _, y in rounds):
            _draw(ax, rounds, f"{algo} (per round)", colors[algo], "s--")
            drawn = True
    return _finish_task_plot(fig, ax, drawn, task, "intervention rate",
                             root / "figures" / f"interventions_{task_slug(task)}.png")


def plot_intervals(root: Path, methods: Sequence[str], intervals: Mapping[str, Interval],
                   colors: Mapping[str, str]) -> Path | None:
    shown = [m for m in methods if m in intervals]
    if not shown:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.6 * len(shown) + 1.4), sharey=True)
    for ax, (name, point, ci) in zip(axes, (("IQM", "iqm", "iqm_ci"), ("mean", "mean",
                                                                       "mean_ci")), strict=True):
        for row, method in enumerate(shown):
            value = 100 * getattr(intervals[method], point)
            low, high = (100 * v for v in getattr(intervals[method], ci))
            ax.errorbar([value], [row], xerr=[[value - low], [high - value]], fmt="o",
                        capsize=4, color=colors[method])
        ax.set(xlabel=f"{name} success rate (%), 95% CI", xlim=(-2, 102))
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(range(len(shown)), shown)
    axes[0].invert_yaxis()
    return _save(fig, root / "figures" / "iqm.png")


def plot_bench(root: Path, spec: BenchSpec, summary: Summary,
               intervals: Mapping[str, Interval]) -> list[str]:
    """Write every figure; returns their paths relative to ``root``."""
    (root / "figures").mkdir(exist_ok=True)
    names = list(dict.fromkeys([*summary.methods, *spec.algos]))
    colors = {m: f"C{i % 10}" for i, m in enumerate(names)}
    written: list[Path | None] = []
    for task in spec.envs:
        written += [plot_curves(root, spec, summary, task, colors),
                    plot_interventions(root, spec, task, colors)]
    written.append(plot_intervals(root, summary.methods, intervals, colors))
    return [str(p.relative_to(root)) for p in written if p is not None]
