"""`WAMSmallConfig`: every setting of the joint world-action model, with why it is the default.

The model is WAM-RL's premise in small (Genie Envisioner-ACT's layout): a latent video
generator predicts the next frames from the current frame and the instruction (never from
actions), and the action head reads the generator's intermediate features, so that training
the video model changes what the actor does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import ConfigError
from warl.core.settings import check_types

MODEL_ID = "warl/wam-small"
VIDEO_NOISE = ("zero", "sample")
PREDICTIONS = ("velocity", "data")


@dataclass(frozen=True)
class WAMSmallConfig:
    """Architecture and pretraining settings. Changing any field changes the cache key.

    Attributes:
        camera: the camera the video generator models and the actor sees (one view).
        image_size: frame height and width (64: the frame encoder's 8x8 latent grid).
        latent_dim, patch: the frame autoencoder's cell width, and grid cells per side merged
            into one token (`warl/video-wm`'s codec).
        horizon: H, the action chunk the head generates.
        future: K, future frames the video generator predicts, evenly spaced over the chunk,
            the last at t+H (with H = 16 and K = 2: t+8 and t+16).
        width, depth, heads: the video transformer's.
        feature_block: the block whose output tokens the actor reads (0-based; -1 = the
            last): GE-ACT's action expert reads the video DiT's intermediate features.
        video_sampling_steps: Euler steps of the video sampler at inference.
        prediction: what the video transformer outputs, ``data`` (the clean future change,
            which a nearly deterministic next frame needs; `warl/video-wm`'s default) or
            ``velocity``.
        video_noise: the video sampler's starting noise at inference: ``zero`` (the prior's
            mean: the actor's input does not jitter with the generator's noise; the policy
            explores through its own head) or ``sample`` (the model's generator).
        instruction_buckets: size of the hashed bag-of-words instruction embedding.
        hidden: width of the action head and of the attention pooling of the features.
        flow_steps: Euler steps of the action head's sampler at inference.
        demos, demo_seed: scripted-expert episodes to train on, and the first one's seed.
        autoencoder_steps, video_steps, action_steps: pretraining steps of each stage.
        batch_size, lr: pretraining minibatch and AdamW learning rate.
        kl_weight: beta of the frame VAE's KL term.
        seed: initialisation and minibatch order.
    """

    camera: str = "corner"
    image_size: int = 64
    latent_dim: int = 8
    patch: int = 4
    horizon: int = 16
    future: int = 2
    width: int = 64
    depth: int = 2
    heads: int = 4
    feature_block: int = -1
    video_sampling_steps: int = 2
    video_noise: str = "zero"
    prediction: str = "data"
    instruction_buckets: int = 64
    hidden: int = 128
    flow_steps: int = 10
    demos: int = 50
    demo_seed: int = 10_000
    autoencoder_steps: int = 1500
    video_steps: int = 1500
    action_steps: int = 1500
    batch_size: int = 32
    lr: float = 1e-3
    kl_weight: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size != 64:
            raise ConfigError(f"{MODEL_ID}: image_size must be 64 (the encoder's 8x8 grid), "
                              f"got {self.image_size}")
        if 8 % self.patch:
            raise ConfigError(f"{MODEL_ID}: patch must divide the 8x8 grid (1, 2, 4 or 8), "
                              f"got {self.patch}")
        for name in ("latent_dim", "horizon", "future", "width", "depth", "heads",
                     "video_sampling_steps", "instruction_buckets", "hidden", "flow_steps",
                     "demos", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{MODEL_ID}: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("autoencoder_steps", "video_steps", "action_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{MODEL_ID}: {name} must be >= 0, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ConfigError(f"{MODEL_ID}: width ({self.width}) must be divisible by heads "
                              f"({self.heads})")
        if self.horizon % self.future:
            raise ConfigError(f"{MODEL_ID}: future ({self.future}) must divide horizon "
                              f"({self.horizon}): the frames are evenly spaced over the chunk")
        if not -self.depth <= self.feature_block < self.depth:
            raise ConfigError(f"{MODEL_ID}: feature_block must name one of the {self.depth} "
                              f"blocks (0..{self.depth - 1}, or -1 for the last), got "
                              f"{self.feature_block}")
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"{MODEL_ID}: prediction must be one of {PREDICTIONS}, got "
                              f"{self.prediction!r}")
        if self.video_noise not in VIDEO_NOISE:
            raise ConfigError(f"{MODEL_ID}: video_noise must be one of {VIDEO_NOISE}, got "
                              f"{self.video_noise!r}")

    # The frame codec's settings (`warl.plugins.world_models.video_wm.frames.CodecSettings`).
    @property
    def token_dim(self) -> int:
        return self.latent_dim * self.patch**2

    @property
    def image_tokens(self) -> int:
        return (8 // self.patch) ** 2

    @property
    def frame_stride(self) -> int:
        """Env steps between two predicted frames (the first is at t + stride)."""
        return self.horizon // self.future

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WAMSmallConfig:
        return cls(**check_types(cls, data, MODEL_ID))


# The loader's own keywords (`load_wam_small`), besides the config's fields.
LOADER_KEYS = ("checkpoint", "pretrained", "train_if_missing", "retrain")


def check_settings(settings: Mapping[str, Any]) -> None:
    """Every ``wa.*`` setting checked before any work (an unknown key names the known ones)."""
    from warl.core.settings import unknown_keys_error

    known = set(LOADER_KEYS) | {f.name for f in dataclasses.fields(WAMSmallConfig)}
    unknown = set(settings) - known
    if unknown:
        raise unknown_keys_error(unknown, known, MODEL_ID)
    WAMSmallConfig.from_dict({k: v for k, v in settings.items() if k not in LOADER_KEYS})
