"""`external`: for an algorithm that steps its own env (the SB3 pass-through). It gets an
`EpisodeReporter`: fresh deployment envs, the training seeds, the budget, and one call per
finished episode that logs it and runs the evaluation and checkpoint schedule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class EpisodeReporter:
    """What an algorithm that steps its own env gets from the session.

    Attributes:
        config: the loop's `TrainConfig` (budget, seed, schedule).
        counters: the session's `Counters` (env steps so far, on resume too).
        run_dir: the run folder (an algorithm may keep extra state under it).
        intervenes: whether `make_env` puts the gated expert in the loop.
    """

    def __init__(self, session: Any, advance: Callable[..., None] | None = None) -> None:
        self._session, self._advance = session, advance or (lambda n=1, **fields: None)
        self.config, self.counters, self.run_dir = session.config, session.counters, \
            session.run_dir
        self.intervenes = session.intervenes
        session.updates_per_s()  # the rate counts from here
        session.start_online()
        if self.counters.env_steps == 0:
            session.tick()  # evaluations run inline: the algorithm's env is mid-training

    def make_env(self, **overrides: Any) -> Any:
        """A fresh single-step deployment env (its own instance: evaluations never touch
        it); ``overrides`` are env settings such as ``reward_type="dense"``."""
        return self._session.make_env(**overrides)

    def seed_of(self, episode: int) -> int:
        """The reset seed of training episode ``episode`` (the training range)."""
        return int(self._session.seed_of(episode))

    def budget_left(self) -> bool:
        return bool(self._session.budget_left())

    def episode_done(self, *, success: bool, episode_return: float, length: int,
                     intervention_steps: int = 0, transitions: int | None = None,
                     updates: int = 0, metrics: Mapping[str, float] | None = None) -> bool:
        """Log one finished training episode, evaluate / checkpoint when due; returns
        whether the budget allows going on. ``updates`` is the algorithm's own count."""
        session = self._session
        self.counters.updates = updates
        updates_per_s = session.updates_per_s()
        session.record_episode(
            success=success, episode_return=episode_return, length=length,
            intervention_steps=intervention_steps, transitions=transitions,
            updates_per_s=updates_per_s, metrics=dict(metrics or {}))
        self._advance(length, **session.status(updates_per_s))
        session.tick()
        return self.budget_left()


def external(session: Any, learn: Callable[[EpisodeReporter], None]) -> None:
    """Call ``learn(reporter)`` under a progress bar over the env-step budget."""
    c = session.config
    with session.progress("train", c.env_steps, min(session.counters.env_steps, c.env_steps)
                          ) as advance:
        learn(EpisodeReporter(session, advance))
    session.finish_evaluation()
