"""`off_policy`: collect with the latest policy and update at a UTD ratio (HALO-WA 7.9).

Synchronous (``train.asynchronous=false``): exactly ``utd`` updates per collected transition,
collection and learning in turn. Asynchronous: the rollout workers collect the next episodes
(in a thread, in worker processes with ``train.backend=process``, or in Ray actors with
``ray``) while the learner makes at most ``utd`` updates per transition so far; both stop
with the budget. Each call collects ``train.envs_per_worker`` episodes, and each of the
``train.workers`` workers has one call in flight; episodes are stored in the order they were
requested. Evaluations run in the workers too, so the learner never waits for them.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from typing import Any

from warl.core.rollout.engine import EpisodeRequest, Rollout
from warl.core.training.contract import OffPolicy, require
from warl.core.training.loops.batches import open_backend
from warl.core.training.loops.ingest import Keep, ingest


def off_policy(session: Any, algorithm: Any, keep: Keep | None = None) -> None:
    """Train ``algorithm`` (`OffPolicy`) until the session's budget is spent."""
    require(algorithm, OffPolicy, session.algorithm_id, "off-policy")
    c, counters = session.config, session.counters
    learning_starts = int(getattr(getattr(algorithm, "config", None), "learning_starts",
                                  algorithm.batch_size))
    in_flight: deque[Future[list[Rollout]]] = deque()

    def allowed() -> bool:
        # Asynchronous: the learner runs while data comes in, at most UTD updates per
        # transition, and stops with the rollouts; synchronous: exactly UTD per transition.
        if c.asynchronous and not in_flight and not session.budget_left():
            return False
        return (counters.transitions >= learning_starts
                and counters.updates < algorithm.utd * counters.transitions)

    metrics: dict[str, float] = {}
    with open_backend(session, c.asynchronous) as backend:
        session.start_online()  # the workers' start-up (a few seconds) is not online time
        if counters.env_steps == 0:
            session.tick()
        _train(session, algorithm, backend, in_flight, allowed, metrics, keep)


def _train(session: Any, algorithm: Any, backend: Any, in_flight: Any, allowed: Any,
           metrics: dict[str, float], keep: Keep | None) -> None:
    c, counters = session.config, session.counters
    next_episode = counters.episodes  # the next episode to request (ahead while in flight)
    with session.progress("train", c.env_steps, min(counters.env_steps, c.env_steps)
                          ) as advance:
        session.updates_per_s()  # the learner's rate counts from here
        while True:
            while len(in_flight) < backend.workers and session.budget_left() and (
                    c.asynchronous or not allowed()):
                requests = [EpisodeRequest(session.seed_of(next_episode + i))
                            for i in range(c.envs_per_worker)]
                next_episode += len(requests)
                in_flight.append(backend.submit("episodes", session.rollout_state(), requests))
            if in_flight and (in_flight[0].done() or not allowed()):
                rollouts = in_flight.popleft().result()
                updates_per_s = session.updates_per_s()
                for rollout in rollouts:
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
            if not in_flight:
                break
        session.finish_evaluation()
