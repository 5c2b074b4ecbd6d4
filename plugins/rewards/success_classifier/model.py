"""The classifier network and the reward it gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from warl.core.envs.contract import rgb_key
from warl.core.errors import ContractError
from warl.core.reward import FRAMES
from warl.plugins.rewards.success_classifier.config import REWARD_ID, ClassifierConfig


class SuccessNet(nn.Module):
    """64x64 RGB -> success logit: four strided convolutions, global pooling, a linear head."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1), nn.SiLU(),  # 32
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.SiLU(),  # 16
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.SiLU(),  # 8
            nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.SiLU(),
        )
        self.head = nn.Linear(4 * w, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 64, 64) in [0, 1] -> (B,) logits."""
        return self.head(self.features(images * 2 - 1).mean(dim=(2, 3))).squeeze(-1)


class SuccessClassifier:
    """A `FrameReward`: r = 1 when R(o) >= ``threshold`` on the camera's frame, else 0."""

    inputs = FRAMES

    def __init__(self, config: ClassifierConfig, env_id: str) -> None:
        self.cfg, self.env_id = config, env_id
        torch.manual_seed(config.seed)
        self.net = SuccessNet(config.width)
        self.metrics: dict[str, Any] = {}
        self.checkpoint_path: Any = None

    @property
    def key(self) -> str:
        return rgb_key(self.cfg.camera)

    @property
    def observation_keys(self) -> tuple[str, ...]:
        return (self.key,)

    @property
    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {self.key: (self.cfg.image_size, self.cfg.image_size, 3)}

    @staticmethod
    def images(frames: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(frames)).permute(0, 3, 1, 2).float() / 255.0

    @torch.no_grad()
    def probability(self, observations: Mapping[str, Any]) -> np.ndarray:
        frames = observations.get(self.key) if isinstance(observations, Mapping) else None
        if frames is None or np.ndim(frames) != 4 or np.shape(frames)[1:] != (64, 64, 3):
            raise ContractError(f"{REWARD_ID} reads {self.key!r} frames (B, 64, 64, 3); got "
                                f"{None if frames is None else np.shape(frames)}")
        self.net.eval()
        return torch.sigmoid(self.net(self.images(frames))).numpy()

    def reward(self, observations: Mapping[str, Any],
               infos: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
        return (self.probability(observations) >= self.cfg.threshold).astype(np.float32)
