"""`warl bench --backend ray`: the bench's unfinished cells as Ray tasks, one core each.

Each task is a whole ``warl train`` run writing its own cell folder (so the folder must be on
storage every node sees: a local cluster, or a shared filesystem); a task that fails is
recorded like a failed cell, and finished ones are reported as they come back.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from warl.core.bench.matrix import BenchSpec, Cell
from warl.core.bench.runner import cell_state, failure_record


def _train_cell(request: dict[str, Any], out: str) -> tuple[str, str] | None:
    """One cell in a Ray worker: None when it finished, else (error, traceback)."""
    import torch

    from warl.core.training.run import quiet_torchrl, run_training

    torch.set_num_threads(1)  # one core per cell: the cluster runs the others beside it
    quiet_torchrl()
    try:
        run_training(request, Path(out), resume=cell_state(Path(out)) == "resume",
                     show_progress=False)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}", traceback.format_exc()
    return None


def run_on_ray(spec: BenchSpec, root: Path, cells: Sequence[Cell],
               echo: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    import ray

    from warl.core.training.ray_backend import ray_init

    owns = ray_init()
    failed: dict[str, dict[str, Any]] = {}
    try:
        task: Any = ray.remote(_train_cell)
        task = task.options(num_cpus=1, max_retries=0)
        pending = {task.remote(spec.request(c), str(c.path(root).resolve())): c for c in cells}
        echo(f"ray: {len(pending)} cell(s) on {ray.cluster_resources().get('CPU', 0):.0f} "
             f"core(s)")
        while pending:
            [done], _ = ray.wait(list(pending), num_returns=1)
            cell = pending.pop(done)
            try:
                outcome = ray.get(done)
            except Exception as exc:  # the task itself died (its worker was killed)
                outcome = (f"{type(exc).__name__}: {exc}", traceback.format_exc())
            if outcome is None:
                echo(f"{cell}: finished")
            else:
                failed[cell.relative_path()] = failure_record(cell, root, *outcome)
                echo(f"{cell}: failed: {outcome[0]}")
    finally:
        if owns:
            ray.shutdown()
    return failed
