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
from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY
from warl.core.world_model import WorldActionModel, batch_of

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


def split_extras(out: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A policy's ``act`` result as (chunk, extras): it returns a chunk, or ``(chunk,
    extras)`` with arrays to store beside the transition."""
    if isinstance(out, tuple):
        chunk, extras = out
        return np.asarray(chunk), {k: np.asarray(v) for k, v in dict(extras).items()}
    return np.asarray(out), {}


def run_trial(env: ChunkedEnv, act: ActFn, wa_model: WorldActionModel | None, seed: int,
              frames: list[np.ndarray] | None = None) -> Trial:
    """One episode: infer (if a WA model is used), act, execute the chunk, until it ends."""
    env.record_frames = frames is not None
    obs, info = env.reset(seed=seed)
    instruction = str(info.get(INSTRUCTION_KEY, ""))
    if frames is not None:
        frames.extend(f for f in info.get("frames", []) if f is not None)
    if wa_model is not None:
        wa_model.seed(seed)
    # A policy that samples (a flow-matching head) is reseeded too: a trial's outcome then
    # depends on its seed only, not on the trials before it.
    reseed = getattr(getattr(act, "__self__", None), "reseed", None)
    if callable(reseed):
        reseed(seed)
    length, intervened, success = 0, 0, False
    while True:
        wa_output = None if wa_model is None else wa_model.infer(batch_of(obs), instruction)
        chunk, _ = split_extras(act(obs, wa_output, False))
        obs, _, terminated, truncated, info = env.step(chunk)
        length += int(info["steps_executed"])
        intervened += int(np.sum(info["intervened"]))
        success = success or bool(info.get(SUCCESS_KEY, False))
        if frames is not None:
            frames.extend(f for f in info.get("frames", []) if f is not None)
        if terminated or truncated:
            return Trial(seed=seed, success=success, length=length, intervention_steps=intervened)


def evaluate(env: ChunkedEnv, act: ActFn, wa_model: WorldActionModel | None, seeds: list[int],
             video_dir: Path | None = None, videos: int = 0,
             advance: Callable[..., None] | None = None) -> EvalResult:
    """Run one trial per seed; the first ``videos`` trials are saved as mp4 in ``video_dir``."""
    from warl.core.envs.video import write_mp4

    result = EvalResult()
    start = time.perf_counter()
    for i, seed in enumerate(seeds):
        frames: list[np.ndarray] | None = [] if video_dir is not None and i < videos else None
        trial = run_trial(env, act, wa_model, seed, frames)
        result.trials.append(trial)
        if frames and video_dir is not None:
            outcome = "success" if trial.success else "failure"
            write_mp4(video_dir / f"trial_{i:03d}_seed_{seed}_{outcome}.mp4", frames)
        if advance is not None:
            advance(1, SR=f"{result.success_rate:.0%}", EL=f"{result.mean_length:.0f}")
    env.record_frames = False
    result.wall_time_s = time.perf_counter() - start
    return result
