"""Where a loop's rollouts run, and batches of episodes sent there.

`open_backend` picks the rollout backend from ``train.backend`` (and ``asynchronous``):
inline, a thread, worker processes or Ray actors; `run_requests` splits a list of episodes
into calls of ``train.envs_per_worker`` episodes (one batch per worker) and gathers the
rollouts in request order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from warl.core.rollout.engine import EpisodeRequest, Rollout
from warl.core.training.collector import Backend, InlineBackend, ThreadBackend


def make_backend(session: Any, asynchronous: bool) -> Backend:
    c = session.config
    backend = c.backend
    if backend == "auto":
        # A worker process keeps the learner's updates/s at 0.98x its standalone rate, a
        # thread at 0.72x (benchmarks/workers.py); synchronous runs have nothing to overlap.
        backend = "process" if asynchronous else "inline"
    if backend == "ray":
        from warl.core.training.ray_backend import RayBackend

        return RayBackend(session.recipe(), c.workers)
    if backend == "process":
        from warl.core.training.workers import ProcessPool

        return ProcessPool(session.recipe(), c.workers)
    if asynchronous and backend == "thread":
        return ThreadBackend(session.collector)
    return InlineBackend(session.collector)


@contextmanager
def open_backend(session: Any, asynchronous: bool = False) -> Iterator[Backend]:
    """The configured backend as ``session.backend`` for the loop's duration."""
    backend = make_backend(session, asynchronous)
    session.backend = backend
    try:
        yield backend
    finally:
        backend.close()
        session.backend = InlineBackend(session.collector)


def run_requests(session: Any, backend: Backend, state: Any,
                 requests: Sequence[EpisodeRequest]) -> list[Rollout]:
    """``requests`` run ``train.envs_per_worker`` at a time on the backend's workers (all
    with ``state``), returned in request order."""
    per_call = session.config.envs_per_worker
    futures = [backend.submit("episodes", state, list(requests[i:i + per_call]))
               for i in range(0, len(requests), per_call)]
    return [rollout for future in futures for rollout in future.result()]


def batch_size(session: Any, backend: Backend) -> int:
    """Episodes one round of calls collects: envs per worker times workers."""
    return int(session.config.envs_per_worker * getattr(backend, "workers", 1))
