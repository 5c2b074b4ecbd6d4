"""`WASmallConfig`: every setting of the built-in WA model, with the reason for its default."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import ConfigError
from warl.core.settings import check_types

OBS_MODES = ("state", "state+rgb")


@dataclass(frozen=True)
class WASmallConfig:
    """Architecture and pretraining settings. Changing any field changes the cache key.

    Attributes:
        obs_mode: ``state+rgb`` (camera images and the state vector, like the papers' WA
            models) or ``state`` (no rendering; for fast runs and tests).
        cameras: cameras read in ``state+rgb`` mode.
        image_size: image height and width (64: the VAE makes an 8x8 grid of latent tokens).
        horizon: H, the reference chunk length (HALO-WA executes C = 12 <= H of it).
        latent_dim: D, the width of each latent token.
        state_tokens: how many latent tokens the state encoder produces.
        hidden: width of the action head and the world head.
        flow_steps: Euler steps of the flow-matching sampler at inference.
        prediction_steps: K, future latent frames predicted by the world head (evenly spaced
            over the chunk, the last at t+H).
        demos: scripted-expert episodes to train on (the paper uses 100 per task).
        demo_seed: seed of the first demo episode (the rest follow).
        train_steps: gradient steps of pretraining.
        batch_size: samples per gradient step.
        lr: AdamW learning rate (cosine-decayed to 10%).
        kl_weight: beta of the VAE's KL term; small, so latents stay informative.
        world_weight: weight of the world head's latent-prediction loss.
        recon_weight: weight of the autoencoder reconstruction loss.
        seed: seed of initialisation and minibatch order.
    """

    obs_mode: str = "state+rgb"
    cameras: tuple[str, ...] = ("corner",)
    image_size: int = 64
    horizon: int = 16
    latent_dim: int = 32
    state_tokens: int = 8
    hidden: int = 256
    flow_steps: int = 10
    prediction_steps: int = 2
    demos: int = 100
    demo_seed: int = 10_000
    train_steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    kl_weight: float = 1e-4
    world_weight: float = 1.0
    recon_weight: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        if self.obs_mode not in OBS_MODES:
            raise ConfigError(f"obs_mode must be one of {OBS_MODES}, got {self.obs_mode!r}")
        if self.obs_mode == "state+rgb" and not self.cameras:
            raise ConfigError("obs_mode 'state+rgb' needs at least one camera in cameras")
        if self.obs_mode == "state+rgb" and self.image_size != 64:
            raise ConfigError(
                f"image_size must be 64 (the encoder downsamples 64 -> 8), got {self.image_size}"
            )
        for name in ("horizon", "latent_dim", "state_tokens", "hidden", "flow_steps",
                     "prediction_steps", "demos", "train_steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.prediction_steps > self.horizon:
            raise ConfigError(
                f"prediction_steps ({self.prediction_steps}) cannot exceed horizon "
                f"({self.horizon})"
            )

    @property
    def uses_images(self) -> bool:
        return self.obs_mode == "state+rgb"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["cameras"] = list(self.cameras)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WASmallConfig:
        return cls(**check_types(cls, data, "warl/wa-small"))


# The loader's own keywords (`load_wa_small`), besides the config's fields.
LOADER_KEYS = ("checkpoint", "pretrained", "train_if_missing", "retrain")


def check_settings(settings: Mapping[str, Any]) -> None:
    """`warl train`'s check of ``wa.*`` settings before any work: the loader's keywords and
    `WASmallConfig` fields, each of its type."""
    from warl.core.settings import unknown_keys_error

    known = set(LOADER_KEYS) | {f.name for f in dataclasses.fields(WASmallConfig)}
    unknown = set(settings) - known
    if unknown:
        raise unknown_keys_error(unknown, known, "warl/wa-small")
    WASmallConfig.from_dict({k: v for k, v in settings.items() if k not in LOADER_KEYS})
