"""`Session`: all the core offers an algorithm's training.

An algorithm's ``train(session)`` calls a stock loop (`warl.core.training.loops`) or writes its
own with these parts: the budgets (real env steps, episodes, imagined steps, updates, wall
time) and the counters, the seeds, the evaluation and checkpoint schedule (`tick`), logging
whose columns grow with the metrics returned, the env factory, the demonstration buffer and
replay, the models the algorithm declared in ``needs``, `collect` and `evaluate`. Everything in
`counters` is saved in every checkpoint, so a loop that keeps its state there (and in the
algorithm's ``state_dict``) resumes exactly.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from warl.core.assemble import Assembly
from warl.core.chunk_replay import ChunkReplay
from warl.core.envs.chunked import ChunkedEnv
from warl.core.evaluate import EvalResult, eval_seeds
from warl.core.progress import progress_bar
from warl.core.registry import Registry
from warl.core.replay import MixedReplay
from warl.core.training import durable
from warl.core.training.checkpoint import load_run_state, save_run_state
from warl.core.training.collector import (
    Backend,
    Collector,
    InlineBackend,
    Policy,
    Rollout,
    RolloutState,
    with_gated_expert,
)
from warl.core.training.config import TrainConfig
from warl.core.training.counters import TRAIN_SEED_BASE, Counters, train_seed
from warl.core.training.log import RunLog
from warl.core.training.selection import best_state, keep_if_best

__all__ = ["SCRATCH", "TRAIN_SEED_BASE", "Counters", "Session", "train_seed"]

# The run folder's working copy of the replay (memory-mapped); removed when the run ends.
SCRATCH = "replay_storage"


class Session:
    """One run's training context; see the module docstring.

    Attributes:
        config: the loop settings (`TrainConfig`): budgets, schedule, seed.
        counters: `Counters`, saved with every checkpoint.
        run_dir: the run folder (an algorithm may keep extra files under it).
        env: the deployment env, chunked (`ChunkedEnv`).
        wa_model / world_model / reward_model: what the algorithm declared in ``needs``
            (None otherwise).
        replay: the online buffer and the demonstration buffer (`MixedReplay`).
        policy: the rollout workers' copy of the algorithm's policy (``make_policy()``).
        collector: runs episodes with ``policy``; ``backend`` runs the collector's calls
            (inline by default; the asynchronous off-policy loop swaps in a thread).
    """

    def __init__(self, setup: Assembly, config: TrainConfig, run_dir: Path, registry: Registry,
                 show_progress: bool = True) -> None:
        self.setup, self.config, self.run_dir = setup, config, run_dir
        self.registry, self.show_progress = registry, show_progress
        self.algorithm = setup.algorithm
        self.algorithm_id, self.env_id = setup.config["algorithm"], setup.config["env"]
        self.env: ChunkedEnv = setup.env
        self.wa_model = setup.wa_model
        self.world_model, self.reward_model = setup.world_model, setup.reward_model
        # The first evaluation runs before any online data: what the warm-up alone gives.
        self.counters = Counters(next_eval=0, next_checkpoint=config.checkpoint_every)
        scratch = self.scratch_dir()
        online, demos = (ChunkReplay(config.replay_capacity, scratch / name,
                                     config.replay_precision) for name in ("online", "demos"))
        self.replay = MixedReplay(online, demos, getattr(self.algorithm, "demo_fraction", 0.5))
        make_policy = getattr(self.algorithm, "make_policy", None)
        self.policy: Policy = make_policy() if make_policy is not None else self.algorithm
        # An algorithm that fine-tunes its WA model (``trains_wa_model``) gets a rollout copy
        # of it, refreshed with the policy weights (`rollout_state`): the learner's model
        # changes while the worker infers.
        self.trains_wa_model = bool(getattr(self.algorithm, "trains_wa_model", False))
        self._rollout_wa = copy.deepcopy(setup.wa_model) if self.trains_wa_model else \
            setup.wa_model
        self.collector: Collector = self.recipe(local=True).build(first=setup.env.env)
        self.backend: Backend = InlineBackend(self.collector)
        self.log: RunLog | None = None
        # An evaluation running in the rollout worker while the learner goes on updating:
        # (future, env steps and updates when it started, the weights it runs when
        # ``train.select=best`` keeps the best).
        self._pending_eval: tuple[Future[EvalResult], int, int, Any] | None = None
        self._clock = time.perf_counter()
        self._wall_at_start = 0.0
        self._online_start: float | None = None
        self._rate = (time.perf_counter(), 0)

    # --- what the core provides -------------------------------------------------------------
    @property
    def demos(self) -> Any:
        """The demonstration buffer (filled before ``train`` when ``demos`` is needed)."""
        return self.replay.demos

    @property
    def intervenes(self) -> bool:
        """Whether the gated expert is in the training loop (``train.intervention``)."""
        from warl.core.training.contract import intervenes

        return intervenes(self.algorithm, self.config, self.algorithm_id)

    def _gate(self) -> Any:
        """The takeover rule of the simulated operator: the algorithm's own, else a deviation
        gate at ``train.intervention_threshold``."""
        from warl.core.envs.intervention import DeviationGate

        make_gate = getattr(self.algorithm, "make_gate", None)
        return make_gate() if make_gate is not None else \
            DeviationGate(self.config.intervention_threshold)

    def make_env(self, **overrides: Any) -> Any:
        """A fresh single-step deployment env (gap and interventions as configured, its own
        instance: evaluations never touch it); ``overrides`` are env settings such as
        ``reward_type="dense"``."""
        from warl.core.rollout.recipe import deployed_env

        config = self.setup.config
        env = deployed_env(self.env_id, {**config["env_kwargs"], **overrides},
                           config["deployment_gap"], self.config.seed)
        return with_gated_expert(env, self.env_id, self._gate()) if self.intervenes else env

    def recipe(self, local: bool = False) -> Any:
        """How to build this session's collector (`CollectorRecipe`): in a worker process or
        Ray actor (one torch thread), or ``local``ly for the inline and thread backends."""
        from warl.core.rollout.recipe import CollectorRecipe

        c, config = self.config, self.setup.config
        environ = {k: v for k, v in os.environ.items() if k.startswith(("WARL_", "MUJOCO_"))}
        # A worker has one core: Mesa's software renderer must not start threads of its own.
        environ.setdefault("LP_NUM_THREADS", os.environ.get("LP_NUM_THREADS", "0"))
        return CollectorRecipe(
            self.env_id, dict(config["env_kwargs"]), dict(config["deployment_gap"]), c.seed,
            self.env.chunk, self._rollout_wa, self.policy,
            self._gate() if self.intervenes else None, torch_threads=0 if local else 1,
            environ={} if local else environ, envs=c.envs_per_worker,
            vector="serial" if local else c.vector)

    def seed_of(self, episode: int) -> int:
        """The reset seed of training episode ``episode`` (the training range)."""
        return train_seed(self.config.seed, episode)

    def scratch_dir(self, name: str = "") -> Path:
        """A fresh folder for memory-mapped buffers of this process (those of dead processes
        are removed: their contents live on in the checkpoint)."""
        import shutil
        import uuid

        root = self.run_dir / SCRATCH
        if root.is_dir() and not name:
            for stale in root.iterdir():
                if not stale.name.startswith(f"{os.getpid()}-"):
                    shutil.rmtree(stale, ignore_errors=True)
        return root / f"{os.getpid()}-{uuid.uuid4().hex[:8]}" / name

    # --- budgets and clocks -----------------------------------------------------------------
    def wall(self) -> float:
        return self._wall_at_start + time.perf_counter() - self._clock

    def start_online(self) -> None:
        """Start (or, on resume, continue) the online wall-clock budget."""
        if self._online_start is None:
            self._online_start = self.wall() - self.counters.online_s

    def budget_left(self) -> bool:
        """Whether real env steps, episodes, updates and online minutes all remain."""
        c, counters = self.config, self.counters
        return self._within(counters.env_steps, c.env_steps) and \
            (not c.episodes or counters.episodes < c.episodes)

    def imagined_budget_left(self) -> bool:
        """Whether imagined steps (rollouts in a world-model env), updates and online minutes
        all remain."""
        return self._within(self.counters.imagined_steps, self.config.imagined_steps)

    def _within(self, steps: int, budget: int) -> bool:
        """``steps`` under ``budget``, and the update and wall-clock budgets not spent."""
        self.start_online()
        assert self._online_start is not None
        c, counters = self.config, self.counters
        counters.online_s = self.wall() - self._online_start
        return (steps < budget and (not c.updates or counters.updates < c.updates)
                and (not c.minutes or counters.online_s < 60.0 * c.minutes))

    # --- collecting and evaluating ----------------------------------------------------------
    def collect(self, policy_state: Mapping[str, Any] | None = None, seed: int | None = None,
                explore: bool = True, noise_seed: int | None = None) -> Rollout:
        """One training episode with the rollout policy (weights from ``policy_state`` if
        given), from ``reset(seed)`` (default: the next training episode's seed), its sampling
        seeded by ``noise_seed`` (default ``seed``); it is not counted: pass it to
        `record_episode`."""
        seed = self.seed_of(self.counters.episodes) if seed is None else seed
        rollout: Rollout = self.backend.submit("episode", policy_state, seed, explore,
                                               noise_seed).result()
        return rollout

    def evaluate(self, act: Callable[..., Any], trials: int, name: str, videos: int = 0,
                 seed_list: int | None = None) -> EvalResult:
        """``act`` on the first ``trials`` seeds of list ``seed_list`` (default: the
        final evaluation's, ``train.final_seed``), autonomously; videos of the first
        ``videos`` trials go to ``videos/<name>/``."""
        from warl.core.evaluate import evaluate

        seeds = eval_seeds(self.config.final_list if seed_list is None else seed_list, trials)
        video_dir = self.run_dir / "videos" / name if videos else None
        with progress_bar(f"eval {name}", trials, self.show_progress) as advance:
            return evaluate(self.env, act, self.wa_model, seeds, video_dir, videos, advance)

    @contextmanager
    def progress(self, label: str, total: int, done: int = 0) -> Iterator[Callable[..., None]]:
        """A progress bar on stderr (none with ``--quiet``): ``advance(n, **status)``."""
        with progress_bar(label, total, self.show_progress, done) as advance:
            yield advance

    # --- logging ----------------------------------------------------------------------------
    def updates_per_s(self) -> float:
        """Learner updates per second since the last call."""
        now = time.perf_counter()
        clock, updates = self._rate
        self._rate = (now, self.counters.updates)
        return (self.counters.updates - updates) / (now - clock) if now > clock else 0.0

    def record_episode(self, *, success: bool, episode_return: float, length: int,
                       intervention_steps: int = 0, transitions: int | None = None,
                       updates_per_s: float | None = None,
                       metrics: Mapping[str, Any] | None = None, imagined: bool = False) -> None:
        """Count one finished training episode and write its ``train.csv`` row: the loop's
        columns, then every metric the algorithm returned (new ones add columns). An
        ``imagined`` episode (in a world-model env) counts imagined steps, not env steps."""
        counters = self.counters
        if imagined:
            counters.imagined_steps += length
        else:
            counters.env_steps += length
        counters.episodes += 1
        counters.transitions += length if transitions is None else transitions
        counters.recent_successes = [*counters.recent_successes, int(success)][-20:]
        self.logger.episode({
            **dict(metrics or {}),
            **({"imagined_steps": counters.imagined_steps} if imagined else {}),
            "env_steps": counters.env_steps, "wall_s": self.wall(), "episode": counters.episodes,
            "success": int(success), "return": episode_return, "length": length,
            "intervention_rate": intervention_steps / max(1, length),
            "transitions": counters.transitions, "updates": counters.updates,
            "achieved_utd": counters.updates / max(1, counters.transitions),
            "updates_per_s": self.updates_per_s() if updates_per_s is None else updates_per_s,
        })

    def log_table(self, name: str, row: Mapping[str, Any], **kwargs: Any) -> None:
        """A row of the run folder's ``<name>.csv`` (e.g. ``rounds``, ``distill``)."""
        self.logger.table(name, row, **kwargs)

    @property
    def logger(self) -> RunLog:
        if self.log is None:
            raise RuntimeError("the session's log is opened by the run (warl.core.training."
                               "run.train); open a RunLog before logging")
        return self.log

    def status(self, updates_per_s: float) -> dict[str, str]:
        """The progress bar's fields: learner speed, recent training and evaluation SR."""
        recent = self.counters.recent_successes
        status = {"upd/s": f"{updates_per_s:.0f}",
                  "train SR": f"{sum(recent) / max(1, len(recent)):.0%}"}
        if self.counters.last_eval_sr is not None:
            status["eval SR"] = f"{self.counters.last_eval_sr:.0%}"
        return status

    # --- the schedule -----------------------------------------------------------------------
    def tick(self) -> None:
        """Evaluate and checkpoint when due (every ``eval_every`` / ``checkpoint_every``
        steps, real and imagined). The evaluation runs in the rollout backend: inline, or
        beside the learner."""
        c, counters = self.config, self.counters
        steps = counters.env_steps + counters.imagined_steps
        if self._pending_eval is not None and self._pending_eval[0].done():
            self.finish_evaluation()
        if c.eval_trials and steps >= counters.next_eval and self._pending_eval is None:
            seeds = eval_seeds(c.eval_seed, c.eval_trials)
            state = self._policy_state()
            future = self.backend.submit("evaluation", state, seeds)
            kept = (state if state is not None else self.algorithm.policy_state()) \
                if c.select == "best" else None
            self._pending_eval = (future, counters.env_steps, counters.updates, kept)
            if future.done():
                self.finish_evaluation()
            while counters.next_eval <= steps:
                counters.next_eval += c.eval_every
        if steps >= counters.next_checkpoint:
            while counters.next_checkpoint <= steps:
                counters.next_checkpoint += c.checkpoint_every
            self.checkpoint()

    def rollout_state(self) -> Any:
        """What a rollout worker loads before an episode: the algorithm's ``policy_state()``,
        with the WA model's weights when the algorithm fine-tunes it (`RolloutState`)."""
        policy = self.algorithm.policy_state()
        if not self.trains_wa_model:
            return policy
        assert self.wa_model is not None
        wa = {k: v.detach().clone() for k, v in self.wa_model.state_dict().items()}
        return RolloutState(policy, wa)

    def _policy_state(self) -> Any:
        """The weights a rollout worker's policy copy needs (none when the algorithm is its
        own policy and keeps its WA model frozen)."""
        if self.policy is self.algorithm and not self.trains_wa_model:
            return None
        return self.rollout_state()

    def finish_evaluation(self) -> None:
        """Wait for a pending scheduled evaluation and log it."""
        if self._pending_eval is None:
            return
        future, env_steps, updates, state = self._pending_eval
        self._pending_eval = None
        result = future.result()
        counters = self.counters
        counters.last_eval_sr = result.success_rate
        self.log_evaluation(result, env_steps, updates)
        keep_if_best(self.run_dir, counters, result.success_rate, env_steps, state)

    def selected_policy_state(self) -> Any:
        """The weights the final evaluation runs: the algorithm's last ones, or with
        ``train.select=best`` those of the best evaluation during training (if any ran)."""
        best = best_state(self.run_dir, self.config.select) \
            if self.counters.best_eval_sr is not None else None
        return best if best is not None else self.algorithm.policy_state()

    def log_evaluation(self, result: EvalResult, env_steps: int, updates: int) -> None:
        low, high = result.wilson_interval()
        imagined = {"imagined_steps": self.counters.imagined_steps} \
            if self.counters.imagined_steps else {}
        self.logger.evaluation({
            "env_steps": env_steps, **imagined, "wall_s": self.wall(), "updates": updates,
            "success_rate": result.success_rate, "ci_low": low, "ci_high": high,
            "mean_episode_length": result.mean_length, "trials": len(result.trials),
        })

    # --- checkpoints and stages -------------------------------------------------------------
    def checkpoint(self) -> None:
        """Save the algorithm, the replay, the RNG states and the counters (atomically)."""
        self.counters.wall_s = self.wall()
        save_run_state(self.run_dir, self.algorithm, self.replay, self.counters.__dict__,
                       self.algorithm_id, self.wa_model if self.trains_wa_model else None)
        durable.acknowledge(self)  # a remote env's serving side may drop what it now holds

    def resume(self) -> None:
        counters = load_run_state(self.run_dir, self.algorithm, self.replay, self.algorithm_id,
                                  self.wa_model if self.trains_wa_model else None)
        if counters.get("stage") in ("online", "distill"):  # a run folder of warl 0.1
            counters["stage"] = "train"
        self.counters = Counters(**counters)
        self._wall_at_start = self.counters.wall_s
        self._clock = time.perf_counter()
        self._rate = (self._clock, self.counters.updates)
        durable.refill(self)  # what a remote env executed after the checkpoint

    def stage(self, name: str, run: Callable[[], Any]) -> None:
        """Run one stage of the algorithm's training unless a resumed run finished it; then
        checkpoint. A stage that stopped midway runs again from its own counters."""
        if name in self.counters.stages_done:
            return
        run()
        self.finish_evaluation()
        self.counters.stages_done = [*self.counters.stages_done, name]
        self.checkpoint()
