"""The bridge from SB3's training loop to warl's: one `LearnSession.episode_done` per finished
episode, and a stop when the loop's budget is spent.

An episode is reported once SB3 is done with its last step: at the start of the next rollout
(its transition stored and trained on; off-policy with ``train_freq=1``: right after that
step), or at the next step within a longer rollout. A checkpoint that the report triggers
then holds the whole episode, and the env is already reset for the next one, so a resumed
run continues at an episode boundary, as if never stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from warl.core.envs.contract import EXECUTED_ACTION_KEY, INTERVENED_KEY
from warl.plugins.algorithms.sb3.envs import EPISODE_KEY, EpisodeSummary

if TYPE_CHECKING:
    from warl.core.training.loops.external import EpisodeReporter
    from warl.plugins.algorithms.sb3.algorithm import SB3Algorithm

# train.csv columns (and the loop's own row keys) a metric must not overwrite, and SB3's
# ``n_updates`` (PPO counts epochs there; the loop's ``updates`` counts gradient steps).
RESERVED = frozenset({"env_steps", "wall_s", "episode", "success", "return", "length",
                      "intervention_rate", "transitions", "updates", "achieved_utd",
                      "n_updates"})


class BudgetSpent(Exception):
    """Leaves SB3's ``learn`` at the episode boundary where the loop's budget ran out, before
    SB3 steps again: the model then matches the loop's counters exactly. (SB3 stops on a
    False from ``on_step`` only, i.e. after stepping the env once more.)"""


class SessionCallback(BaseCallback):
    """Reports SB3's finished episodes to ``session`` with the latest training metrics."""

    def __init__(self, session: EpisodeReporter, algorithm: SB3Algorithm) -> None:
        super().__init__(verbose=0)
        self.session, self.algorithm = session, algorithm
        self.pending: list[EpisodeSummary] = []
        self.go_on = True
        self.metrics: dict[str, float] = {}

    def _on_step(self) -> bool:
        # Episodes that ended at an earlier step: their transitions are stored by now.
        if not self.flush():
            return False
        infos, dones = self.locals["infos"], self.locals["dones"]
        if self.algorithm.relabels_interventions:
            self._relabel(infos)
        for info, done in zip(infos, dones, strict=True):
            summary = info.get(EPISODE_KEY)
            if done and isinstance(summary, EpisodeSummary):
                self.pending.append(summary)
        return True

    def _on_rollout_start(self) -> None:
        if not self.flush():
            raise BudgetSpent

    def _relabel(self, infos: list[dict[str, Any]]) -> None:
        """Store what the robot executed, not what the policy proposed, on intervened steps:
        the replay then holds the actual transitions (SB3 stores ``buffer_actions`` after
        this call; it is the same array)."""
        buffer_actions = self.locals.get("buffer_actions")
        if buffer_actions is None:
            return
        for i, info in enumerate(infos):
            if info.get(INTERVENED_KEY) and EXECUTED_ACTION_KEY in info:
                executed = np.asarray(info[EXECUTED_ACTION_KEY], np.float32)[None]
                buffer_actions[i] = self.model.policy.scale_action(executed)[0]

    def _read_metrics(self) -> dict[str, float]:
        """SB3's latest ``train/*`` values (kept when SB3 clears its logger), under their
        short names, plus the loop's ``critic_loss`` / ``actor_loss`` columns."""
        for key, value in self.model.logger.name_to_value.items():
            name = key.removeprefix("train/")
            if key.startswith("train/") and name not in RESERVED and \
                    isinstance(value, (int, float, np.floating, np.integer)):
                self.metrics[name] = float(value)
        for column, name in self.algorithm.loss_columns.items():
            if name in self.metrics:
                self.metrics[column] = self.metrics[name]
        return dict(self.metrics)

    def flush(self) -> bool:
        while self.pending and self.go_on:
            summary = self.pending.pop(0)
            updates = self.algorithm.gradient_updates()
            metrics = self._read_metrics()
            self.go_on = self.session.episode_done(
                success=summary.success, episode_return=summary.episode_return,
                length=summary.length, intervention_steps=summary.intervention_steps,
                updates=updates, metrics=metrics)
        if not self.go_on:
            self.pending.clear()
        return self.go_on
