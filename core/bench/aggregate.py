"""The numbers of a bench, from its finished cells.

Per method and task: the mean over seeds of the final success rate (SR) and mean episode length
(EL), with the per-seed values; per method the average over tasks; and the change against
WA-base (SR in points and relative, EL relative). Across seeds and tasks: the interquartile mean
(IQM) and mean SR with stratified-bootstrap 95% confidence intervals (rliable), which say how
much of a gap between two methods the seeds and tasks can support.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.bench.matrix import BASELINE, BenchSpec, Cell
from warl.core.errors import MissingExtraError

# rliable's own default is 50,000; 10,000 puts the CI bounds within ~0.5 pts of it at a fifth
# of the time (`--bootstrap-reps` sets it).
BOOTSTRAP_REPS = 10_000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Score:
    """One method's final evaluation in one cell: a row of the cell's ``results.json``."""

    method: str
    algo: str
    task: str
    seed: int
    success_rate: float
    ci95: tuple[float, float]
    episode_length: float
    trials: int
    env_steps: int
    updates: int
    wall_minutes: float
    run_dir: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Stats:
    """A method's SR and EL on one task (mean over seeds; ``over`` the seeds) or on average
    (mean over tasks; ``over`` the tasks), with the change against WA-base where it has the
    same ``over``. ``sr_change`` is in SR units (0.12 = +12 pts)."""

    success_rate: float
    episode_length: float
    success_rates: tuple[float, ...]
    episode_lengths: tuple[float, ...]
    over: tuple[Any, ...]
    sr_change: float | None = None
    sr_relative: float | None = None
    el_relative: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Summary:
    """``per_task[method][task]`` and ``average[method]``; a method or task without finished
    cells is absent from them but listed in ``methods`` / ``tasks``."""

    methods: list[str]
    tasks: list[str]
    per_task: dict[str, dict[str, Stats]]
    average: dict[str, Stats]


@dataclass(frozen=True)
class Interval:
    """Aggregate SR of one method over a ``runs`` x ``tasks`` score matrix, with 95% CIs."""

    iqm: float
    iqm_ci: tuple[float, float]
    mean: float
    mean_ci: tuple[float, float]
    runs: int
    tasks: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- reading the cells ------------------------------------------------------------------------
def load_scores(spec: BenchSpec, root: Path) -> tuple[list[Score], list[Cell]]:
    """Every row of every finished cell, and the cells that have not finished."""
    scores: list[Score] = []
    missing: list[Cell] = []
    for cell in spec.cells():
        path = cell.path(root) / "results.json"
        if not path.is_file():
            missing.append(cell)
            continue
        summary = json.loads(path.read_text())
        scores += [cell_score(cell, summary, row) for row in summary["rows"]]
    return scores, missing


def cell_score(cell: Cell, summary: Mapping[str, Any], row: Mapping[str, Any]) -> Score:
    low, high = row["success_rate_ci95"]
    # A variant's rows carry its label: ``wovr`` of cell ``wovr@no-kir`` is ``wovr@no-kir``.
    method = str(row["method"])
    if cell.algo != cell.plugin and method.startswith(cell.plugin):
        method = cell.algo + method[len(cell.plugin):]
    return Score(method=method, algo=cell.algo, task=cell.env, seed=cell.seed,
                 success_rate=float(row["success_rate"]), ci95=(float(low), float(high)),
                 episode_length=float(row["mean_episode_length"]), trials=int(row["trials"]),
                 env_steps=int(summary.get("online_env_steps", 0)),
                 updates=int(summary.get("updates", 0)),
                 wall_minutes=float(summary.get("total_minutes", 0.0)),
                 run_dir=str(summary.get("run_dir", cell.relative_path())))


def method_order(algos: Sequence[str], scores: Sequence[Score]) -> list[str]:
    """WA-base first, then every algorithm in the given order, each followed by the variants
    its cells report (e.g. ``pld-distilled`` after ``pld``)."""
    order = [BASELINE] if BASELINE in algos else []
    for algo in algos:
        if algo != BASELINE:
            order.append(algo)
        order += [s.method for s in scores if s.algo == algo and s.method != algo]
    order += [s.method for s in scores]
    return list(dict.fromkeys(order))


# --- means and changes against WA-base --------------------------------------------------------
def relative(value: float, base: float) -> float | None:
    return None if base == 0 else (value - base) / base


def _mean_stats(success_rates: Sequence[float], episode_lengths: Sequence[float],
                over: Sequence[Any]) -> Stats:
    return Stats(float(np.mean(success_rates)), float(np.mean(episode_lengths)),
                 tuple(success_rates), tuple(episode_lengths), tuple(over))


def _against(stats: Stats, base: Stats | None) -> Stats:
    """``stats`` with its change against ``base`` (none unless both cover the same seeds or
    tasks: a mean over other ones is no comparison)."""
    if base is None or base is stats or set(base.over) != set(stats.over):
        return stats
    return Stats(stats.success_rate, stats.episode_length, stats.success_rates,
                 stats.episode_lengths, stats.over,
                 sr_change=stats.success_rate - base.success_rate,
                 sr_relative=relative(stats.success_rate, base.success_rate),
                 el_relative=relative(stats.episode_length, base.episode_length))


def _task_stats(scores: Sequence[Score]) -> Stats:
    ordered = sorted(scores, key=lambda s: s.seed)
    return _mean_stats([s.success_rate for s in ordered], [s.episode_length for s in ordered],
                       [s.seed for s in ordered])


def _average(per_task: Mapping[str, Stats], tasks: Sequence[str]) -> Stats:
    present = [t for t in tasks if t in per_task]
    return _mean_stats([per_task[t].success_rate for t in present],
                       [per_task[t].episode_length for t in present], present)


def summarize(scores: Sequence[Score], methods: Sequence[str], tasks: Sequence[str],
              baseline: str = BASELINE) -> Summary:
    """Seed means per method and task, task means per method, and changes against
    ``baseline`` (when it is among the methods)."""
    raw: dict[str, dict[str, Stats]] = {}
    for method in methods:
        for task in tasks:
            mine = [s for s in scores if s.method == method and s.task == task]
            if mine:
                raw.setdefault(method, {})[task] = _task_stats(mine)
    averages = {m: _average(per_task, tasks) for m, per_task in raw.items()}
    base_tasks, base_average = raw.get(baseline, {}), averages.get(baseline)
    per_task = {m: {t: _against(s, base_tasks.get(t)) for t, s in by_task.items()}
                for m, by_task in raw.items()}
    average = {m: _against(s, base_average) for m, s in averages.items()}
    return Summary(list(methods), list(tasks), per_task, average)


# --- IQM with stratified-bootstrap confidence intervals -------------------------------------
def require_rliable() -> Any:
    """rliable's ``(library, metrics)``, or the error that says how to install it."""
    try:
        from rliable import library, metrics
    except ImportError:
        raise MissingExtraError("warl bench", "rliable", "pip install 'warl[bench]'") from None
    return library, metrics


