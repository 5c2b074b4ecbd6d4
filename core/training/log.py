"""A run's metrics: CSV files (the record) mirrored to TensorBoard.

``train.csv`` has one row per collected episode, ``eval.csv`` one row per evaluation. On
resume, rows logged after the checkpoint are dropped (they will be produced again), and
TensorBoard is opened with ``purge_step`` so its curves do not double back either.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TRAIN_COLUMNS = ("env_steps", "wall_s", "episode", "success", "return", "length",
                 "intervention_rate", "transitions", "updates", "achieved_utd", "updates_per_s",
                 "critic_loss", "actor_loss", "bc", "q")
ROUND_COLUMNS = ("round", "env_steps", "wall_s", "episodes", "intervention_rate", "success_rate",
                 "dataset", "updates", "bc")
DISTILL_COLUMNS = ("step", "kept_episodes", "transitions", "bc")
EVAL_COLUMNS = ("env_steps", "wall_s", "updates", "success_rate", "ci_low", "ci_high",
                "mean_episode_length", "trials")


class CsvLog:
    """Append-only CSV with fixed columns; ``keep_until`` drops rows past a checkpoint."""

    def __init__(self, path: Path, columns: tuple[str, ...], keep_until: int | None) -> None:
        self.path, self.columns = path, columns
        if keep_until is not None and path.is_file():
            rows = [r for r in read_csv(path) if float(r["env_steps"]) <= keep_until]
            self._rewrite(rows)
        elif not path.is_file():
            self._rewrite([])

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row: Mapping[str, Any]) -> None:
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.columns, extrasaction="ignore").writerow(
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
    def __init__(self, run_dir: Path, resume_step: int | None = None) -> None:
        self.run_dir = run_dir
        self.train = CsvLog(run_dir / "train.csv", TRAIN_COLUMNS, resume_step)
        self.eval = CsvLog(run_dir / "eval.csv", EVAL_COLUMNS, resume_step)
        # Created on first use: only round-based and distilling algorithms have them.
        self._rounds: CsvLog | None = None
        self._distill: CsvLog | None = None
        self._resume_step = resume_step
        self.tensorboard: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)
        except ImportError:  # tensorboard is optional; the CSVs are the record
            self.tensorboard = None

    def _scalars(self, prefix: str, row: Mapping[str, Any]) -> None:
        if self.tensorboard is None:
            return
        step = int(row["env_steps"])
        for key, value in row.items():
            if key != "env_steps" and isinstance(value, (int, float)) and not isinstance(
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

    def round(self, row: Mapping[str, Any]) -> None:
        """One row per round (HG-DAgger): the round's intervention rate is its headline."""
        if self._rounds is None:
            self._rounds = CsvLog(self.run_dir / "rounds.csv", ROUND_COLUMNS, self._resume_step)
        self._rounds.append(row)
        self._scalars("round", row)

    def distill(self, row: Mapping[str, Any]) -> None:
        """The distillation stage's BC loss (PLD); the stage reruns whole on resume."""
        if self._distill is None:
            self._distill = CsvLog(self.run_dir / "distill.csv", DISTILL_COLUMNS, None)
            self._distill._rewrite([])
        self._distill.append(row)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
