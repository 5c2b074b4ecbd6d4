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

    console = Console(stderr=True)
    if not console.is_terminal:  # a log file (nohup, CI): a line now and then, not a bar
        with _log_lines(description, total, completed) as advance:
            yield advance
        return
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
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(description, total=total, completed=completed, status="")

        def advance(n: int = 1, **fields: Any) -> None:
            status = "  ".join(f"{k} {v}" for k, v in fields.items())
            progress.update(task, advance=n, status=status)

        yield advance


LOG_EVERY_S = 30.0


@contextmanager
def _log_lines(description: str, total: int, completed: int) -> Iterator[Advance]:
    """Progress as plain lines on stderr, at most one per ``LOG_EVERY_S`` seconds and one
    at the end, for output that is not a terminal."""
    import sys
    import time

    start = last = time.monotonic()
    done, status, shown = completed, "", -1

    def line() -> None:
        nonlocal shown
        shown = done
        elapsed = time.monotonic() - start
        share = f" ({100 * done / total:.0f}%)" if total else ""
        print(f"{description}: {done}/{total}{share} {status} [{elapsed:.0f} s]".rstrip(),
              file=sys.stderr, flush=True)

    def advance(n: int = 1, **fields: Any) -> None:
        nonlocal done, status, last
        done += n
        status = "  ".join(f"{k} {v}" for k, v in fields.items())
        if time.monotonic() - last >= LOG_EVERY_S:
            last = time.monotonic()
            line()

    yield advance
    if shown != done:
        line()
