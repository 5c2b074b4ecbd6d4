"""Settings of `warl/video-wm`, with the paper's protocol and a CPU preset.

Paper protocol (WoVR, section 3 and table 1): 4 context frames, 8-step action chunks, 8 new
frames per chunk, first-frame anchor, noisy context in training, 5 sampling steps. The
``cpu`` preset keeps that protocol at 64x64 with a narrow, shallow transformer, sized to
train on one task within 30 minutes on 2 cores; ``paper`` widens it for a GPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import ConfigError
from warl.core.settings import check_types

MODEL_ID = "warl/video-wm"
TIME_SAMPLING = ("uniform", "logit_normal")
PREDICTIONS = ("velocity", "data")


@dataclass(frozen=True)
class VideoWMConfig:
    """Every setting of the world model.

    Attributes:
        camera: the camera whose frames are modelled (one view, as WoVR's).
        image_size: frame height and width (64: the encoder's 8x8 latent grid).
        latent_dim: width of each latent cell of the 8x8 grid.
        patch: cells per side merged into one token (4: 4 image tokens per frame, what
            trains within 30 minutes on 2 cores; 2: 16 tokens, 3.4x slower a step).
        width, depth, heads: the transformer's.
        context: c, the recent frames the model sees besides the anchor ("memory length").
        chunk: H, actions per chunk; ``future`` frames are generated for each chunk (one per
            action when equal).
        anchor: keep the episode's first frame o_0 in every context (table 4: "no reference
            frame" is false).
        residual: generate the change of each future frame from the last context frame,
            scaled to unit variance, rather than the frame itself: consecutive frames differ
            little, so the flow's noise and its target then have the same scale.
        noisy_context: corrupt the context with noise of a random level up to
            ``context_noise`` in training, so that rollouts tolerate their own errors (table 4).
        sampling_steps: Euler steps of the sampler [5].
        prediction: what the transformer outputs, ``velocity`` (x_1 - x_0) or ``data`` (x_1,
            the clean future; same path and sampler, see docs/world_models.md).
        time_sampling: flow-time distribution in training.
        lr, batch_size, autoencoder_steps, dynamics_steps: pretraining.
        rollouts: policy rollouts recorded for pretraining (successes and failures).
        seed: initialisation, minibatch order and sampling noise.
    """

    camera: str = "corner"
    image_size: int = 64
    latent_dim: int = 8
    patch: int = 4
    width: int = 128
    depth: int = 4
    heads: int = 4
    context: int = 4
    chunk: int = 8
    future: int = 8
    anchor: bool = True
    residual: bool = True
    noisy_context: bool = True
    context_noise: float = 0.3
    sampling_steps: int = 5
    prediction: str = "data"
    time_sampling: str = "logit_normal"
    kl_weight: float = 1e-4
    lr: float = 1e-3
    batch_size: int = 16
    autoencoder_steps: int = 3000
    dynamics_steps: int = 12_000
    rollouts: int = 60
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size != 64:
            raise ConfigError(f"{MODEL_ID}: image_size must be 64 (the encoder's 8x8 grid), "
                              f"got {self.image_size}")
        if 8 % self.patch:
            raise ConfigError(f"{MODEL_ID}: patch must divide the 8x8 grid (1, 2, 4 or 8), "
                              f"got {self.patch}")
        if self.width % self.heads:
            raise ConfigError(f"{MODEL_ID}: width ({self.width}) must be divisible by heads "
                              f"({self.heads})")
        for name in ("latent_dim", "width", "depth", "heads", "context", "chunk", "future",
                     "sampling_steps", "batch_size", "rollouts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{MODEL_ID}: {name} must be >= 1, got {getattr(self, name)}")
        if self.future > self.chunk:
            raise ConfigError(f"{MODEL_ID}: future ({self.future}) cannot exceed chunk "
                              f"({self.chunk}): each new frame follows one action")
        if not 0.0 <= self.context_noise < 1.0:
            raise ConfigError(f"{MODEL_ID}: context_noise must be in [0, 1), got "
                              f"{self.context_noise}")
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"{MODEL_ID}: prediction must be one of {PREDICTIONS}, got "
                              f"{self.prediction!r}")
        if self.time_sampling not in TIME_SAMPLING:
            raise ConfigError(f"{MODEL_ID}: time_sampling must be one of {TIME_SAMPLING}, got "
                              f"{self.time_sampling!r}")

    @property
    def token_dim(self) -> int:
        """Width of one latent token: a patch of grid cells."""
        return self.latent_dim * self.patch**2

    @property
    def image_tokens(self) -> int:
        return (8 // self.patch) ** 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoWMConfig:
        return cls(**check_types(cls, data, MODEL_ID))


PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    "paper": {"latent_dim": 16, "patch": 1, "prediction": "velocity", "lr": 3e-4,
              "width": 512, "depth": 12, "heads": 8,
              "batch_size": 32, "autoencoder_steps": 20_000, "dynamics_steps": 100_000,
              "rollouts": 500},
}


def make_config(settings: Mapping[str, Any], preset: str = "cpu",
                also_known: tuple[str, ...] = ()) -> VideoWMConfig:
    """Defaults <- preset <- ``settings``; one clear error for an unknown key or preset
    (``also_known``: the loader's own keywords, listed among the known ones)."""
    if preset not in PRESETS:
        raise ConfigError(f"{MODEL_ID}: preset {preset!r} is not one of {sorted(PRESETS)}")
    known = {f.name for f in dataclasses.fields(VideoWMConfig)}
    unknown = set(settings) - known
    if unknown:
        from warl.core.settings import unknown_keys_error

        raise unknown_keys_error(unknown, known | set(also_known), MODEL_ID)
    return VideoWMConfig.from_dict({**PRESETS[preset], **settings})
