"""`rounds`: DAgger-style training. Each round collects ``episodes_per_round`` episodes with
one fixed policy, then makes ``updates_per_round`` updates on everything aggregated so far;
each round's row (its intervention and success rates, the dataset size) goes to
``rounds.csv``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warl.core.rollout.engine import EpisodeRequest, Rollout
from warl.core.training.contract import Rounds, require
from warl.core.training.loops.batches import batch_size, open_backend, run_requests
from warl.core.training.loops.ingest import Keep, ingest


def rounds(session: Any, algorithm: Any, keep: Keep | None = None) -> None:
    """Train ``algorithm`` (`Rounds`) round by round until the budget is spent; ``keep``
    selects the transitions of each episode that join the aggregate."""
    require(algorithm, Rounds, session.algorithm_id, "rounds")
    counters = session.counters
    session.start_online()
    with open_backend(session) as backend, session.progress(
            "train (rounds)", session.config.env_steps,
            min(counters.env_steps, session.config.env_steps)) as advance:
        if counters.env_steps == 0:
            session.tick()
        while session.budget_left():
            episodes: list[Rollout] = []
            state = session.rollout_state()  # the round's one policy
            while len(episodes) < algorithm.episodes_per_round and session.budget_left():
                # As many as the workers run at once, then the budget is checked again.
                count = min(batch_size(session, backend),
                            algorithm.episodes_per_round - len(episodes))
                requests = [EpisodeRequest(session.seed_of(counters.episodes + i))
                            for i in range(count)]
                for rollout in run_requests(session, backend, state, requests):
                    episodes.append(rollout)
                    advance(ingest(session, rollout, {}, 0.0, keep), **session.status(0.0))
            metrics: dict[str, float] = {}
            if len(session.replay):
                for _ in range(algorithm.updates_per_round):
                    metrics = algorithm.update(session.replay.sample(algorithm.batch_size))
                    counters.updates += 1
            counters.rounds += 1
            _log_round(session, episodes, metrics)
            session.tick()


def _log_round(session: Any, episodes: list[Rollout], metrics: Mapping[str, float]) -> None:
    steps = sum(r.record.length for r in episodes)
    counters = session.counters
    session.log_table("rounds", {
        "round": counters.rounds, "env_steps": counters.env_steps, "wall_s": session.wall(),
        "episodes": len(episodes),
        "intervention_rate": sum(r.record.intervention_steps for r in episodes) / max(1, steps),
        "success_rate": sum(r.record.success for r in episodes) / max(1, len(episodes)),
        "dataset": len(session.replay), "updates": counters.updates, **dict(metrics),
    }, step_key="round")
