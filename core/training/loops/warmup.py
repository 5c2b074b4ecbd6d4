"""`bc_warmup`: offline updates on the demonstration buffer before any online data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def bc_warmup(session: Any, step: Callable[[Any], dict[str, float]], steps: int,
              batch_size: int, metric: str = "warmup_bc") -> None:
    """``steps`` calls of ``step(batch of the demonstrations)``, resumable through
    ``session.counters.warmup_updates``; nothing without demonstrations."""
    counters = session.counters
    if not steps or not len(session.demos):
        return
    with session.progress("BC warm-up", steps, counters.warmup_updates) as advance:
        while counters.warmup_updates < steps:
            metrics = step(session.demos.sample(batch_size))
            counters.warmup_updates += 1
            advance(1, bc=f"{metrics.get(metric, 0.0):.4f}")
