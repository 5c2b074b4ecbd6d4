"""PLD's settings (Xiao et al. 2025: probe with a residual, learn off-policy, distill by BC).

The residual is trained with the chunk-level TD3 learner and loop settings HALO-WA uses (chunk,
UTD, batch, demo mixing, gamma, TD3 noise, presets), so the baselines differ in method, not in
budget; ``bc_coef`` here weighs ||a - a_base||^2, which keeps the residual small where the
critic is unsure (the actor starts exactly at the base policy, so there is no BC warm-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import check_at_least
from warl.core.settings import check_range
from warl.core.training.learners.chunk_td3_config import (
    ChunkTD3Config,
    check_td3_settings,
    make_td3_config,
)

# PLD's own values of shared fields (they win over the preset).
DEFAULTS = {"hidden": 256, "bc_coef": 1.0, "actor_lr": 3e-4, "critic_lr": 3e-4}


@dataclass(frozen=True)
class PLDConfig(ChunkTD3Config):
    """The shared TD3 + BC attributes (see `ChunkTD3Config`; ``hidden`` is the MLP width
    [256], ``bc_coef`` the residual penalty [1.0], learning rates [3e-4]), plus:

    residual_scale: bound of the residual: a = clip(a_base + scale * tanh(.), -1, 1) [0.2].
    mlp_layers: hidden layers of the residual actor and of each Q head [2].
    max_base_chunks: hybrid rollouts: each training episode lets the base policy act for a
        uniform number of chunks in [0, max_base_chunks] before the residual takes over, so
        data stays near the base distribution and shows recoveries (about 42 chunks make a
        500-step MetaWorld episode) [20].
    distill_episodes: episodes of the residual policy (no exploration, no base prefix)
        collected after training; the successful ones are distilled [50].
    distill_steps: BC updates of the distilled policy, a copy of the WA action head [1000].
    distill_lr: [1e-4].
    """

    residual_scale: float = 0.2
    mlp_layers: int = 2
    max_base_chunks: int = 20
    distill_episodes: int = 50
    distill_steps: int = 1000
    distill_lr: float = 1e-4


def make_config(settings: Mapping[str, Any]) -> PLDConfig:
    config = make_td3_config(PLDConfig, settings, "pld", DEFAULTS)
    check_at_least(config, ("mlp_layers",), 1, "pld: ")
    check_at_least(config, ("max_base_chunks", "distill_episodes", "distill_steps"), 0, "pld: ")
    check_range(config, "residual_scale", 0.0, 2.0, "pld: ", low_open=True)
    return config


def check_settings(settings: Mapping[str, Any]) -> None:
    """`warl train`'s check before any work (without torch: see `check_td3_settings`)."""
    check_td3_settings(make_config, settings)
