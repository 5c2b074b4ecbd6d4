"""`CollectorRecipe`: how to build a run's `Collector` anywhere (this process, a worker
process, a Ray actor), from picklable parts: the env id and settings, the deployment gap, the
chunk size, the rollout WA model and policy, and the intervention gate when the expert is in
the loop."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CollectorRecipe:
    """Attributes:

    envs: envs the collector steps as one batch (``train.envs_per_worker``).
    vector: ``serial`` (the envs in this process) or ``async`` (Gymnasium's
        `AsyncVectorEnv`: a process per env; no intervention source, whose re-inference needs
        the WA model in the same process).
    torch_threads: torch threads of the process the recipe is built in (0: leave as is).
    environ: environment variables to set first (``MUJOCO_GL``, ``WARL_*``).
    """

    env_id: str
    env_kwargs: dict[str, Any]
    deployment_gap: dict[str, Any]
    gap_seed: int
    chunk: int
    wa_model: Any
    policy: Any
    gate: Any = None  # the intervention gate when the expert is in the loop, else None
    torch_threads: int = 1
    environ: dict[str, str] = field(default_factory=dict)
    envs: int = 1
    vector: str = "serial"

    def deployed(self, index: int = 0) -> Any:
        """A fresh single-step deployment env (the gap applied, no intervention); the
        ``index``-th of a batch drives its own stream of a remote env (``train-1``, ...)."""
        kwargs = dict(self.env_kwargs)
        if index and "stream" in kwargs:
            kwargs["stream"] = f"{kwargs['stream']}-{index}"
        return deployed_env(self.env_id, kwargs, self.deployment_gap, self.gap_seed)

    def build(self, first: Any = None) -> Any:
        """The collector; ``first`` (a deployed single-step env) is reused as env 0."""
        import os

        from warl.core.envs.chunked import ChunkedEnv
        from warl.core.rollout.vector import GymVector
        from warl.core.training.collector import Collector, with_gated_expert

        os.environ.update(self.environ)
        if self.torch_threads:
            import torch

            torch.set_num_threads(self.torch_threads)
        if self.vector == "async":
            if self.gate is not None:
                raise ValueError("train.vector=async cannot put the expert in the loop; "
                                 "use train.vector=serial")
            make = functools.partial(chunked_env, self.env_id, self.env_kwargs,
                                     self.deployment_gap, self.gap_seed, self.chunk)
            vector = GymVector([make] * self.envs)
            return Collector(vector, self.wa_model, self.policy)
        deployed = [self.deployed(i) if first is None or i else first
                    for i in range(self.envs)]
        plain = [ChunkedEnv(env, self.chunk) for env in deployed]
        evals = plain
        if "stream" in self.env_kwargs:
            # A remote env evaluates on streams of its own, so that evaluation episodes never
            # mix with the training stream's steps (which the session acknowledges).
            evals = [ChunkedEnv(deployed_env(self.env_id, {**self.env_kwargs,
                                                           "stream": f"eval-{i}"},
                                             self.deployment_gap, self.gap_seed), self.chunk)
                     for i in range(self.envs)]
        if self.gate is None:
            return Collector(plain, self.wa_model, self.policy, eval_envs=evals)
        trains = [ChunkedEnv(with_gated_expert(env, self.env_id, copy.deepcopy(self.gate)),
                             self.chunk) for env in deployed]
        return Collector(trains, self.wa_model, self.policy, eval_envs=evals)


def deployed_env(env_id: str, env_kwargs: dict[str, Any], gap: dict[str, Any],
                 seed: int) -> Any:
    from warl.core.envs.gap import apply_deployment_gap
    from warl.core.registry import default_registry

    base = default_registry().make(env_id, kind="env", **env_kwargs)
    return apply_deployment_gap(base, gap, seed=seed)


def chunked_env(env_id: str, env_kwargs: dict[str, Any], gap: dict[str, Any], seed: int,
                chunk: int) -> Any:
    """A deployed env executing ``chunk``-step action chunks (picklable by parts)."""
    from warl.core.envs.chunked import ChunkedEnv

    return ChunkedEnv(deployed_env(env_id, env_kwargs, gap, seed), chunk)
