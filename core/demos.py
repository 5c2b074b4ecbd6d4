"""Demonstrations in HDF5, in the robomimic / LIBERO layout (docs/demos.md).

::

    data/                      attrs: env_args (JSON), env_id, problem_info (JSON with
                               language_instruction), total, warl_version
      demo_<i>/                attrs: num_samples, seed, success, instruction, env_id
        obs/state              (T, S) float32   observation *before* action t
        obs/rgb_<camera>       (T, H, W, 3) uint8
        final_obs/<key>        (1, ...)         the observation after the last action
        actions                (T, A) float32
        rewards                (T,) float32
        dones                  (T,) uint8       1 on the step that terminated the episode
        success                (T,) bool        info["success"] after action t
    mask/successful            names of the successful demos (a robomimic filter key)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.errors import ConfigError, ContractError

Policy = Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass
class Episode:
    """One recorded episode; ``obs[k][t]`` is what the policy saw before ``actions[t]``."""

    seed: int
    instruction: str
    obs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    actions: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    dones: list[bool] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    # The observation after the last action (the state a success classifier must see).
    final_obs: dict[str, np.ndarray] | None = None

    @property
    def success(self) -> bool:
        return any(self.successes)

    def __len__(self) -> int:
        return len(self.actions)


def record_episode(env: Any, policy: Policy, seed: int) -> Episode:
    """Run ``policy`` in ``env`` from ``reset(seed=seed)`` until the episode ends."""
    from warl.core.rollout.expert import expert_episode

    rollout = expert_episode(env, policy, 1, seed)
    episode = Episode(seed=seed, instruction=rollout.instruction)
    steps = rollout.record.steps
    episode.obs = {key: [s.features[key] for s in steps] for key in steps[0].features}
    for step in steps:
        episode.actions.append(step.action[0])
        episode.rewards.append(step.reward)
        episode.dones.append(step.terminated)
        episode.successes.append(step.succeeded)
    final = rollout.record.final_features
    episode.final_obs = {k: np.asarray(v) for k, v in final.items()} if final else None
    return episode


class DemoWriter:
    """Appends episodes to an HDF5 file; the file is valid after every episode."""

    def __init__(self, path: str | Path, env_id: str, env_kwargs: dict[str, Any]) -> None:
        import h5py

        from warl import __version__

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            raise ConfigError(
                f"{self.path} already exists; choose another --out or delete it (nothing was "
                f"overwritten)"
            )
        self._file = h5py.File(self.path, "w")
        self._data = self._file.create_group("data")
        self._data.attrs["env_id"] = env_id
        self._data.attrs["env_args"] = json.dumps(
            {"env_name": env_id, "type": "warl", "env_kwargs": env_kwargs}
        )
        self._data.attrs["warl_version"] = __version__
        self._data.attrs["total"] = 0
        self.env_id = env_id
        self.count = 0
        self.successful: list[str] = []

    def add(self, episode: Episode) -> str:
        name = f"demo_{self.count}"
        group = self._data.create_group(name)
        obs = group.create_group("obs")
        for key, values in episode.obs.items():
            array = np.stack(values)
            compression = "gzip" if array.dtype == np.uint8 else None
            obs.create_dataset(key, data=array, compression=compression)
        if episode.final_obs is not None:
            final = group.create_group("final_obs")
            for key, value in episode.final_obs.items():
                final.create_dataset(key, data=np.asarray(value)[None])
        group.create_dataset("actions", data=np.stack(episode.actions).astype(np.float32))
        group.create_dataset("rewards", data=np.asarray(episode.rewards, dtype=np.float32))
        group.create_dataset("dones", data=np.asarray(episode.dones, dtype=np.uint8))
        group.create_dataset("success", data=np.asarray(episode.successes, dtype=bool))
        group.attrs.update(
            num_samples=len(episode), seed=episode.seed, success=episode.success,
            instruction=episode.instruction, env_id=self.env_id,
        )
        self._data.attrs["total"] = int(self._data.attrs["total"]) + len(episode)
        if episode.instruction:
            self._data.attrs["problem_info"] = json.dumps(
                {"language_instruction": episode.instruction}
            )
        if episode.success:
            self.successful.append(name)
        self._write_mask()
        self._file.flush()
        self.count += 1
        return name

    def _write_mask(self) -> None:
        mask = self._file.require_group("mask")
        if "successful" in mask:
            del mask["successful"]
        mask.create_dataset("successful", data=np.array(self.successful, dtype="S"))

    def close(self) -> None:
        self._file.close()


@contextmanager
def demo_writer(path: str | Path, env_id: str, env_kwargs: dict[str, Any]) -> Iterator[DemoWriter]:
    writer = DemoWriter(path, env_id, env_kwargs)
    try:
        yield writer
    finally:
        writer.close()


def scripted_expert(env: Any, env_id: str) -> Policy:
    """The env's scripted expert (``env.unwrapped.scripted_expert()``), or a clear error."""
    factory = getattr(env.unwrapped, "scripted_expert", None)
    if factory is None:
        raise ContractError(
            f"{env_id!r} has no scripted expert (env.unwrapped.scripted_expert()); "
            f"demonstrations can only be recorded from envs that provide one"
        )
    policy: Policy = factory()
    return policy


def collect_demos(env: Any, env_id: str, env_kwargs: dict[str, Any], path: str | Path,
                  episodes: int, seed: int,
                  advance: Callable[..., None] | None = None) -> DemoWriter:
    """Record ``episodes`` scripted-expert episodes (seeds ``seed``, ``seed + 1``, ...)."""
    expert = scripted_expert(env, env_id)
    with demo_writer(path, env_id, env_kwargs) as writer:
        for i in range(episodes):
            writer.add(record_episode(env, expert, seed=seed + i))
            if advance is not None:
                advance(1, success=f"{len(writer.successful)}/{i + 1}")
    return writer


def demo_info(path: str | Path) -> dict[str, Any]:
    """A summary of a demo file: env, counts, success rate, lengths, observation keys."""
    import h5py

    with h5py.File(path, "r") as f:
        if "data" not in f:
            raise ValueError(f"{path} has no 'data' group; it is not a robomimic/warl demo file")
        data = f["data"]
        demos = sorted(data.keys(), key=lambda n: int(n.split("_")[-1]))
        lengths = [int(data[d].attrs.get("num_samples", len(data[d]["actions"]))) for d in demos]
        successes = [bool(data[d].attrs.get("success", False)) for d in demos]
        first = data[demos[0]] if demos else None
        obs_shapes = (
            {k: list(v.shape[1:]) for k, v in first["obs"].items()} if first is not None else {}
        )
        return {
            "path": str(path),
            "env_id": str(data.attrs.get("env_id", "")),
            "env_args": json.loads(data.attrs.get("env_args", "{}")),
            "instruction": str(first.attrs.get("instruction", "")) if first is not None else "",
            "episodes": len(demos),
            "successful": int(sum(successes)),
            "success_rate": float(np.mean(successes)) if demos else 0.0,
            "total_samples": int(sum(lengths)),
            "mean_length": float(np.mean(lengths)) if demos else 0.0,
            "obs": obs_shapes,
            "action_dim": int(first["actions"].shape[1]) if first is not None else 0,
        }
