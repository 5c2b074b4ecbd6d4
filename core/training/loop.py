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
from collections.abc import Callable
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
from warl.core.training.collector import Backend, Collector, InlineBackend, Rollout, ThreadBackend
from warl.core.training.config import TrainConfig
from warl.core.training.log import RunLog
from warl.core.training.transitions import to_tensordict

BASELINE = "wa-base"
# Training episode seeds: far from the demo (10_000+, 20_000+) and evaluation (1_000_000+) ones.
TRAIN_SEED_BASE = 5_000_000


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
    last_eval_sr: float | None = None
    recent_successes: list[int] = field(default_factory=list)


@dataclass
class TrainResult:
    run_dir: Path
    baseline: EvalResult | None
    final: EvalResult | None
    counters: Counters


class Trainer:
    """The state of one run; `train` drives it through the stages."""

    def __init__(self, setup: Assembly, config: TrainConfig, run_dir: Path, registry: Registry,
                 show_progress: bool = True) -> None:
        self.setup, self.config, self.run_dir = setup, config, run_dir
        self.registry, self.show_progress = registry, show_progress
        self.algorithm = setup.algorithm
        for attr in ("make_policy", "policy_state", "update", "batch_size", "utd"):
            if not hasattr(self.algorithm, attr):
                raise ConfigError(
                    f"{setup.config['algorithm']!r} cannot be trained by the off-policy loop: "
                    f"it has no {attr!r} (see docs/training.md for what an algorithm provides)")
        # The first evaluation runs before any online data: what the warm-up alone gives.
        self.counters = Counters(next_eval=0, next_checkpoint=config.checkpoint_every)
        scratch = _replay_scratch(run_dir)
        self.replay = MixedReplay(make_buffer(config.replay_capacity, scratch / "online"),
                                  make_buffer(config.replay_capacity, scratch / "demos"),
                                  float(getattr(self.algorithm, "demo_fraction", 0.5)))
        self.policy = self.algorithm.make_policy()
        self.collector = Collector(self._collection_env(), setup.wa_model, self.policy,
                                   eval_env=setup.env)
        self.log: RunLog | None = None
        self.backend: Backend | None = None
        # An evaluation running in the rollout worker while the learner goes on updating:
        # (future, env steps and updates when it started).
        self._pending_eval: tuple[Future[EvalResult], int, int] | None = None
        self._clock = time.perf_counter()
        self._wall_at_start = 0.0

    def _collection_env(self) -> ChunkedEnv:
        """The deployment env, with the gated expert in the loop if interventions are on."""
        if self.config.intervention == "none":
            return self.setup.env
        from warl.core.demos import scripted_expert
        from warl.core.envs.intervention import DeviationGate, GatedExpert, InterventionWrapper

        deployed = self.setup.env.env
        source = GatedExpert(scripted_expert(deployed, self.setup.config["env"]),
                             DeviationGate(self.config.intervention_threshold))
        return ChunkedEnv(InterventionWrapper(deployed, source), self.setup.env.chunk)

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
        if not self.config.baseline or self.setup.wa_model is None:
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
            self.replay.demos.extend(to_tensordict(records))

    def warmup(self) -> None:
        steps = int(getattr(getattr(self.algorithm, "config", None), "bc_warmup_steps", 0))
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
        c, counters, algo = self.config, self.counters, self.algorithm
        learning_starts = int(getattr(getattr(algo, "config", None), "learning_starts",
                                      algo.batch_size))
        backend: Backend = (ThreadBackend if c.asynchronous and c.backend == "thread"
                            else InlineBackend)(self.collector)
        self.backend = backend

        online_start = self.wall() - counters.online_s

        def budget_left() -> bool:
            counters.online_s = self.wall() - online_start
            in_time = not c.minutes or counters.online_s < 60.0 * c.minutes
            return counters.env_steps < c.env_steps and in_time

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

    def _status(self, updates_per_s: float) -> dict[str, str]:
        recent = self.counters.recent_successes
        status = {"upd/s": f"{updates_per_s:.0f}",
                  "train SR": f"{sum(recent) / max(1, len(recent)):.0%}"}
        if self.counters.last_eval_sr is not None:
            status["eval SR"] = f"{self.counters.last_eval_sr:.0%}"
        return status

    def _ingest(self, rollout: Rollout, metrics: dict[str, float], updates_per_s: float) -> int:
        counters, record = self.counters, rollout.record
        self.replay.online.extend(to_tensordict([record]))
        counters.env_steps += record.length
        counters.episodes += 1
        counters.transitions += len(record.steps)
        counters.recent_successes = [*counters.recent_successes, int(record.success)][-20:]
        assert self.log is not None
        self.log.episode({
            "env_steps": counters.env_steps, "wall_s": self.wall(), "episode": counters.episodes,
            "success": int(record.success), "return": record.episode_return,
            "length": record.length,
            "intervention_rate": record.intervention_steps / max(1, record.length),
            "transitions": counters.transitions, "updates": counters.updates,
            "achieved_utd": counters.updates / max(1, counters.transitions),
            "updates_per_s": updates_per_s,
            "critic_loss": metrics.get("critic_loss"), "actor_loss": metrics.get("actor_loss"),
            "bc": metrics.get("bc"), "q": metrics.get("q"),
        })
        return record.length

    def _on_schedule(self) -> None:
        c, counters = self.config, self.counters
        if c.eval_trials and counters.env_steps >= counters.next_eval and \
                self._pending_eval is None and self.backend is not None:
            seeds = eval_seeds(c.eval_seed, c.eval_trials)
            future = self.backend.submit("evaluation", self.algorithm.policy_state(), seeds)
            self._pending_eval = (future, counters.env_steps, counters.updates)
            if future.done():
                self._finish_eval()
            while counters.next_eval <= counters.env_steps:
                counters.next_eval += c.eval_every
        if counters.env_steps >= counters.next_checkpoint:
            while counters.next_checkpoint <= counters.env_steps:
                counters.next_checkpoint += c.checkpoint_every
            self.checkpoint()

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

    def _evaluate_policy(self, trials: int, name: str, videos: int) -> EvalResult:
        self.policy.load_policy_state(self.algorithm.policy_state())
        result = self.evaluate(self.policy.act, trials, name, videos)
        self._log_eval(result, self.counters.env_steps, self.counters.updates)
        return result

    def final(self) -> EvalResult:
        path = self.run_dir / "final.json"
        if path.is_file():
            return _load_eval(path)
        result = self._evaluate_policy(self.config.final_trials, "final", self.config.videos)
        write_json(path, {"algorithm": self.setup.config["algorithm"], **result.to_dict()})
        return result


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
        if counters.stage == "baseline":
            trainer.fill_demos()
            trainer.warmup()
            counters.stage = "online"
            trainer.checkpoint()
        if counters.stage == "online":
            trainer.online()
            counters.stage = "final"
            trainer.checkpoint()
        final = trainer.final()
        counters.stage = "done"
        counters.wall_s = trainer.wall()
        write_json(run_dir / "state.json", counters.__dict__)
    finally:
        trainer.log.close()
    return TrainResult(run_dir, baseline, final, counters)
