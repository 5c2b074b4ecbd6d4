"""Runs the cells of a bench one after the other, each as a ``warl train`` run.

A finished cell (``results.json`` there) is skipped, a started one (``config.json`` only: it
was stopped or killed) is resumed, the others are started. A cell that raises does not stop the
bench: its error goes to ``BENCH_DIR/errors.json`` and the report marks the cell missing; the
next run of the bench tries it again.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warl.core.bench.matrix import BenchSpec, Cell
from warl.core.runs import write_json

ERRORS_FILE = "errors.json"


def _stderr(line: str) -> None:
    # stderr, so that `--json` output on stdout stays machine-readable.
    print(line, file=sys.stderr, flush=True)


def cell_state(out: Path) -> str:
    """``done``, ``resume`` (a started run folder) or ``new``."""
    if (out / "results.json").is_file():
        return "done"
    return "resume" if (out / "config.json").is_file() else "new"


def failure_record(cell: Cell, root: Path, error: str, trace: str) -> dict[str, Any]:
    return {"cell": str(cell), "algo": cell.algo, "env": cell.env, "seed": cell.seed,
            "run_dir": str(cell.path(root)), "error": error, "traceback": trace}


def read_errors(root: Path) -> dict[str, dict[str, Any]]:
    path = root / ERRORS_FILE
    errors: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.is_file() else {}
    return errors


def _failure(cell: Cell, root: Path, exc: BaseException) -> dict[str, Any]:
    return failure_record(cell, root, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def run_cells(spec: BenchSpec, root: Path, *, show_progress: bool = True, registry: Any = None,
              echo: Callable[[str], None] = _stderr, backend: str = "local"
              ) -> dict[str, dict[str, Any]]:
    """Run every unfinished cell of ``spec`` in ``root``, one after the other, or with
    ``backend="ray"`` as Ray tasks spread over the cluster (one core each); returns the
    failures of this run, keyed by the cell's folder relative to ``root`` (as in
    ``errors.json``)."""
    from warl.core.training.run import quiet_torchrl, run_training

    quiet_torchrl()
    cells = spec.cells()
    errors = read_errors(root)
    failed: dict[str, dict[str, Any]] = {}
    todo = []
    for i, cell in enumerate(cells, 1):
        state = cell_state(cell.path(root))
        note = {"done": ": finished, skipped", "resume": ": resuming", "new": ""}[state]
        echo(f"[{i}/{len(cells)}] {cell}{note}")
        if state == "done":
            continue
        if backend == "ray":
            todo.append(cell)
            continue
        try:
            run_training(spec.request(cell), cell.path(root), resume=state == "resume",
                         show_progress=show_progress, registry=registry)
        except Exception as exc:  # the other cells still run; the report marks it missing
            failed[cell.relative_path()] = _failure(cell, root, exc)
            echo(f"[{i}/{len(cells)}] {cell}: failed: {failed[cell.relative_path()]['error']}")
    if todo:
        from warl.core.bench.ray_cells import run_on_ray

        failed.update(run_on_ray(spec, root, todo, echo))
    for cell in cells:
        key = cell.relative_path()
        if key in failed:
            errors[key] = failed[key]
        elif key in errors:  # failed in an earlier run of the bench, finished now
            del errors[key]
        else:
            continue
        write_json(root / ERRORS_FILE, errors)
    return failed
