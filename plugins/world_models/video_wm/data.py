"""The world model's training windows, cut from recorded policy rollouts
(`warl.core.rollout.recorded`).

A training window at time t is the anchor o_0, the history o_{t-c+1..t} (clamped at 0, as
`VideoWorldModel.split_context` pads it), the actions a_{t..t+H-1} and the future frames
o_{t+1..t+K}.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from warl.core.rollout.recorded import TRAIN_SEEDS, RolloutSpec
from warl.plugins.world_models.video_wm.config import VideoWMConfig


def rollout_spec(config: VideoWMConfig, policy: str, action_noise: float,
                 wa: dict[str, Any] | None, episodes: int | None = None,
                 first_seed: int = TRAIN_SEEDS) -> RolloutSpec:
    """The rollouts a world model of ``config`` learns from (or is evaluated on)."""
    return RolloutSpec(policy=policy, action_noise=action_noise, wa=dict(wa or {}),
                       camera=config.camera, image_size=config.image_size,
                       episodes=config.rollouts if episodes is None else episodes,
                       seed=config.seed, first_seed=first_seed)


class Windows:
    """Training windows over encoded episodes (latents (T, N, D) and actions (T, A))."""

    def __init__(self, latents: list[torch.Tensor], actions: list[np.ndarray],
                 config: VideoWMConfig) -> None:
        self.latents, self.cfg = latents, config
        self.actions = [torch.as_tensor(a) for a in actions]
        need = max(config.chunk, config.future)
        # (episode, t) with a_t..a_{t+H-1} and o_{t+1..t+K} inside the episode.
        self.index = [(e, t) for e, lat in enumerate(latents)
                      for t in range(len(lat) - need)]
        if not self.index:
            raise ValueError(f"no episode is longer than {need} steps: record longer rollouts")

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, picks: np.ndarray) -> dict[str, torch.Tensor]:
        c, h, k = self.cfg.context, self.cfg.chunk, self.cfg.future
        contexts, futures, actions = [], [], []
        for i in picks:
            e, t = self.index[int(i)]
            lat = self.latents[e]
            history = lat[[max(0, s) for s in range(t - c + 1, t + 1)]]
            contexts.append(torch.cat([lat[:1], history]) if self.cfg.anchor else history)
            futures.append(lat[t + 1:t + 1 + k])
            actions.append(self.actions[e][t:t + h])
        return {"context": torch.stack(contexts), "future": torch.stack(futures),
                "actions": torch.stack(actions)}
