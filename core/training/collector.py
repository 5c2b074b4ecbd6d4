"""Rollout workers: run episodes with a copy of the policy and hand back chunk transitions.

The learner talks to a worker only through `Backend.submit` (returns a future) with a
snapshot of the policy weights, so the same loop runs with the worker inline (synchronous),
in a thread (asynchronous, in-process: rollout and learning in parallel as in HALO-WA
section 7.9) or in a Ray actor (`warl.core.training.ray_backend`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from warl.core.envs.chunked import ChunkedEnv
from warl.core.errors import ConfigError
from warl.core.evaluate import EvalResult, evaluate_with
from warl.core.rollout.engine import EpisodeRequest, Rollout, RolloutEngine, policy_copies
from warl.core.rollout.vector import ChunkVector, SerialVector
from warl.core.world_model import WAOutput, WorldActionModel


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


class Collector:
    """Runs training episodes on ``envs`` and evaluations on ``eval_envs`` (default ``envs``)
    with `RolloutEngine`s sharing one policy copy per env slot (weights set per request).

    The training envs may hold an intervention source; the evaluation envs always run
    autonomously.
    """

    def __init__(self, envs: ChunkedEnv | Sequence[ChunkedEnv] | ChunkVector,
                 wa_model: WorldActionModel | None, policy: Policy,
                 eval_envs: ChunkedEnv | Sequence[ChunkedEnv] | None = None) -> None:
        vector = _vector(envs)
        self.wa_model, self.policy = wa_model, policy
        policies = policy_copies(policy, vector.num_envs)
        self.engine = RolloutEngine(vector, wa_model, policies)
        evals = vector if eval_envs is None else _vector(eval_envs)
        self.eval_engine = RolloutEngine(evals, wa_model, policies)

    def _load(self, state: Any) -> None:
        """Load a policy state, or a `RolloutState` (WA weights too); None keeps the weights."""
        if isinstance(state, RolloutState):
            assert self.wa_model is not None
            self.wa_model.load_state_dict(state.wa_model)
            state = state.policy
        if state is not None:
            self.engine.load_policy_state(state)

    def episodes(self, policy_state: Mapping[str, Any] | None,
                 requests: Sequence[EpisodeRequest]) -> list[Rollout]:
        """The requested training episodes, N at a time, in request order."""
        self._load(policy_state)
        return self.engine.run(requests)

    def episode(self, policy_state: Mapping[str, Any] | None, seed: int,
                explore: bool = True, noise_seed: int | None = None) -> Rollout:
        """One episode from ``reset(seed=seed)``, exploring unless ``explore`` is off; the
        policy's and the WA model's sampling are seeded with ``noise_seed`` (default
        ``seed``)."""
        return self.episodes(policy_state, [EpisodeRequest(seed, explore, noise_seed)])[0]

    def evaluation(self, policy_state: Mapping[str, Any] | None, seeds: list[int],
                   video_dir: Any = None, videos: int = 0) -> EvalResult:
        """Deterministic trials on fixed seeds (`warl.core.evaluate.evaluate_with`)."""
        self._load(policy_state)
        return evaluate_with(self.eval_engine, seeds, video_dir, videos)


def _vector(envs: ChunkedEnv | Sequence[ChunkedEnv] | ChunkVector) -> ChunkVector:
    if isinstance(envs, ChunkedEnv):
        return SerialVector([envs])
    if isinstance(envs, Sequence):
        return SerialVector(envs)
    return envs


def with_gated_expert(env: Any, env_id: str, gate: Any) -> Any:
    """``env`` with the env's scripted expert behind ``gate`` in the loop, standing in for the
    operator (the training env when ``train.intervention`` puts the expert in)."""
    from warl.core.demos import scripted_expert
    from warl.core.envs.intervention import GatedExpert, InterventionWrapper
    from warl.core.training.contract import open_loop_message

    expert = scripted_expert(env, env_id)
    if not getattr(expert, "closed_loop", True):
        raise ConfigError(open_loop_message(env_id))
    return InterventionWrapper(env, GatedExpert(expert, gate))


class Backend(Protocol):
    """Runs `Collector` calls somewhere and returns futures; ``workers`` run at once."""

    workers: int

    def submit(self, method: str, *args: Any) -> Future[Any]: ...

    def close(self) -> None: ...


class InlineBackend:
    """Synchronous: the call runs before `submit` returns."""

    workers = 1

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

    workers = 1

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warl-rollout")

    def submit(self, method: str, *args: Any) -> Future[Any]:
        return self.pool.submit(getattr(self.collector, method), *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
