"""Chunk-level transitions (s_t, a_{t:t+C-1}, R_t, s_{t+C}, done) as TensorDicts.

A transition holds what was actually executed (interventions included), the chunk's summed
reward, whether the episode terminated inside it (truncation still bootstraps), how many of
its C actions ran, which were interventions, whether its episode succeeded and whether it is a
demonstration; ``obs`` and
``next`` hold the algorithm's RL state (`Policy.features`) before and after the chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Step:
    """One decision: the RL state before the chunk and what the chunk did."""

    features: Mapping[str, np.ndarray]
    action: np.ndarray  # (C, A) executed, zero rows after an early stop
    reward: float
    terminated: bool
    steps: int
    intervened: np.ndarray  # (C,) bool
    succeeded: bool = False  # the env reported success at the chunk's last step
    # What the policy returned beside the chunk (log-probabilities, raw samples): `act` may
    # return ``(chunk, extras)``.
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass
class EpisodeRecord:
    """The decisions of one episode, in order, and the RL state after the last one."""

    steps: list[Step] = field(default_factory=list)
    final_features: Mapping[str, np.ndarray] | None = None
    success: bool = False
    # A remote env's (stream, epoch, seq) of the episode's last delivered step: what the
    # serving side may drop once this episode is durable on the learner's side.
    link: tuple[str, int, int] | None = None

    @property
    def length(self) -> int:
        return sum(s.steps for s in self.steps)

    @property
    def intervention_steps(self) -> int:
        return int(sum(int(s.intervened.sum()) for s in self.steps))

    @property
    def episode_return(self) -> float:
        return float(sum(s.reward for s in self.steps))


def to_tensordict(episodes: Sequence[EpisodeRecord], demo: bool = False) -> Any:
    """Stack every transition of ``episodes`` into one TensorDict with batch size (T,);
    ``demo`` marks them as demonstrations (an expert's actions, not the policy's)."""
    import torch
    from tensordict import TensorDict

    rows: list[tuple[Step, Mapping[str, np.ndarray], bool]] = []
    for episode in episodes:
        if not episode.steps:  # a remote link that dropped before the first step ran
            continue
        if episode.final_features is None:
            raise ValueError("an episode record needs final_features (the state after the end)")
        nexts = [s.features for s in episode.steps[1:]] + [episode.final_features]
        rows += [(s, n, episode.success) for s, n in zip(episode.steps, nexts, strict=True)]
    if not rows:
        raise ValueError("no transitions to store")

    def stack(values: Sequence[Any], dtype: Any = None) -> torch.Tensor:
        return torch.as_tensor(np.stack([np.asarray(v, dtype=dtype) for v in values]))

    keys = list(rows[0][0].features)
    extras = list(rows[0][0].extras)
    data: dict[str, Any] = {
        "obs": {k: stack([r[0].features[k] for r in rows]) for k in keys},
        "next": {k: stack([r[1][k] for r in rows]) for k in keys},
        "action": stack([r[0].action for r in rows], np.float32),
        "reward": stack([r[0].reward for r in rows], np.float32),
        "done": stack([r[0].terminated for r in rows], np.bool_),
        "steps": stack([r[0].steps for r in rows], np.int64),
        "intervened": stack([r[0].intervened for r in rows], np.bool_),
        "success": stack([r[2] for r in rows], np.bool_),
        "demo": torch.full((len(rows),), demo, dtype=torch.bool),
        "chunk_success": stack([r[0].succeeded for r in rows], np.bool_),
    }
    if extras:
        data["extras"] = {k: stack([r[0].extras[k] for r in rows]) for k in extras}
    return TensorDict(data, batch_size=[len(rows)])
