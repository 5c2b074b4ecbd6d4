"""`train`: the loop every algorithm shares, as a function.

Stages, each resumable: (1) evaluate the baseline (``wa-base``: the frozen WA model alone) on
the fixed seeds; (2) fill the demonstration buffer; (3) the optional BC warm-up; (4) online
training: a rollout worker collects episodes with the latest policy weights while the learner
updates at the UTD ratio, evaluating and checkpointing on a schedule; (5) the final
evaluation, the comparison table, plots and the results card.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warl.core.assemble import Assembly
from warl.core.envs.chunked import ChunkedEnv
from warl.core.errors import ConfigError
from warl.core.evaluate import EvalResult, eval_seeds
from warl.core.progress import progress_bar
from warl.core.registry import Registry
from warl.core.replay import MixedReplay, make_buffer
from warl.core.runs import write_json
from warl.core.training import demos as demo_buffer
from warl.core.training.checkpoint import checkpoint_dir, load_run_state, save_run_state
from warl.core.training.collector import (
    Backend,
    Collector,
    InlineBackend,
    Policy,
    Rollout,
    ThreadBackend,
)
from warl.core.training.config import TrainConfig
from warl.core.training.log import RunLog
from warl.core.training.transitions import to_tensordict

BASELINE = "wa-base"
# Training episode seeds: far from the demo (10_000+, 20_000+) and evaluation (1_000_000+) ones.
TRAIN_SEED_BASE = 5_000_000
# Distillation rollouts (PLD): their own range, disjoint from the others.
DISTILL_SEED_BASE = 7_000_000


def train_seed(seed: int, episode: int) -> int:
    return TRAIN_SEED_BASE + 100_000 * seed + episode


@dataclass
class Counters:
    """Where the loop stands; saved in every checkpoint."""

    stage: str = "baseline"
    env_steps: int = 0
    episodes: int = 0
    transitions: int = 0
    updates: int = 0
    warmup_updates: int = 0
    wall_s: float = 0.0
    online_s: float = 0.0
    next_eval: int = 0
    next_checkpoint: int = 0
    rounds: int = 0
    last_eval_sr: float | None = None
    recent_successes: list[int] = field(default_factory=list)


@dataclass
class TrainResult:
    run_dir: Path
    baseline: EvalResult | None
    finals: dict[str, EvalResult]
    counters: Counters

    @property
    def final(self) -> EvalResult | None:
        """The algorithm's own final evaluation (the first of ``finals``)."""
        return next(iter(self.finals.values()), None)