def score_matrix(per_task: Mapping[str, Stats], tasks: Sequence[str]) -> np.ndarray:
    """runs x tasks SRs over the tasks with results; a task with more seeds than another
    contributes its first ones (a missing cell shrinks the runs, never pads them)."""
    columns = [per_task[t].success_rates for t in tasks if t in per_task]
    runs = min(len(c) for c in columns)
    return np.array([c[:runs] for c in columns], dtype=float).T


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """rliable's stratified bootstrap draws from NumPy's global generator: seed it for
    reproducible intervals, and leave it as it was."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def interval_estimates(summary: Summary, reps: int = BOOTSTRAP_REPS,
                       seed: int = BOOTSTRAP_SEED) -> dict[str, Interval]:
    """IQM and mean SR per method with 95% percentile CIs of a stratified bootstrap over
    runs (seeds) within each task and over tasks (``task_bootstrap``): with one seed the
    interval still reflects the spread across tasks, with one task the spread across seeds."""
    library, metrics = require_rliable()
    matrices = {m: score_matrix(summary.per_task[m], summary.tasks)
                for m in summary.methods if m in summary.per_task}
    if not matrices:
        return {}

    def aggregates(scores: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(scores), metrics.aggregate_mean(scores)])

    with _seeded(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arch: random_state -> generator
        points, intervals = library.get_interval_estimates(
            matrices, aggregates, reps=reps, task_bootstrap=True,
            random_state=np.random.RandomState(seed))
    return {m: Interval(iqm=float(points[m][0]),
                        iqm_ci=(float(intervals[m][0][0]), float(intervals[m][1][0])),
                        mean=float(points[m][1]),
                        mean_ci=(float(intervals[m][0][1]), float(intervals[m][1][1])),
                        runs=int(matrix.shape[0]), tasks=int(matrix.shape[1]))
            for m, matrix in matrices.items()}
