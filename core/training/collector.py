"""Rollout workers: run episodes with a copy of the policy and hand back chunk transitions.

The learner talks to a worker only through `Backend.submit` (returns a future) with a
snapshot of the policy weights, so the same loop runs with the worker inline (synchronous),
in a thread (asynchronous, in-process: rollout and learning in parallel as in HALO-WA
section 7.9) or in a Ray actor (`warl.core.training.ray_backend`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from warl.core.envs.chunked import ChunkedEnv
from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY
from warl.core.evaluate import EvalResult, evaluate, split_extras
from warl.core.training.transitions import EpisodeRecord, Step
from warl.core.world_model import WAOutput, WorldActionModel, batch_of


class Policy(Protocol):
    """What a rollout worker needs from an algorithm (`make_policy()`)."""

    def reseed(self, seed: int) -> None: ...

    def load_policy_state(self, state: Mapping[str, Any]) -> None: ...

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray: ...

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]: ...


@dataclass
class RolloutState:
    """A policy state plus the WA model's weights, for an algorithm that fine-tunes its WA
    model: the worker loads both before an episode or an evaluation."""

    policy: Mapping[str, Any] | None
    wa_model: Mapping[str, Any]


@dataclass
class Rollout:
    """One collected episode and how long it took."""

    record: EpisodeRecord
    seed: int
    wall_time_s: float


class Collector:
    """Runs episodes in ``env`` with ``policy`` (weights set per request)."""

    def __init__(self, env: ChunkedEnv, wa_model: WorldActionModel | None, policy: Policy,
                 eval_env: ChunkedEnv | None = None) -> None:
        """``env`` collects (it may hold an intervention source); ``eval_env`` (default
        ``env``) evaluates, always autonomously."""
        self.env, self.wa_model, self.policy = env, wa_model, policy
        self.eval_env = env if eval_env is None else eval_env
        self._instruction = ""
        if self.wa_model is not None and _intervenes(env):
            env.refill = self.refill

    def _load(self, state: Any) -> Any:
        """Load a `RolloutState`'s WA weights; returns the policy state to load."""
        if isinstance(state, RolloutState):
            assert self.wa_model is not None
            self.wa_model.load_state_dict(state.wa_model)
            return state.policy
        return state

    def refill(self, obs: Any, remaining: int) -> np.ndarray:
        """After an intervention the WA model re-infers to finish the chunk (HALO-WA 3.3)."""
        output = self._infer(obs, self._instruction)
        assert output is not None
        chunk: np.ndarray = output.ref_actions[0, :remaining].detach().cpu().numpy()
        return chunk

    def _infer(self, obs: Any, instruction: str) -> WAOutput | None:
        return None if self.wa_model is None else self.wa_model.infer(batch_of(obs), instruction)

    def episode(self, policy_state: Mapping[str, Any] | None, seed: int,
                explore: bool = True, noise_seed: int | None = None) -> Rollout:
        """One episode from ``reset(seed=seed)``, exploring unless ``explore`` is off; the
        policy's and the WA model's sampling are seeded with ``noise_seed`` (default ``seed``:
        a group of episodes from one initial state gives each its own)."""
        start = time.perf_counter()
        policy_state = self._load(policy_state)
        if policy_state is not None:
            self.policy.load_policy_state(policy_state)
        noise = seed if noise_seed is None else noise_seed
        self.policy.reseed(noise)
        if self.wa_model is not None:
            self.wa_model.seed(noise)
        obs, info = self.env.reset(seed=seed)
        instruction = self._instruction = str(info.get(INSTRUCTION_KEY, ""))
        record = EpisodeRecord()
        while True:
            wa_output = self._infer(obs, instruction)
            chunk, extras = split_extras(self.policy.act(obs, wa_output, explore))
            features = self.policy.features(obs, wa_output)
            obs, reward, terminated, truncated, info = self.env.step(chunk)
            succeeded = bool(info.get(SUCCESS_KEY, False))
            record.steps.append(Step(
                features=features, action=np.asarray(info["executed_actions"], np.float32),
                reward=float(reward), terminated=bool(terminated),
                steps=int(info["steps_executed"]), intervened=np.asarray(info["intervened"]),
                succeeded=succeeded, extras=extras,
            ))
            record.success = record.success or succeeded
            if terminated or truncated:
                record.final_features = self.policy.features(obs, self._infer(obs, instruction))
                return Rollout(record, seed, time.perf_counter() - start)

    def evaluation(self, policy_state: Mapping[str, Any] | None, seeds: list[int],
                   video_dir: Any = None, videos: int = 0) -> EvalResult:
        """Deterministic trials on fixed seeds (`warl.core.evaluate.evaluate`)."""
        policy_state = self._load(policy_state)
        if policy_state is not None:
            self.policy.load_policy_state(policy_state)
        return evaluate(self.eval_env, self.policy.act, self.wa_model, seeds, video_dir, videos)


def with_gated_expert(env: Any, env_id: str, gate: Any) -> Any:
    """``env`` with the env's scripted expert behind ``gate`` in the loop, standing in for the
    operator (the training env when ``train.intervention`` puts the expert in)."""
    from warl.core.demos import scripted_expert
    from warl.core.envs.intervention import GatedExpert, InterventionWrapper

    return InterventionWrapper(env, GatedExpert(scripted_expert(env, env_id), gate))


def _intervenes(env: Any) -> bool:
    from warl.core.envs.intervention import InterventionWrapper

    while isinstance(env, gym.Wrapper):
        if isinstance(env, InterventionWrapper):
            return True
        env = env.env
    return False


class Backend(Protocol):
    """Runs `Collector` calls somewhere and returns futures."""

    def submit(self, method: str, *args: Any) -> Future[Any]: ...

    def close(self) -> None: ...


class InlineBackend:
    """Synchronous: the call runs before `submit` returns."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    def submit(self, method: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(getattr(self.collector, method)(*args))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


class ThreadBackend:
    """Asynchronous, in-process: one worker thread. MuJoCo and torch release the GIL while
    they compute, so rollout and learning overlap on two cores."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warl-rollout")

    def submit(self, method: str, *args: Any) -> Future[Any]:
        return self.pool.submit(getattr(self.collector, method), *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
