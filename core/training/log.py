"""A run's metrics: CSV files (the record) mirrored to TensorBoard.

``train.csv`` has one row per collected episode (or group), ``eval.csv`` one row per
evaluation; an algorithm may add tables of its own (``rounds.csv``, ``distill.csv``, ...) with
`RunLog.table`. Columns grow with whatever metrics an algorithm returns: the loop's own columns
come first, and a metric seen for the first time adds a column (the file is rewritten with the
wider header; earlier rows leave it empty). On resume, rows logged after the checkpoint are
dropped (they will be produced again), and TensorBoard is opened with ``purge_step`` so its
curves do not double back either. Rows are placed by "steps": env steps plus imagined steps
(in a world-model env), so imagination-only runs resume as exactly as real ones.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TRAIN_COLUMNS = ("env_steps", "wall_s", "episode", "success", "return", "length",
                 "intervention_rate", "transitions", "updates", "achieved_utd", "updates_per_s")
EVAL_COLUMNS = ("env_steps", "wall_s", "updates", "success_rate", "ci_low", "ci_high",
                "mean_episode_length", "trials")


def steps_of(row: Mapping[str, Any]) -> float:
    """Where a row stands: its env steps plus its imagined steps."""
    return sum(float(row[k]) for k in ("env_steps", "imagined_steps")
               if row.get(k) not in (None, ""))


class CsvLog:
    """Append-only CSV whose columns grow; ``keep_until`` drops rows past a checkpoint (by
    `steps_of`, or by ``episode`` for ``train.csv``) and ``None`` keeps every row."""

    def __init__(self, path: Path, columns: Sequence[str], keep_until: int | None,
                 key: str = "steps") -> None:
        self.path, self.columns = path, list(columns)
        if path.is_file():
            rows = read_csv(path)
            with path.open(newline="") as f:
                header = next(csv.reader(f), [])
            self.columns += [c for c in header if c not in self.columns]
            if keep_until is not None:
                rows = [r for r in rows if (steps_of(r) if key == "steps"
                                            else float(r.get(key) or 0)) <= keep_until]
            self._rewrite(rows)
        else:
            self._rewrite([])

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row: Mapping[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        if new:  # a metric seen for the first time: widen the header, keep the rows
            self.columns += new
            self._rewrite(read_csv(self.path))
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(
                {k: _fmt(row.get(k)) for k in self.columns})


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def column(rows: list[dict[str, Any]], name: str) -> list[float]:
    return [float(r[name]) if r.get(name) not in (None, "") else math.nan for r in rows]


class RunLog:
    """``train.csv``, ``eval.csv`` and named tables of a run folder, plus TensorBoard.

    ``resume``: the checkpoint's counters (``env_steps``, ``imagined_steps``, ``episodes``)
    when continuing a run; rows logged after it are dropped."""

    def __init__(self, run_dir: Path, resume: Any = None) -> None:
        self.run_dir = run_dir
        resume_step = None if resume is None else resume.env_steps + resume.imagined_steps
        episodes = None if resume is None else resume.episodes
        self.train = CsvLog(run_dir / "train.csv", TRAIN_COLUMNS, episodes, key="episode")
        self.eval = CsvLog(run_dir / "eval.csv", EVAL_COLUMNS, resume_step)
        self._tables: dict[str, CsvLog] = {}
        self._resume_step = resume_step
        self.tensorboard: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)
        except ImportError:  # tensorboard is optional; the CSVs are the record
            self.tensorboard = None

    def _scalars(self, prefix: str, row: Mapping[str, Any], step_key: str = "env_steps") -> None:
        if self.tensorboard is None or step_key not in row:
            return
        step = int(steps_of(row)) if step_key == "env_steps" else int(row[step_key])
        for key, value in row.items():
            if key != step_key and isinstance(value, (int, float)) and not isinstance(
                    value, bool) and math.isfinite(value):
                self.tensorboard.add_scalar(f"{prefix}/{key}", value, step)

    def episode(self, row: Mapping[str, Any]) -> None:
        self.train.append(row)
        self._scalars("train", row)

    def evaluation(self, row: Mapping[str, Any]) -> None:
        self.eval.append(row)
        self._scalars("eval", row)
        if self.tensorboard is not None:
            self.tensorboard.flush()

    def table(self, name: str, row: Mapping[str, Any], *, step_key: str = "env_steps",
              restart: bool = False) -> None:
        """A row of ``<name>.csv`` (and TensorBoard ``<name>/...`` against ``step_key``).
        Rows past the checkpoint are dropped on resume when the table has ``env_steps``;
        ``restart`` empties the table first (a stage that reruns whole)."""
        log = self._tables.get(name)
        if log is None:
            keep = self._resume_step if "env_steps" in row else None
            log = self._tables[name] = CsvLog(self.run_dir / f"{name}.csv", list(row), keep)
            if restart:
                log._rewrite([])
        log.append(row)
        self._scalars(name, row, step_key)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
