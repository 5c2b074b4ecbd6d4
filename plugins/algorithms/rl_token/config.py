"""RL-token's settings: HALO-WA's objective and loop settings, plus the token's.

The comparison with HALO-WA must differ only in the interface to the latents (METHODS: one
token vs attention over all tokens), so every shared setting (chunk, UTD, lambda_BC, batch,
learning rates, warm-up, demo mixing, presets) keeps HALO-WA's default and meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import ConfigError, check_at_least
from warl.plugins.algorithms.halo_wa.config import HaloWAConfig, derived_config

LATENT_SOURCES = ("latents", "intermediate")
# Attention fusion is what RL-token replaces; these HALO-WA settings do not apply.
NOT_APPLICABLE = ("fusion", "heads", "actor_decoder", "q_head")


@dataclass(frozen=True)
class RLTokenConfig(HaloWAConfig):
    """HALO-WA's attributes (see `HaloWAConfig`), where ``hidden`` is the MLP width, plus:

    token_dim: size of the one RL token z [64].
    token_heads: attention heads of the pooling encoder [4].
    token_steps: reconstruction updates of the token encoder/decoder before it is frozen;
        they run in the warm-up on the demonstration buffer, or on the first online batches
        when there is none [1000].
    token_lr: learning rate of the reconstruction objective [3e-4].
    mlp_layers: hidden layers of the actor and of each Q head [3].
    """

    token_dim: int = 64
    token_heads: int = 4
    token_steps: int = 1000
    token_lr: float = 3e-4
    mlp_layers: int = 3


def make_config(settings: Mapping[str, Any]) -> RLTokenConfig:
    config: RLTokenConfig = derived_config(RLTokenConfig, settings, "rl-token",
                                           not_applicable=NOT_APPLICABLE)
    if config.latent_source not in LATENT_SOURCES:
        raise ConfigError(f"rl-token: latent_source must be one of {LATENT_SOURCES}, got "
                          f"{config.latent_source!r}")
    if config.token_dim % config.token_heads:
        raise ConfigError(f"rl-token: token_dim ({config.token_dim}) must be divisible by "
                          f"token_heads ({config.token_heads})")
    check_at_least(config, ("token_dim", "token_heads", "mlp_layers"), 1, "rl-token: ")
    check_at_least(config, ("token_steps",), 0, "rl-token: ")
    return config
