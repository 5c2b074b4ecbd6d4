"""Probe-Learn-Distill (a baseline; Xiao et al. 2025).

Probe/learn: the WA model stays frozen as the base policy; a bounded residual
delta(s, a_base) is trained off-policy with HALO-WA's TD3 objective (chunk-level targets,
twin critics), its BC term pulling toward the base chunk. Training episodes are hybrid: the
base policy acts for a random number of chunks, then the residual policy takes over.
Distill: after training, episodes of the residual policy are collected, the successful ones
kept, and a copy of the WA action head is fine-tuned on them by behaviour cloning. The final
evaluation reports both: ``pld`` (the residual policy) and ``pld-distilled``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from warl.core.world_model import WAOutput, WorldActionModel, action_head_of
from warl.plugins.algorithms.halo_wa.algorithm import HaloWA
from warl.plugins.algorithms.pld.config import NOT_APPLICABLE, PLDConfig, make_config
from warl.plugins.algorithms.pld.networks import ResidualActor, ResidualCritic
from warl.plugins.algorithms.wa_head.policy import HeadPolicy, bc_batch, head_features


class ResidualPolicy:
    """The residual actor for rollouts. While exploring, each episode starts with the base
    policy for a random number of chunks (the hybrid rollout), then the residual acts with
    exploration noise; otherwise the residual acts from the first chunk, without noise."""

    def __init__(self, actor: torch.nn.Module, config: PLDConfig) -> None:
        self.actor, self.config = actor, config
        self.actor.eval()
        self.rng = np.random.default_rng(config.seed)
        self.base_chunks, self.decisions = 0, 0

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng([self.config.seed, seed])
        self.base_chunks = int(self.rng.integers(0, self.config.max_base_chunks + 1))
        self.decisions = 0

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.actor.load_state_dict(state)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        return head_features(observation, wa_output, self.config.chunk, "pld")

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        fields = self.features(observation, wa_output)
        self.decisions += 1
        if explore and self.decisions <= self.base_chunks:
            return fields["reference"]
        device = next(self.actor.parameters()).device
        inputs = [torch.as_tensor(fields[k], device=device)[None]
                  for k in ("state", "reference", "latents")]
        with torch.no_grad():
            chunk = self.actor(*inputs)[0].cpu().numpy()
        if explore and self.config.exploration_noise > 0:
            chunk = chunk + self.rng.normal(0.0, self.config.exploration_noise, chunk.shape)
        return np.clip(chunk, -1.0, 1.0).astype(np.float32)


class PLD(HaloWA):
    """The `pld` algorithm plugin; see `PLDConfig` for every setting."""

    name = "pld"
    not_applicable = NOT_APPLICABLE
    config: PLDConfig

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self._latent_dim = int(wa_model.latent_shape[1])
        super().__init__(env, wa_model, **settings)
        c = self.config
        self.distilled = action_head_of(wa_model, self.name)
        self.distilled.to(self.device)  # type: ignore[attr-defined]
        self.distill_optimizer = torch.optim.Adam(self.distilled.parameters(), lr=c.distill_lr)
        self.distill_episodes, self.distill_steps = c.distill_episodes, c.distill_steps
        self.distill_updates = 0
        self._policy = ResidualPolicy(self.actor, c)  # type: ignore[assignment]

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> PLDConfig:
        return make_config(settings)

    def networks(self, state_dim: int, latent_shape: tuple[int, int] | None,
                 image_size: int | None) -> tuple[torch.nn.Module, torch.nn.Module]:
        c = self.config
        hidden = [c.hidden] * c.mlp_layers
        common = dict(state_dim=state_dim, latent_dim=self._latent_dim,
                      action_dim=self.action_dim, chunk=c.chunk, hidden=hidden)
        return (ResidualActor(scale=c.residual_scale, **common),  # type: ignore[arg-type]
                ResidualCritic(**common))  # type: ignore[arg-type]

    # --- acting -----------------------------------------------------------------------------
    def make_policy(self) -> ResidualPolicy:  # type: ignore[override]
        return ResidualPolicy(copy.deepcopy(self.actor), self.config)

    def variants(self) -> dict[str, Callable[..., np.ndarray]]:
        """The distilled policy, evaluated beside the residual one."""
        policy = HeadPolicy(self.distilled, self.config.chunk, self.config.seed, self.name)
        return {"distilled": policy.act}

    # --- learning ---------------------------------------------------------------------------
    def inputs(self, fields: Mapping[str, Any]
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        return (fields["state"].float(), fields["reference"].float(),
                fields["latents"].float())

    def bc_targets(self, batch: Any) -> torch.Tensor:
        """The base chunk: the actor loss's second term penalizes the residual itself."""
        reference: torch.Tensor = batch["obs", "reference"].float()
        return reference

    def distill_step(self, batch: Any) -> dict[str, float]:
        """One BC update of the distilled head on successful residual-policy chunks."""
        latents, state, target, mask = bc_batch(batch.to(self.device))
        loss = self.distilled.bc_loss(latents, state, target, mask, self.generator)
        self.distill_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.distill_optimizer.step()
        self.distill_updates += 1
        return {"bc": float(loss.detach())}

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "distilled": self.distilled.state_dict(),
                "distill_optimizer": self.distill_optimizer.state_dict(),
                "distill_updates": self.distill_updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.distilled.load_state_dict(state["distilled"])
        self.distill_optimizer.load_state_dict(state["distill_optimizer"])
        self.distill_updates = int(state["distill_updates"])
