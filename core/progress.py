"""One progress bar for every long job (demos, pretraining, evaluation, training)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Advance = Callable[..., None]


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True,
                 completed: int = 0) -> Iterator[Advance]:
    """Yield ``advance(n, **fields)``: moves the bar by n and shows ``key value`` fields.

    With ``enabled=False`` (tests, ``--quiet``) nothing is drawn and ``advance`` is a no-op.
    """
    if not enabled:
        yield lambda n=1, **fields: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(),
    )
    # stderr, so that `--json` output on stdout stays machine-readable.
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(description, total=total, completed=completed, status="")

        def advance(n: int = 1, **fields: Any) -> None:
            status = "  ".join(f"{k} {v}" for k, v in fields.items())
            progress.update(task, advance=n, status=status)

        yield advance
