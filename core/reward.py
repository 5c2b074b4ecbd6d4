"""The reward-model contract: what a `reward` plugin scores, in batches.

Two kinds of input, named by the plugin's ``inputs`` attribute:

- ``frames`` (`FrameReward`): a reward per observation, ``reward(observations, infos)`` with
  observations keyed as the env's (B, ...) and, when the env gave them, its step infos. The
  env's sparse success and WoVR's learned success classifier are of this kind; a world-model
  env calls it on every imagined observation.
- ``futures`` (`FutureSimilarity`): ``similarity(imagined, executed)`` of two futures of
  frames (B, T, H, W, 3) uint8, higher when closer: WAM-RL's reconstruction rewards (pixel
  MSE, optical-flow MSE, DINOv2 and V-JEPA2 features) compare what the world model imagined
  with what the robot then did.

`warl check <reward id>` runs the contract on synthetic batches (`core/check_rewards.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from warl.core.errors import ContractError

FRAMES, FUTURES = "frames", "futures"
INPUTS = (FRAMES, FUTURES)


@runtime_checkable
class FrameReward(Protocol):
    inputs: str

    def reward(self, observations: Mapping[str, Any],
               infos: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
        """(B,) float32 rewards of a batch of observations (and the env's infos)."""
        ...


@runtime_checkable
class FutureSimilarity(Protocol):
    inputs: str

    def similarity(self, imagined: np.ndarray, executed: np.ndarray) -> np.ndarray:
        """(B,) float32 similarities of two futures (B, T, H, W, 3) uint8; higher is closer."""
        ...


def check_futures(imagined: Any, executed: Any, who: str, min_frames: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Both futures as uint8 (B, T, H, W, 3) of the same shape, or one clear error."""
    a, b = np.asarray(imagined), np.asarray(executed)
    if a.shape != b.shape:
        raise ContractError(f"{who}: imagined {a.shape} and executed {b.shape} futures differ "
                            f"in shape; give both as (B, T, H, W, 3)")
    if a.ndim != 5 or a.shape[-1] != 3 or a.shape[1] < min_frames:
        raise ContractError(f"{who}: futures must be (B, T, H, W, 3) with T >= {min_frames}, "
                            f"got {a.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ContractError(f"{who}: futures must be uint8 frames, got {a.dtype} / {b.dtype}")
    return a, b
