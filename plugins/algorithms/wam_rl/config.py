"""Settings of `pi-rl` and `wam-rl`. WAM-RL (and pi_RL's Flow-SDE) leave the estimator, its
baseline, the normalisation, the clip, the noise schedule, lambda_KL, the EMA decay and the
reward's sign and scale open: each is a setting here, its default and why beside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from warl.core.errors import ConfigError, check_at_least
from warl.core.settings import check_range, parse_settings, unknown_keys_error
from warl.plugins.algorithms.wam_rl.flow_sde import SCHEDULES

RATIOS = ("path", "per_dim")


@dataclass(frozen=True)
class FlowPGConfig:
    """The Flow-SDE policy gradient both algorithms share. Attributes:

    chunk: C, actions executed per decision [8: `warl/wam-small`'s frame stride, so that
        the frame WAM-RL compares is the one the next decision observes].
    group_size: episodes per group [8]; pi-rl's groups start from one initial state.
    groups_per_update: groups per batch [2].
    epochs: passes over each batch; after the first, the clipped ratio keeps the update
        near the behaviour policy (PPO's estimator for equation 12's gradient) [4].
    clip: epsilon of the clipped ratio [0.2].
    lr: Adam learning rate of the action head [1e-4: the head is pretrained; it refines].
    max_grad_norm: gradient clipping [1.0].
    sde_noise: the Flow-SDE path's noise, sigma_k = sde_noise / sqrt(S) per denoising step
        [0.3: as `grpo`'s initial standard deviation, in action units].
    noise_schedule: ``constant`` or ``decreasing`` (sqrt(1 - t_k)) [constant].
    normalize_advantage: divide advantages by their spread (pi-rl: the group's; wam-rl: the
        batch's) [True: the reconstruction reward's scale depends on the similarity].
    ratio: ``path``: r = pi/pi_old of the whole denoising path (S x H x A Gaussian
        dimensions); ``per_dim``: its geometric mean per dimension, r^(1/n) (GSPO's
        length-normalised sequence ratio), so that the clip bounds the change per dimension:
        with the path ratio most decisions were clipped after one epoch [path].
    seed: seeds the sampling.
    """

    chunk: int = 8
    group_size: int = 8
    groups_per_update: int = 2
    epochs: int = 4
    clip: float = 0.2
    lr: float = 1e-4
    max_grad_norm: float = 1.0
    sde_noise: float = 0.3
    noise_schedule: str = "constant"
    normalize_advantage: bool = True
    ratio: str = "path"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WAMRLConfig:
    """WAM-RL's own settings. Attributes:

    similarity: the reward plugin comparing imagined and executed futures [warl/pixel-mse,
        the paper's best: 21% on Water Plants, against 19% optical flow, 16% DINOv2 and 17%
        V-JEPA2]. r_t = sim([o_t, o^_{t+C}], [o_t, o_{t+C}]): the current frame opens both
        futures so that a motion similarity (optical flow) sees the chunk's motion; for pixel
        MSE it halves the scale, which the normalised advantage removes.
    similarity_settings: the reward plugin's settings (``weights=<folder>`` for DINOv2 and
        V-JEPA2).
    reward_gamma: discount of the reconstruction reward over the following decisions [0: the
        reward measures the chunk's own consistency with what was imagined for it; each next
        chunk is imagined afresh from the frame it starts at].
    train_world_model: online video SFT on successful trajectories [True; False is the
        actor-only ablation with the same reward].
    sft_steps: video SFT gradient steps per update [4].
    sft_lr: their AdamW learning rate [1e-4].
    sft_batch: frames per SFT step [16].
    sft_capacity: successful (frame, future) pairs kept for SFT, the newest [4096].
    kl_weight: lambda_KL of equation 10 [0.1: the paper found the KL necessary and the gain
        moderate; at 0.1 the KL is of the order of the video loss in the first steps here].
    ema_decay: decay of Sigma_theta's EMA per SFT step [0.99].
    """

    similarity: str = "warl/pixel-mse"
    similarity_settings: dict[str, Any] = field(default_factory=dict)
    reward_gamma: float = 0.0
    train_world_model: bool = True
    sft_steps: int = 4
    sft_lr: float = 1e-4
    sft_batch: int = 16
    sft_capacity: int = 4096
    kl_weight: float = 0.1
    ema_decay: float = 0.99

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def learner_config(settings: Mapping[str, Any], who: str) -> FlowPGConfig:
    c = parse_settings(FlowPGConfig, settings, who)
    check_at_least(c, ("chunk", "group_size", "groups_per_update", "epochs"), 1, f"{who}: ")
    check_range(c, "clip", 0.0, 1.0, f"{who}: ", low_open=True)
    check_range(c, "lr", 0.0, None, f"{who}: ", low_open=True)
    check_range(c, "sde_noise", 0.0, None, f"{who}: ", low_open=True)
    if c.noise_schedule not in SCHEDULES:
        raise ConfigError(f"{who}: noise_schedule must be one of {SCHEDULES}, got "
                          f"{c.noise_schedule!r}")
    if c.ratio not in RATIOS:
        raise ConfigError(f"{who}: ratio must be one of {RATIOS}, got {c.ratio!r}")
    return c


def pi_rl_config(settings: Mapping[str, Any]) -> FlowPGConfig:
    c = learner_config(settings, "pi-rl")
    if c.group_size < 2:
        raise ConfigError("pi-rl: group_size must be >= 2 (the advantage compares the episodes "
                          f"of a group), got {c.group_size}")
    return c


def wam_rl_config(settings: Mapping[str, Any]) -> tuple[WAMRLConfig, FlowPGConfig]:
    """(WAM-RL's own settings, the learner's), one clear error for a key of neither."""
    own = {f.name for f in fields(WAMRLConfig)}
    learner = {f.name for f in fields(FlowPGConfig)}
    unknown = set(settings) - own - learner
    if unknown:
        raise unknown_keys_error(unknown, own | learner, "wam-rl")
    c = parse_settings(WAMRLConfig, {k: v for k, v in settings.items() if k in own}, "wam-rl")
    check_range(c, "reward_gamma", 0.0, 1.0, "wam-rl: ")
    check_range(c, "kl_weight", 0.0, None, "wam-rl: ")
    check_range(c, "ema_decay", 0.0, 1.0, "wam-rl: ")
    check_range(c, "sft_lr", 0.0, None, "wam-rl: ", low_open=True)
    check_at_least(c, ("sft_batch", "sft_capacity"), 1, "wam-rl: ")
    check_at_least(c, ("sft_steps",), 0, "wam-rl: ")
    if not isinstance(c.similarity_settings, dict):
        raise ConfigError(f"wam-rl: similarity_settings must be a mapping of settings, got "
                          f"{c.similarity_settings!r}")
    return c, learner_config({k: v for k, v in settings.items() if k in learner}, "wam-rl")


def check_pi_rl(settings: Mapping[str, Any]) -> None:
    pi_rl_config(settings)


def check_wam_rl(settings: Mapping[str, Any]) -> None:
    wam_rl_config(settings)
