"""`off_policy`: collect with the latest policy and update at a UTD ratio (HALO-WA 7.9).

Synchronous (``train.asynchronous=false``): exactly ``utd`` updates per collected transition,
collection and learning in turn. Asynchronous: the rollout worker collects the next episode
(in a thread, or in its own process with ``train.backend=process``) while the learner makes
at most ``utd`` updates per transition so far; both stop with the budget. Evaluations run in
the worker too, so the learner never waits for them.
"""

from __future__ import annotations

from typing import Any

from warl.core.training.collector import Backend, InlineBackend, Rollout, ThreadBackend
from warl.core.training.contract import OffPolicy, require
from warl.core.training.loops.ingest import Keep, ingest


def off_policy(session: Any, algorithm: Any, keep: Keep | None = None) -> None:
    """Train ``algorithm`` (`OffPolicy`) until the session's budget is spent."""
    require(algorithm, OffPolicy, session.algorithm_id, "off-policy")
    c, counters = session.config, session.counters
    learning_starts = int(getattr(getattr(algorithm, "config", None), "learning_starts",
                                  algorithm.batch_size))
    backend: Backend
    if c.backend == "process":
        from warl.core.training.workers import ProcessBackend

        backend = ProcessBackend(session.recipe())
    elif c.asynchronous and c.backend == "thread":
        backend = ThreadBackend(session.collector)
    else:
        backend = InlineBackend(session.collector)
    session.backend = backend
    pending = None

    def allowed() -> bool:
        # Asynchronous: the learner runs while data comes in, at most UTD updates per
        # transition, and stops with the rollouts; synchronous: exactly UTD per transition.
        if c.asynchronous and pending is None and not session.budget_left():
            return False
        return (counters.transitions >= learning_starts
                and counters.updates < algorithm.utd * counters.transitions)

    session.start_online()
    if counters.env_steps == 0:
        session.tick()
    metrics: dict[str, float] = {}
    session.updates_per_s()  # the learner's rate counts from here
    try:
        with session.progress("train", c.env_steps, min(counters.env_steps, c.env_steps)
                              ) as advance:
            while True:
                if pending is None and session.budget_left() and (
                        c.asynchronous or not allowed()):
                    seed = session.seed_of(counters.episodes)
                    pending = backend.submit("episode", session.rollout_state(), seed)
                if pending is not None and (pending.done() or not allowed()):
                    rollout: Rollout = pending.result()
                    pending = None
                    updates_per_s = session.updates_per_s()
                    steps = ingest(session, rollout, metrics, updates_per_s, keep)
                    advance(steps, **session.status(updates_per_s))
                    session.tick()
                    continue
                if session._pending_eval is not None and session._pending_eval[0].done():
                    session.finish_evaluation()
                if allowed():
                    metrics = algorithm.update(session.replay.sample(algorithm.batch_size))
                    counters.updates += 1
                    continue
                if pending is None:
                    break
        session.finish_evaluation()
    finally:
        backend.close()
        session.backend = InlineBackend(session.collector)
