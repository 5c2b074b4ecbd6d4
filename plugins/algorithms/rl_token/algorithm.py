"""RL-token (a baseline; Xu et al. 2026, "RL Token"): HALO-WA's TD3 + BC-to-reference
objective and loop on a lightweight MLP actor-critic that sees the WA latents only through
one compact token.

The token encoder is trained first with a reconstruction objective (a decoder rebuilds Z from
z; the WA model stays frozen), on the demonstration buffer during the warm-up or on the first
online batches when there is none, and is frozen afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from warl.core.errors import ConfigError
from warl.plugins.algorithms.halo_wa.algorithm import HaloWA
from warl.plugins.algorithms.rl_token.config import NOT_APPLICABLE, RLTokenConfig, make_config
from warl.plugins.algorithms.rl_token.networks import (
    TokenActor,
    TokenCritic,
    TokenDecoder,
    TokenEncoder,
    reconstruction_loss,
)


class RLToken(HaloWA):
    """The `rl-token` algorithm plugin; see `RLTokenConfig` for every setting."""

    name = "rl-token"
    not_applicable = NOT_APPLICABLE
    config: RLTokenConfig

    def __init__(self, env: Any, wa_model: Any, **settings: Any) -> None:
        super().__init__(env, wa_model, **settings)
        self.decoder.to(self.device)
        self.token_optimizer = torch.optim.Adam(
            [*self.token.parameters(), *self.decoder.parameters()], lr=self.config.token_lr)
        self.token_updates = 0

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> RLTokenConfig:
        return make_config(settings)

    def networks(self, state_dim: int, latent_shape: tuple[int, int] | None,
                 image_size: int | None) -> tuple[torch.nn.Module, torch.nn.Module]:
        c = self.config
        if latent_shape is None:
            raise ConfigError("rl-token compresses the WA latents; it needs latent_source "
                              "latents or intermediate")
        # One encoder, shared by actor and critic: the same token for both, as in RL Token.
        self.token = TokenEncoder(latent_shape, c.token_dim, c.token_heads)
        self.decoder = TokenDecoder(latent_shape, c.token_dim, c.hidden)
        common = dict(state_dim=state_dim, action_dim=self.action_dim, chunk=c.chunk,
                      hidden=c.hidden, layers=c.mlp_layers)
        return (TokenActor(self.token, residual=c.residual, **common),
                TokenCritic(self.token, **common))

    # --- the token --------------------------------------------------------------------------
    @property
    def token_trained(self) -> bool:
        return self.token_updates >= self.config.token_steps

    @property
    def warmup_steps(self) -> int:
        """Reconstruction updates, then the BC warm-up (the loop runs this many)."""
        return self.config.token_steps + self.config.bc_warmup_steps

    def token_step(self, batch: Any) -> dict[str, float]:
        """One reconstruction update of encoder and decoder; the targets follow, since the
        token is not trained by the TD objective."""
        latents = batch["obs", "memory"].to(self.device)
        loss = reconstruction_loss(self.decoder, self.token, latents)
        self.token_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.token_optimizer.step()
        self.token_updates += 1
        state = self.token.state_dict()
        for target in (self.actor_target, self.critic_target):
            token = target.get_submodule("token")
            token.load_state_dict(state)
        return {"reconstruction": float(loss.detach())}

    def warmup_step(self, batch: Any) -> dict[str, float]:
        if not self.token_trained:
            metrics = self.token_step(batch)
            return {"warmup_bc": metrics["reconstruction"], **metrics}
        return super().warmup_step(batch)

    def update(self, batch: Any) -> dict[str, float]:
        metrics = {} if self.token_trained else self.token_step(batch)
        return {**super().update(batch), **metrics}

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "decoder": self.decoder.state_dict(),
                "token_optimizer": self.token_optimizer.state_dict(),
                "token_updates": self.token_updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.decoder.load_state_dict(state["decoder"])
        self.token_optimizer.load_state_dict(state["token_optimizer"])
        self.token_updates = int(state["token_updates"])
