"""Renders a bench folder from its cells: ``results.md``, ``figures/`` and
``bench_results.json``. Nothing is trained, so a report can be redone at any time (after a
partial run, or after more cells have finished)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warl.core.bench.aggregate import (
    BOOTSTRAP_REPS,
    BOOTSTRAP_SEED,
    interval_estimates,
    load_scores,
    method_order,
    summarize,
)
from warl.core.bench.figures import plot_bench
from warl.core.bench.matrix import read_spec
from warl.core.bench.runner import read_errors
from warl.core.bench.table import results_markdown
from warl.core.runs import write_json

RESULTS_MD = "results.md"
RESULTS_JSON = "bench_results.json"


def render(root: Path, reps: int | None = None) -> dict[str, Any]:
    """Write the bench's results from its finished cells; returns ``bench_results.json``.
    ``reps``: bootstrap replications of the IQM intervals (default `BOOTSTRAP_REPS`)."""
    reps = reps or BOOTSTRAP_REPS
    spec = read_spec(root)
    scores, missing = load_scores(spec, root)
    summary = summarize(scores, method_order(spec.algos, scores), spec.envs)
    intervals = interval_estimates(summary, reps)
    errors = read_errors(root)
    figures = plot_bench(root, spec, summary, intervals)
    (root / RESULTS_MD).write_text(
        results_markdown(spec, summary, intervals, scores, missing, errors, figures))
    data = {
        "bench_dir": str(root), "spec": spec.to_dict(),
        "methods": summary.methods, "tasks": summary.tasks,
        "cells": [s.to_dict() for s in scores],
        "per_task": {m: {t: s.to_dict() for t, s in by_task.items()}
                     for m, by_task in summary.per_task.items()},
        "average": {m: s.to_dict() for m, s in summary.average.items()},
        "iqm": {m: i.to_dict() for m, i in intervals.items()},
        "bootstrap": {"method": "percentile, stratified over seeds within tasks and over tasks",
                      "confidence": 0.95, "reps": reps, "seed": BOOTSTRAP_SEED},
        "missing": [{"cell": str(c), "run_dir": c.relative_path(),
                     "error": errors.get(c.relative_path(), {}).get("error")}
                    for c in missing],
        "results": RESULTS_MD, "figures": figures,
    }
    write_json(root / RESULTS_JSON, data)
    return data
