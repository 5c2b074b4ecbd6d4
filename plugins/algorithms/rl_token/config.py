"""RL-token's settings: the chunk-level TD3 learner's (shared with HALO-WA), plus the token's.

The comparison with HALO-WA must differ only in the interface to the latents (METHODS: one
token vs attention over all tokens), so every shared setting (chunk, UTD, lambda_BC, batch,
learning rates, warm-up, demo mixing, presets) keeps HALO-WA's default and meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import ConfigError, check_at_least
from warl.core.settings import check_choice, check_range
from warl.core.training.learners.chunk_td3_config import (
    ChunkTD3Config,
    check_td3_settings,
    make_td3_config,
)

LATENT_SOURCES = ("latents", "intermediate")


@dataclass(frozen=True)
class RLTokenConfig(ChunkTD3Config):
    """The shared TD3 + BC attributes (see `ChunkTD3Config`; ``hidden`` is the MLP width),
    plus:

    residual: 0 decodes the chunk directly; > 0 outputs the WA reference plus a bounded
        correction starting from zero (as HALO-WA's ``residual``) [0].
    latent_source: ``latents`` or ``intermediate``: the WA features the token compresses.
    bc_warmup_steps: offline BC updates of the actor on the demonstrations, after the token's
        reconstruction updates [0].
    token_dim: size of the one RL token z [64].
    token_heads: attention heads of the pooling encoder [4].
    token_steps: reconstruction updates of the token encoder/decoder before it is frozen;
        they run in the warm-up on the demonstration buffer, or on the first online batches
        when there is none [1000].
    token_lr: learning rate of the reconstruction objective [3e-4].
    mlp_layers: hidden layers of the actor and of each Q head [3].
    """

    residual: float = 0.0
    latent_source: str = "latents"
    bc_warmup_steps: int = 0
    token_dim: int = 64
    token_heads: int = 4
    token_steps: int = 1000
    token_lr: float = 3e-4
    mlp_layers: int = 3


def make_config(settings: Mapping[str, Any]) -> RLTokenConfig:
    config = make_td3_config(RLTokenConfig, settings, "rl-token")
    check_choice(config, "latent_source", LATENT_SOURCES, "rl-token: ")
    check_at_least(config, ("token_dim", "token_heads", "mlp_layers"), 1, "rl-token: ")
    check_at_least(config, ("token_steps", "bc_warmup_steps"), 0, "rl-token: ")
    check_range(config, "residual", 0.0, 2.0, "rl-token: ")
    if config.token_dim % config.token_heads:
        raise ConfigError(f"rl-token: token_dim ({config.token_dim}) must be divisible by "
                          f"token_heads ({config.token_heads})")
    return config


def check_settings(settings: Mapping[str, Any]) -> None:
    """`warl train`'s check before any work (without torch: see `check_td3_settings`)."""
    check_td3_settings(make_config, settings)
