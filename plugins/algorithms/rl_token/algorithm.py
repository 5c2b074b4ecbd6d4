"""RL-token (a baseline; Xu et al. 2026, "RL Token"): HALO-WA's TD3 + BC-to-reference objective
(the shared `ChunkTD3` learner) and loop on a lightweight MLP actor-critic that sees the WA
latents only through one compact token.

The token encoder is trained first with a reconstruction objective (a decoder rebuilds Z from
z; the WA model stays frozen), on the demonstration buffer during the warm-up or on the first
online batches when there is none, and is frozen afterwards.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.training.learners.chunk_td3 import ChunkTD3, loop_settings
from warl.core.training.loops import bc_warmup, off_policy
from warl.core.training.session import Session
from warl.core.world_model import WAOutput, WorldActionModel
from warl.plugins.algorithms.halo_wa.algorithm import (
    executed_or_reference,
    memory_layout,
    reference_weights,
)
from warl.plugins.algorithms.halo_wa.policy import ActorPolicy, network_inputs
from warl.plugins.algorithms.rl_token.config import RLTokenConfig, make_config
from warl.plugins.algorithms.rl_token.networks import (
    TokenActor,
    TokenCritic,
    TokenDecoder,
    TokenEncoder,
    reconstruction_loss,
)

NAME = "rl-token"


class RLToken:
    """The `rl-token` algorithm plugin; see `RLTokenConfig` for every setting."""

    needs = frozenset({"wa_model", "demos"})

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config = c = make_config(settings)
        (self.chunk, self.action_dim, self.batch_size, self.utd, self.demo_fraction,
         self.device) = loop_settings(c, wa_model, NAME)
        latent_shape, _ = memory_layout(c.latent_source, wa_model, None)
        assert latent_shape is not None
        torch.manual_seed(c.seed)
        # One encoder, shared by actor and critic: the same token for both, as in RL Token.
        self.token = TokenEncoder(latent_shape, c.token_dim, c.token_heads)
        self.decoder = TokenDecoder(latent_shape, c.token_dim, c.hidden)
        common = dict(state_dim=int(wa_model.observation_shapes[STATE_KEY][0]),
                      action_dim=self.action_dim, chunk=c.chunk, hidden=c.hidden,
                      layers=c.mlp_layers)
        self.learner = ChunkTD3(
            TokenActor(self.token, residual=c.residual, **common),
            TokenCritic(self.token, **common),
            c, device=self.device,
            inputs=lambda fields: network_inputs(fields, self.device),
            bc_target=lambda batch: executed_or_reference(batch, c.chunk),
            bc_weight=reference_weights(c.chunk, c.reference_weight))
        self.actor = self.learner.actor
        self.decoder.to(self.device)
        self.token_optimizer = torch.optim.Adam(
            [*self.token.parameters(), *self.decoder.parameters()], lr=c.token_lr)
        self.token_updates = 0
        self._policy = self._actor_policy(self.actor)

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> RLTokenConfig:
        return make_config(settings)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return make_config({}).to_dict()

    def _actor_policy(self, actor: torch.nn.Module) -> ActorPolicy:
        c = self.config
        return ActorPolicy(actor, c.chunk, c.latent_source, c.exploration_noise, c.seed, None,
                           NAME, c.exploration_shape)

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self._policy.act(observation, wa_output, explore)

    def make_policy(self) -> ActorPolicy:
        return self._actor_policy(copy.deepcopy(self.actor))

    def policy_state(self) -> dict[str, torch.Tensor]:
        return self.learner.policy_state()

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
        for target in (self.learner.actor_target, self.learner.critic_target):
            target.get_submodule("token").load_state_dict(state)
        return {"reconstruction": float(loss.detach())}

    # --- learning ---------------------------------------------------------------------------
    def warmup_step(self, batch: Any) -> dict[str, float]:
        if not self.token_trained:
            metrics = self.token_step(batch)
            return {"warmup_bc": metrics["reconstruction"], **metrics}
        return self.learner.warmup_step(batch)

    def update(self, batch: Any) -> dict[str, float]:
        metrics = {} if self.token_trained else self.token_step(batch)
        return {**self.learner.update(batch), **metrics}

    def td_error(self, batch: Any) -> float:
        return self.learner.td_error(batch)

    def train(self, session: Session) -> None:
        """The optional BC warm-up on the demonstrations, then off-policy training at the
        UTD ratio (the rollout worker beside the learner unless train.asynchronous=false)."""
        bc_warmup(session, self.warmup_step, self.warmup_steps, self.batch_size)
        off_policy(session, self)

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**self.learner.checkpoint(self.config),
                "decoder": self.decoder.state_dict(),
                "token_optimizer": self.token_optimizer.state_dict(),
                "token_updates": self.token_updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.learner.restore(state, self.config, NAME)
        self.decoder.load_state_dict(state["decoder"])
        self.token_optimizer.load_state_dict(state["token_optimizer"])
        self.token_updates = int(state["token_updates"])