class Trainer:
    """The state of one run; `train` drives it through the stages."""

    def __init__(self, setup: Assembly, config: TrainConfig, run_dir: Path, registry: Registry,
                 show_progress: bool = True) -> None:
        self.setup, self.config, self.run_dir = setup, config, run_dir
        self.registry, self.show_progress = registry, show_progress
        self.algorithm = setup.algorithm
        self.cadence = cadence_of(self.algorithm, setup.config["algorithm"])
        # The first evaluation runs before any online data: what the warm-up alone gives.
        self.counters = Counters(next_eval=0, next_checkpoint=config.checkpoint_every)
        scratch = _replay_scratch(run_dir)
        self.replay = MixedReplay(make_buffer(config.replay_capacity, scratch / "online"),
                                  make_buffer(config.replay_capacity, scratch / "demos"),
                                  getattr(self.algorithm, "demo_fraction", 0.5))
        has_policy = hasattr(self.algorithm, "make_policy")
        self.policy: Policy = self.algorithm.make_policy() if has_policy else self.algorithm
        self.collector = Collector(self._collection_env(), setup.wa_model, self.policy,
                                   eval_env=setup.env)
        self.log: RunLog | None = None
        self.backend: Backend | None = None
        # An evaluation running in the rollout worker while the learner goes on updating:
        # (future, env steps and updates when it started).
        self._pending_eval: tuple[Future[EvalResult], int, int] | None = None
        self._clock = time.perf_counter()
        self._wall_at_start = 0.0

    @property
    def intervenes(self) -> bool:
        needs: frozenset[str] = frozenset(getattr(self.algorithm, "needs", ()))
        if self.config.intervention == "none" and "intervention" in needs:
            raise ConfigError(f"{self.setup.config['algorithm']!r} learns from interventions; "
                              f"train.intervention=none leaves it none (use auto or expert)")
        return self.config.intervention == "expert" or (
            self.config.intervention == "auto" and "intervention" in needs)

    def _intervened(self, env: Any) -> Any:
        """``env`` with the gated scripted expert in the loop, standing in for the operator."""
        from warl.core.demos import scripted_expert
        from warl.core.envs.intervention import DeviationGate, GatedExpert, InterventionWrapper

        make_gate = getattr(self.algorithm, "make_gate", None)
        gate = make_gate() if make_gate is not None else \
            DeviationGate(self.config.intervention_threshold)
        source = GatedExpert(scripted_expert(env, self.setup.config["env"]), gate)
        return InterventionWrapper(env, source)

    def _collection_env(self) -> ChunkedEnv:
        """The deployment env, with the gated expert in the loop if interventions are on."""
        if not self.intervenes:
            return self.setup.env
        return ChunkedEnv(self._intervened(self.setup.env.env), self.setup.env.chunk)

    def make_env(self, **overrides: Any) -> Any:
        """A fresh single-step deployment env (gap and interventions as configured): for
        algorithms that step an env themselves (`LearnSession`)."""
        from warl.core.envs.gap import apply_deployment_gap

        config = self.setup.config
        base = self.registry.make(config["env"], kind="env",
                                  **{**config["env_kwargs"], **overrides})
        env = apply_deployment_gap(base, config["deployment_gap"], seed=self.config.seed)
        return self._intervened(env) if self.intervenes else env

    # --- bookkeeping ------------------------------------------------------------------------
    def wall(self) -> float:
        return self._wall_at_start + time.perf_counter() - self._clock

    def resume(self) -> None:
        counters = load_run_state(self.run_dir, self.algorithm, self.replay)
        self.counters = Counters(**counters)
        self._wall_at_start = self.counters.wall_s
        self._clock = time.perf_counter()

    def checkpoint(self) -> None:
        self.counters.wall_s = self.wall()
        save_run_state(self.run_dir, self.algorithm, self.replay, self.counters.__dict__)

    # --- stages -----------------------------------------------------------------------------
    def evaluate(self, act: Callable[..., Any], trials: int, name: str,
                 videos: int) -> EvalResult:
        from warl.core.evaluate import evaluate

        seeds = eval_seeds(self.config.eval_seed, trials)
        video_dir = self.run_dir / "videos" / name if videos else None
        with progress_bar(f"eval {name}", trials, self.show_progress) as advance:
            return evaluate(self.setup.env, act, self.setup.wa_model, seeds, video_dir, videos,
                            advance)

    def baseline(self) -> EvalResult | None:
        path = self.run_dir / "baseline.json"
        if not self.config.baseline or self.setup.wa_model is None or \
                self.setup.config["algorithm"] == BASELINE:
            return None
        if path.is_file():
            return _load_eval(path)
        base = self.registry.make(BASELINE, self.setup.env.env, kind="algorithm",
                                  wa_model=self.setup.wa_model, chunk=self.setup.env.chunk)
        result = self.evaluate(base.act, self.config.final_trials, BASELINE, self.config.videos)
        write_json(path, {"algorithm": BASELINE, **result.to_dict()})
        return result

    def fill_demos(self) -> None:
        c, setup = self.config, self.setup
        if c.demo_source == "none" or c.demos == 0:
            return
        from warl.core.checkpoints import cache_root, config_hash

        env_id, seed_base = setup.config["env"], demo_buffer.DEMO_SEED_BASES[c.demo_source]
        gap = setup.config["deployment_gap"] if c.demo_source == "deployment" else {}
        key = {"env": env_id, "env_kwargs": setup.config["env_kwargs"], "gap": gap,
               "chunk": setup.env.chunk, "episodes": c.demos, "seed_base": seed_base}
        path = cache_root() / "demo_buffers" / env_id.replace("/", "__") / \
            f"{c.demo_source}-{config_hash(key)}.npz"
        # Lab demos come from a fresh env without the gap wrappers.
        env = setup.env.env if gap else self.registry.make(env_id, kind="env",
                                                            **setup.config["env_kwargs"])
        try:
            with progress_bar(f"demo buffer ({c.demo_source})", c.demos,
                              self.show_progress and not path.is_file()) as advance:
                episodes = demo_buffer.load_or_record(path, env, env_id, setup.env.chunk,
                                                      c.demos, seed_base, advance)
        finally:
            if env is not setup.env.env:
                env.close()
        records = demo_buffer.demo_records(episodes, setup.wa_model, self.policy.features,
                                           seed_base)
        if records:
            self.replay.demos.extend(to_tensordict(records, demo=True))

    def warmup(self) -> None:
        # ``warmup_steps`` when the algorithm counts them itself (RL-token: reconstruction,
        # then BC), else its config's BC warm-up.
        steps = int(getattr(self.algorithm, "warmup_steps", getattr(
            getattr(self.algorithm, "config", None), "bc_warmup_steps", 0)))
        if not steps or not len(self.replay.demos) or not hasattr(self.algorithm, "warmup_step"):
            return
        batch_size = int(self.algorithm.batch_size)
        with progress_bar("BC warm-up", steps, self.show_progress,
                          self.counters.warmup_updates) as advance:
            while self.counters.warmup_updates < steps:
                metrics = self.algorithm.warmup_step(self.replay.demos.sample(batch_size))
                self.counters.warmup_updates += 1
                advance(1, bc=f"{metrics.get('warmup_bc', 0.0):.4f}")

    def online(self) -> None:
        """Online training at the algorithm's cadence (see `cadence_of`)."""
        if self.cadence == "utd":
            self._online_utd()
        elif self.cadence == "rounds":
            self._online_rounds()
        elif self.cadence == "external":
            c = self.config
            with progress_bar("train", c.env_steps, self.show_progress,
                              min(self.counters.env_steps, c.env_steps)) as advance:
                self.algorithm.learn(LearnSession(self, advance))
            if self._pending_eval is not None:
                self._finish_eval()

    def budget_left(self, online_start: float) -> bool:
        c, counters = self.config, self.counters
        counters.online_s = self.wall() - online_start
        in_time = not c.minutes or counters.online_s < 60.0 * c.minutes
        return counters.env_steps < c.env_steps and in_time

    def _online_utd(self) -> None:
        c, counters, algo = self.config, self.counters, self.algorithm
        learning_starts = int(getattr(getattr(algo, "config", None), "learning_starts",
                                      algo.batch_size))
        backend: Backend = (ThreadBackend if c.asynchronous and c.backend == "thread"
                            else InlineBackend)(self.collector)
        self.backend = backend

        online_start = self.wall() - counters.online_s

        def budget_left() -> bool:
            return self.budget_left(online_start)

        def allowed() -> bool:
            # Asynchronous: the learner runs while data comes in, at most UTD updates per
            # transition, and stops with the rollouts; synchronous: exactly UTD per transition.
            if c.asynchronous and pending is None and not budget_left():
                return False
            return (counters.transitions >= learning_starts
                    and counters.updates < algo.utd * counters.transitions)

        pending = None
        if counters.env_steps == 0:
            self._on_schedule()
        metrics: dict[str, float] = {}
        rate_clock, rate_updates = time.perf_counter(), counters.updates
        updates_per_s = 0.0
        try:
            with progress_bar("train", c.env_steps, self.show_progress,
                              min(counters.env_steps, c.env_steps)) as advance:
                while True:
                    if pending is None and budget_left() and (
                            c.asynchronous or not allowed()):
                        seed = train_seed(c.seed, counters.episodes)
                        pending = backend.submit("episode", algo.policy_state(), seed)
                    if pending is not None and (pending.done() or not allowed()):
                        rollout: Rollout = pending.result()
                        pending = None
                        now = time.perf_counter()
                        if now > rate_clock:
                            updates_per_s = (counters.updates - rate_updates) / (now - rate_clock)
                        rate_clock, rate_updates = now, counters.updates
                        steps = self._ingest(rollout, metrics, updates_per_s)
                        advance(steps, **self._status(updates_per_s))
                        self._on_schedule()
                        continue
                    if self._pending_eval is not None and self._pending_eval[0].done():
                        self._finish_eval()
                    if allowed():
                        metrics = algo.update(self.replay.sample(algo.batch_size))
                        counters.updates += 1
                        continue
                    if pending is None:
                        break
            if self._pending_eval is not None:
                self._finish_eval()
        finally:
            backend.close()
            self.backend = None

    def _online_rounds(self) -> None:
        """Collect ``episodes_per_round`` episodes with the current policy, then make
        ``updates_per_round`` updates on everything aggregated so far (HG-DAgger's rounds)."""
        counters, algo = self.counters, self.algorithm
        backend = InlineBackend(self.collector)  # a round's data comes from one fixed policy
        self.backend = backend
        online_start = self.wall() - counters.online_s
        if counters.env_steps == 0:
            self._on_schedule()
        try:
            with progress_bar("train (rounds)", self.config.env_steps, self.show_progress,
                              min(counters.env_steps, self.config.env_steps)) as advance:
                while self.budget_left(online_start):
                    episodes: list[Rollout] = []
                    state = algo.policy_state()  # the round's one policy, sent once
                    while len(episodes) < algo.episodes_per_round and \
                            self.budget_left(online_start):
                        seed = train_seed(self.config.seed, counters.episodes)
                        rollout = backend.submit("episode", None if episodes else state,
                                                 seed).result()
                        episodes.append(rollout)
                        advance(self._ingest(rollout, {}, 0.0), **self._status(0.0))
                    metrics: dict[str, float] = {}
                    if len(self.replay):
                        for _ in range(algo.updates_per_round):
                            metrics = algo.update(self.replay.sample(algo.batch_size))
                            counters.updates += 1
                    counters.rounds += 1
                    self._log_round(episodes, metrics)
                    self._on_schedule()
        finally:
            backend.close()
            self.backend = None

    def _log_round(self, episodes: list[Rollout], metrics: Mapping[str, float]) -> None:
        steps = sum(r.record.length for r in episodes)
        assert self.log is not None
        self.log.round({
            "round": self.counters.rounds, "env_steps": self.counters.env_steps,
            "wall_s": self.wall(), "episodes": len(episodes),
            "intervention_rate": sum(r.record.intervention_steps for r in episodes)
            / max(1, steps),
            "success_rate": sum(r.record.success for r in episodes) / max(1, len(episodes)),
            "dataset": len(self.replay), "updates": self.counters.updates,
            "bc": metrics.get("bc"),
        })

    def distill(self) -> None:
        """An algorithm with a distillation stage (PLD) gets ``distill_episodes`` episodes of
        its policy, keeps the successful ones and makes ``distill_steps`` BC updates on them."""
        algo = self.algorithm
        episodes, steps = int(getattr(algo, "distill_episodes", 0)), int(
            getattr(algo, "distill_steps", 0))
        if not episodes or not steps:
            return
        kept = []
        state = algo.policy_state()  # the trained policy, loaded into the worker once
        with progress_bar("distill: collect", episodes, self.show_progress) as advance:
            for i in range(episodes):
                rollout = self.collector.episode(None if i else state, DISTILL_SEED_BASE
                                                 + 100_000 * self.config.seed + i,
                                                 explore=False)
                if rollout.record.success:
                    kept.append(rollout.record)
                advance(1, kept=str(len(kept)))
        if not kept:
            self._distill_log({"step": 0, "kept_episodes": 0, "bc": None})
            return
        data = make_buffer(self.config.replay_capacity, _replay_scratch(self.run_dir) / "distill")
        data.extend(to_tensordict(kept))
        every = max(1, steps // 50)  # rows of distill.csv: the mean BC loss of each window
        window: list[float] = []
        with progress_bar("distill: BC", steps, self.show_progress) as advance:
            for step in range(1, steps + 1):
                window.append(algo.distill_step(data.sample(algo.batch_size))["bc"])
                advance(1, bc=f"{window[-1]:.4f}")
                if step % every == 0 or step == steps:
                    self._distill_log({"step": step, "kept_episodes": len(kept),
                                       "transitions": len(data),
                                       "bc": sum(window) / len(window)})
                    window = []

    def _distill_log(self, row: Mapping[str, Any]) -> None:
        assert self.log is not None
        self.log.distill(row)

    def _status(self, updates_per_s: float) -> dict[str, str]:
        recent = self.counters.recent_successes
        status = {"upd/s": f"{updates_per_s:.0f}",
                  "train SR": f"{sum(recent) / max(1, len(recent)):.0%}"}
        if self.counters.last_eval_sr is not None:
            status["eval SR"] = f"{self.counters.last_eval_sr:.0%}"
        return status

    def _ingest(self, rollout: Rollout, metrics: dict[str, float], updates_per_s: float) -> int:
        record = rollout.record
        data = to_tensordict([record])
        if getattr(self.algorithm, "aggregate", "all") == "interventions":
            # HG-DAgger: only expert-controlled segments join the aggregate dataset.
            data = data[data["intervened"].any(-1)]
        if len(data):
            self.replay.online.extend(data)
        self.record_episode(
            success=record.success, episode_return=record.episode_return, length=record.length,
            intervention_steps=record.intervention_steps, transitions=len(record.steps),
            updates_per_s=updates_per_s,
            metrics={k: metrics.get(k) for k in ("critic_loss", "actor_loss", "bc", "q")})
        return record.length

    def record_episode(self, *, success: bool, episode_return: float, length: int,
                       intervention_steps: int, transitions: int, updates_per_s: float,
                       metrics: Mapping[str, Any]) -> None:
        """Count one finished training episode and write its ``train.csv`` row; the loop's
        own columns win over an algorithm metric of the same name."""
        counters = self.counters
        counters.env_steps += length
        counters.episodes += 1
        counters.transitions += transitions
        counters.recent_successes = [*counters.recent_successes, int(success)][-20:]
        assert self.log is not None
        self.log.episode({
            **metrics,
            "env_steps": counters.env_steps, "wall_s": self.wall(), "episode": counters.episodes,
            "success": int(success), "return": episode_return, "length": length,
            "intervention_rate": intervention_steps / max(1, length),
            "transitions": counters.transitions, "updates": counters.updates,
            "achieved_utd": counters.updates / max(1, counters.transitions),
            "updates_per_s": updates_per_s,
        })

    def _on_schedule(self) -> None:
        c, counters = self.config, self.counters
        if c.eval_trials and counters.env_steps >= counters.next_eval and \
                self._pending_eval is None and self.backend is not None:
            seeds = eval_seeds(c.eval_seed, c.eval_trials)
            future = self.backend.submit("evaluation", self._policy_state(), seeds)
            self._pending_eval = (future, counters.env_steps, counters.updates)
            if future.done():
                self._finish_eval()
            while counters.next_eval <= counters.env_steps:
                counters.next_eval += c.eval_every
        if counters.env_steps >= counters.next_checkpoint:
            while counters.next_checkpoint <= counters.env_steps:
                counters.next_checkpoint += c.checkpoint_every
            self.checkpoint()

    def _policy_state(self) -> Any:
        """The weights a rollout worker's policy copy needs (none when the algorithm is its
        own policy)."""
        return None if self.policy is self.algorithm else self.algorithm.policy_state()

    def _finish_eval(self) -> None:
        assert self._pending_eval is not None
        future, env_steps, updates = self._pending_eval
        self._pending_eval = None
        result = future.result()
        self.counters.last_eval_sr = result.success_rate
        self._log_eval(result, env_steps, updates)

    def _log_eval(self, result: EvalResult, env_steps: int, updates: int) -> None:
        assert self.log is not None
        low, high = result.wilson_interval()
        self.log.evaluation({
            "env_steps": env_steps, "wall_s": self.wall(), "updates": updates,
            "success_rate": result.success_rate, "ci_low": low, "ci_high": high,
            "mean_episode_length": result.mean_length, "trials": len(result.trials),
        })

    def _acting(self) -> dict[str, Callable[..., Any]]:
        """Name -> act function of every policy the final evaluation reports: the algorithm's
        own (its id), then any variants it names (e.g. PLD's distilled policy)."""
        algo, name = self.algorithm, self.setup.config["algorithm"]
        if hasattr(algo, "policy_state") and self.policy is not algo:
            self.policy.load_policy_state(algo.policy_state())
        acting = {name: self.policy.act}
        variants = getattr(algo, "variants", None)
        if variants is not None:
            acting.update({f"{name}-{suffix}": act for suffix, act in variants().items()})
        return acting

    def final(self) -> dict[str, EvalResult]:
        """The final evaluation on ``final_trials`` fixed seeds; ``final.json`` holds the
        algorithm's, ``final-<variant>.json`` each variant's."""
        results: dict[str, EvalResult] = {}
        main = self.setup.config["algorithm"]
        for name, act in self._acting().items():
            path = self.run_dir / ("final.json" if name == main else f"final-{name}.json")
            if path.is_file():
                results[name] = _load_eval(path)
                continue
            result = self.evaluate(act, self.config.final_trials,
                                   "final" if name == main else name, self.config.videos)
            if name == main:
                self._log_eval(result, self.counters.env_steps, self.counters.updates)
            write_json(path, {"algorithm": name, **result.to_dict()})
            results[name] = result
        return results


class LearnSession:
    """What an algorithm that steps an env itself (``cadence = "external"``, e.g. the SB3
    pass-through) gets from the loop: envs, the budget, and one call per finished episode
    that logs it and runs the evaluation and checkpoint schedule.

    Attributes:
        config: the loop's `TrainConfig` (budget, seed, schedule).
        counters: the loop's `Counters` (env steps so far, on resume too).
        run_dir: the run folder (an algorithm may keep extra state under it).
    """

    def __init__(self, trainer: Trainer, advance: Callable[..., None] | None = None) -> None:
        self._trainer, self._advance = trainer, advance or (lambda n=1, **fields: None)
        self.config, self.counters, self.run_dir = trainer.config, trainer.counters, \
            trainer.run_dir
        #: whether `make_env` puts the gated expert in the loop (train.intervention)
        self.intervenes = trainer.intervenes
        self._online_start = trainer.wall() - trainer.counters.online_s
        self._clock, self._updates = time.perf_counter(), trainer.counters.updates
        if self.counters.env_steps == 0:
            self._on_schedule()

    def _on_schedule(self) -> None:
        """Evaluations run inline: the algorithm's own env is mid-training elsewhere."""
        trainer = self._trainer
        trainer.backend = InlineBackend(trainer.collector)
        try:
            trainer._on_schedule()
        finally:
            trainer.backend = None

    def make_env(self, **overrides: Any) -> Any:
        """A fresh single-step deployment env (its own instance: evaluations never touch
        it); ``overrides`` are env settings such as ``reward_type="dense"``."""
        return self._trainer.make_env(**overrides)

    def seed_of(self, episode: int) -> int:
        """The reset seed of training episode ``episode`` (the loop's training range)."""
        return train_seed(self.config.seed, episode)

    def budget_left(self) -> bool:
        return self._trainer.budget_left(self._online_start)

    def episode_done(self, *, success: bool, episode_return: float, length: int,
                     intervention_steps: int = 0, transitions: int | None = None,
                     updates: int = 0, metrics: Mapping[str, float] | None = None) -> bool:
        """Log one finished training episode, evaluate / checkpoint when due; returns
        whether the budget allows going on."""
        trainer = self._trainer
        self.counters.updates = updates
        now = time.perf_counter()
        updates_per_s = (updates - self._updates) / max(1e-9, now - self._clock)
        self._clock, self._updates = now, updates
        trainer.record_episode(
            success=success, episode_return=episode_return, length=length,
            intervention_steps=intervention_steps,
            transitions=length if transitions is None else transitions,
            updates_per_s=updates_per_s, metrics=dict(metrics or {}))
        self._advance(length, **trainer._status(updates_per_s))
        self._on_schedule()
        return self.budget_left()


def cadence_of(algorithm: Any, name: str) -> str:
    """How the loop trains ``algorithm``: ``utd`` (off-policy: updates at the UTD ratio while
    collecting; needs make_policy, policy_state, update, batch_size, utd), ``rounds``
    (collect a round of episodes, then update: also episodes_per_round, updates_per_round),
    ``external`` (the algorithm steps its own env: learn(LearnSession), policy_state) or
    ``evaluation`` (nothing to train: only act)."""
    cadence = str(getattr(algorithm, "cadence", "utd" if hasattr(algorithm, "make_policy")
                          else "evaluation"))
    required = {"utd": ("make_policy", "policy_state", "update", "batch_size", "utd"),
                "rounds": ("make_policy", "policy_state", "update", "batch_size",
                           "episodes_per_round", "updates_per_round"),
                "external": ("learn", "state_dict", "load_state_dict"),
                "evaluation": ("act",)}
    if cadence not in required:
        raise ConfigError(f"{name!r} declares cadence {cadence!r}; the loop knows "
                          f"{sorted(required)}")
    for attr in required[cadence]:
        if not hasattr(algorithm, attr):
            raise ConfigError(
                f"{name!r} cannot be trained at cadence {cadence!r}: it has no {attr!r} "
                f"(see docs/training.md for what an algorithm provides)")
    return cadence


def _replay_scratch(run_dir: Path) -> Path:
    """A fresh memmap folder for this trainer; those of dead processes are removed (their
    contents live on in the checkpoint)."""
    import shutil
    import uuid

    root = run_dir / "replay_storage"
    if root.is_dir():
        for stale in root.iterdir():
            if not stale.name.startswith(f"{os.getpid()}-"):
                shutil.rmtree(stale, ignore_errors=True)
    return root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _load_eval(path: Path) -> EvalResult:
    import json

    return EvalResult.from_dict(json.loads(path.read_text()))


def _torch_threads(config: TrainConfig) -> int:
    if config.torch_threads:
        return config.torch_threads
    cores = os.cpu_count() or 1
    return max(1, cores // 2) if config.asynchronous else cores


def train(setup: Assembly, config: TrainConfig, run_dir: Path, registry: Registry, *,
          resume: bool = False, show_progress: bool = True) -> TrainResult:
    """Run (or, with ``resume``, continue) the stages in ``run_dir``; see the module doc."""
    import torch

    torch.set_num_threads(_torch_threads(config))
    trainer = Trainer(setup, config, run_dir, registry, show_progress)
    if resume and checkpoint_dir(run_dir) is not None:
        trainer.resume()
    trainer.log = RunLog(run_dir, trainer.counters.env_steps if resume else None)
    counters = trainer.counters
    try:
        baseline = trainer.baseline()
        if trainer.cadence == "evaluation":
            counters.stage = "final"
        if counters.stage == "baseline" and trainer.cadence != "external":
            # An algorithm that steps its own env (SB3) has no use for the demonstrations.
            trainer.fill_demos()
            trainer.warmup()
        if counters.stage == "baseline":
            counters.stage = "online"
            trainer.checkpoint()
        if counters.stage == "online":
            trainer.online()
            counters.stage = "distill"
            trainer.checkpoint()
        if counters.stage == "distill":
            trainer.distill()
            counters.stage = "final"
            trainer.checkpoint()
        finals = trainer.final()
        counters.stage = "done"
        counters.wall_s = trainer.wall()
        write_json(run_dir / "state.json", counters.__dict__)
    finally:
        trainer.log.close()
    return TrainResult(run_dir, baseline, finals, counters)
