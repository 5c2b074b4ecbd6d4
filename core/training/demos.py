"""The demonstration buffer: scripted-expert episodes cut into chunk transitions.

HALO-WA puts the demonstrations that trained WA-base into the buffer, "all treated as
successful trajectories" (section 7.7); here the env's scripted expert records them, in lab
conditions (``lab``, the built-in WA model's own demo seeds) or under the deployment gap
(``deployment``), and only successful episodes are kept. The expert acts every step (it is
closed-loop), but the RL state is only needed at chunk boundaries, so cameras are rendered
there alone. Episodes are cached as ``.npz``; the RL state (which depends on the algorithm
and the WA model) is computed from them per run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.demos import scripted_expert
from warl.core.rollout.expert import boundary_observations, expert_episode
from warl.core.training.transitions import EpisodeRecord, Step
from warl.core.world_model import WorldActionModel

# Seeds: ``lab`` demos are the WA model's own (10_000 + i, lab conditions); ``deployment``
# demos use 20_000 + i; both are apart from the evaluation seeds (1_000_000 + ...).
DEMO_SEED_BASES = {"lab": 10_000, "deployment": 20_000}

ChunkEpisode = dict[str, Any]


def record_chunked(env: Any, env_id: str, chunk: int, seed: int) -> ChunkEpisode:
    """One expert episode from ``reset(seed=seed)``, cut into C-step chunks."""
    rollout = expert_episode(env, scripted_expert(env, env_id), chunk, seed)
    steps = rollout.record.steps
    return {
        "obs": boundary_observations(rollout),
        "actions": np.stack([s.action for s in steps]),
        "rewards": np.asarray([s.reward for s in steps], np.float32),
        "terminated": np.asarray([s.terminated for s in steps]),
        "steps": np.asarray([s.steps for s in steps]),
        "success": rollout.record.success, "instruction": rollout.instruction,
    }


def load_or_record(path: Path, env: Any, env_id: str, chunk: int, episodes: int,
                   seed_base: int, advance: Callable[..., None] | None = None
                   ) -> list[ChunkEpisode]:
    """The cached episodes at ``path``, or record ``episodes`` (seeds ``seed_base + i``)."""
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            count = int(data["count"])
            return [_unpack(data, i) for i in range(count)]
    recorded = []
    for i in range(episodes):
        recorded.append(record_chunked(env, env_id, chunk, seed_base + i))
        if advance is not None:
            advance(1, success=f"{sum(e['success'] for e in recorded)}/{i + 1}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    arrays: dict[str, Any] = {"count": np.asarray(len(recorded)), **_pack(recorded)}
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return recorded


def _pack(episodes: list[ChunkEpisode]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i, e in enumerate(episodes):
        for key, value in e["obs"].items():
            out[f"{i}/obs/{key}"] = value
        for key in ("actions", "rewards", "terminated", "steps"):
            out[f"{i}/{key}"] = e[key]
        out[f"{i}/success"] = np.asarray(e["success"])
        out[f"{i}/instruction"] = np.asarray(e["instruction"])
    return out


def _unpack(data: Any, i: int) -> ChunkEpisode:
    prefix = f"{i}/obs/"
    return {
        "obs": {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)},
        **{key: data[f"{i}/{key}"] for key in ("actions", "rewards", "terminated", "steps")},
        "success": bool(data[f"{i}/success"]), "instruction": str(data[f"{i}/instruction"]),
    }


def demo_records(episodes: list[ChunkEpisode], wa_model: WorldActionModel | None,
                 features: Callable[[Mapping[str, Any], Any], dict[str, np.ndarray]],
                 seed_base: int) -> list[EpisodeRecord]:
    """The successful episodes as `EpisodeRecord`s with the algorithm's RL state."""
    records = []
    for i, e in enumerate(episodes):
        if not e["success"]:
            continue
        count = len(e["actions"]) + 1
        wa = None
        if wa_model is not None:  # the boundary observations are already a batch
            wa_model.seed(seed_base + i)
            wa = wa_model.infer(e["obs"], e["instruction"])
        states = [features({k: v[t] for k, v in e["obs"].items()},
                           None if wa is None else wa.index(t)) for t in range(count)]
        record = EpisodeRecord(success=True, final_features=states[-1])
        for t in range(count - 1):
            record.steps.append(Step(
                features=states[t], action=e["actions"][t], reward=float(e["rewards"][t]),
                terminated=bool(e["terminated"][t]), steps=int(e["steps"][t]),
                intervened=np.zeros(len(e["actions"][t]), bool)))
        records.append(record)
    return records
