"""The evaluation protocol: N trials on a fixed seed list, success rate and episode length.

Trial i of evaluation seed S resets the env with seed ``EVAL_SEED_BASE + 10_000 * S + i``, a
range that never meets the demonstration seeds (10_000 + i), so a WA model is never evaluated
on the scenes it was trained on. The WA model's sampling noise is reseeded per trial, so a
trial's result does not depend on which trials ran before it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.envs.chunked import ChunkedEnv
from warl.core.rollout.engine import EpisodeRequest, Rollout, RolloutEngine
from warl.core.rollout.vector import SerialVector
from warl.core.world_model import WorldActionModel

EVAL_SEED_BASE = 1_000_000


def eval_seeds(seed: int, trials: int) -> list[int]:
    return [EVAL_SEED_BASE + 10_000 * seed + i for i in range(trials)]


@dataclass
class Trial:
    seed: int
    success: bool
    length: int
    intervention_steps: int = 0


@dataclass
class EvalResult:
    trials: list[Trial] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def success_rate(self) -> float:
        return float(np.mean([t.success for t in self.trials])) if self.trials else 0.0

    @property
    def mean_length(self) -> float:
        return float(np.mean([t.length for t in self.trials])) if self.trials else 0.0

    def wilson_interval(self, z: float = 1.96) -> tuple[float, float]:
        """95% Wilson score interval of the success rate (sound at 0% and 100% too)."""
        n = len(self.trials)
        if n == 0:
            return (0.0, 1.0)
        p = self.success_rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (max(0.0, centre - half), min(1.0, centre + half))

    def summary(self) -> dict[str, Any]:
        low, high = self.wilson_interval()
        return {
            "trials": len(self.trials),
            "success_rate": self.success_rate,
            "success_rate_ci95": [low, high],
            "mean_episode_length": self.mean_length,
            "wall_time_s": self.wall_time_s,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "per_trial": [asdict(t) for t in self.trials]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        """The inverse of `to_dict` (a saved ``results.json`` / ``baseline.json``)."""
        return cls([Trial(**t) for t in data["per_trial"]], float(data["wall_time_s"]))


# (observation, WA output or None, explore) -> (C, A) chunk: `Algorithm.act`.
ActFn = Callable[[Any, Any, bool], np.ndarray]


class ActPolicy:
    """An ``act`` function as a rollout policy. A policy that samples (a flow-matching head)
    is reseeded per trial through the object ``act`` is bound to, so a trial's outcome
    depends on its seed only, not on the trials before it."""

    def __init__(self, act: ActFn) -> None:
        self.act = act

    def reseed(self, seed: int) -> None:
        reseed = getattr(getattr(self.act, "__self__", None), "reseed", None)
        if callable(reseed):
            reseed(seed)


def trial_of(rollout: Rollout) -> Trial:
    record = rollout.record
    return Trial(seed=rollout.seed, success=record.success, length=record.length,
                 intervention_steps=record.intervention_steps)


def evaluate(env: ChunkedEnv, act: ActFn, wa_model: WorldActionModel | None, seeds: list[int],
             video_dir: Path | None = None, videos: int = 0,
             advance: Callable[..., None] | None = None) -> EvalResult:
    """Run one trial per seed in ``env``; the first ``videos`` trials are saved as mp4 in
    ``video_dir``."""
    engine = RolloutEngine(SerialVector([env]), wa_model, [ActPolicy(act)])
    return evaluate_with(engine, seeds, video_dir, videos, advance)


def evaluate_with(engine: RolloutEngine, seeds: list[int], video_dir: Path | None = None,
                  videos: int = 0, advance: Callable[..., None] | None = None) -> EvalResult:
    """`evaluate` on ``engine``'s envs (N trials at a time), deterministically."""
    from warl.core.envs.video import write_mp4

    result = EvalResult()
    start = time.perf_counter()
    recording = video_dir is not None and videos > 0

    def done(rollout: Rollout) -> None:
        result.trials.append(trial_of(rollout))
        if advance is not None:
            advance(1, SR=f"{result.success_rate:.0%}", EL=f"{result.mean_length:.0f}")

    requests = [EpisodeRequest(seed, explore=False, frames=recording and i < videos)
                for i, seed in enumerate(seeds)]
    rollouts = engine.run(requests, record=False, on_done=done)
    result.trials = [trial_of(r) for r in rollouts]  # in seed order
    if recording and video_dir is not None:
        for i, rollout in enumerate(rollouts[:videos]):
            outcome = "success" if rollout.record.success else "failure"
            if rollout.frames:
                write_mp4(video_dir / f"trial_{i:03d}_seed_{rollout.seed}_{outcome}.mp4",
                          rollout.frames)
    result.wall_time_s = time.perf_counter() - start
    return result
