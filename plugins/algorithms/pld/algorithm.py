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

from warl.core.envs.contract import STATE_KEY
from warl.core.training.learners.chunk_td3 import ChunkTD3, loop_settings
from warl.core.training.learners.exploration import explored
from warl.core.training.loops import off_policy
from warl.core.training.session import Session
from warl.core.world_model import WAOutput, WorldActionModel, action_head_of
from warl.plugins.algorithms.pld.config import PLDConfig, make_config
from warl.plugins.algorithms.pld.distill import distill
from warl.plugins.algorithms.pld.networks import ResidualActor, ResidualCritic
from warl.plugins.algorithms.wa_head.policy import HeadPolicy, bc_batch, head_features

NAME = "pld"


def _inputs(fields: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(state, base chunk, latents) of a batch of RL states."""
    return (fields["state"].float(), fields["reference"].float(), fields["latents"].float())


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
        return head_features(observation, wa_output, self.config.chunk, NAME)

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self.act_on(self.features(observation, wa_output), explore)

    def act_on(self, fields: Mapping[str, np.ndarray], explore: bool = False) -> np.ndarray:
        """The chunk for an RL state already computed (the engine computes it once)."""
        self.decisions += 1
        if explore and self.decisions <= self.base_chunks:
            return fields["reference"]
        device = next(self.actor.parameters()).device
        inputs = [torch.as_tensor(fields[k], device=device)[None]
                  for k in ("state", "reference", "latents")]
        with torch.no_grad():
            chunk = self.actor(*inputs)[0].cpu().numpy()
        c = self.config
        return explored(chunk, self.rng, c.exploration_noise if explore else 0.0,
                        c.exploration_shape)


class PLD:
    """The `pld` algorithm plugin; see `PLDConfig` for every setting."""

    needs = frozenset({"wa_model", "demos"})

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config = c = make_config(settings)
        (self.chunk, self.action_dim, self.batch_size, self.utd, self.demo_fraction,
         self.device) = loop_settings(c, wa_model, NAME)
        torch.manual_seed(c.seed)
        common = dict(state_dim=int(wa_model.observation_shapes[STATE_KEY][0]),
                      latent_dim=int(wa_model.latent_shape[1]), action_dim=self.action_dim,
                      chunk=c.chunk, hidden=[c.hidden] * c.mlp_layers)
        # The BC target is the base chunk: the actor loss's second term penalizes the
        # residual itself.
        self.learner = ChunkTD3(
            ResidualActor(scale=c.residual_scale, **common),  # type: ignore[arg-type]
            ResidualCritic(**common),  # type: ignore[arg-type]
            c, device=self.device, inputs=_inputs,
            bc_target=lambda batch: batch["obs", "reference"].float(),
            bc_weight=None if c.reference_weight == 1.0 else (
                lambda batch: torch.full(batch["action"].shape[:2], c.reference_weight,
                                         device=batch["action"].device)))
        self.actor = self.learner.actor
        self.distilled = action_head_of(wa_model, NAME)
        self.distilled.to(self.device)  # type: ignore[attr-defined]
        self.distill_optimizer = torch.optim.Adam(self.distilled.parameters(), lr=c.distill_lr)
        self.distill_updates = 0
        self._policy = ResidualPolicy(self.actor, c)

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> PLDConfig:
        return make_config(settings)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return make_config({}).to_dict()

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self._policy.act(observation, wa_output, explore)

    def make_policy(self) -> ResidualPolicy:
        return ResidualPolicy(copy.deepcopy(self.actor), self.config)

    def policy_state(self) -> dict[str, torch.Tensor]:
        return self.learner.policy_state()

    def variants(self) -> dict[str, Callable[..., np.ndarray]]:
        """The distilled policy, evaluated beside the residual one."""
        policy = HeadPolicy(self.distilled, self.config.chunk, self.config.seed, NAME)
        return {"distilled": policy.act}

    # --- learning ---------------------------------------------------------------------------
    def update(self, batch: Any) -> dict[str, float]:
        """One `ChunkTD3` update of the residual actor-critic."""
        return self.learner.update(batch)

    def td_error(self, batch: Any) -> float:
        return self.learner.td_error(batch)

    def distill_step(self, batch: Any) -> dict[str, float]:
        """One BC update of the distilled head on successful residual-policy chunks."""
        latents, state, target, mask = bc_batch(batch.to(self.device))
        loss = self.distilled.bc_loss(latents, state, target, mask, self.learner.generator)
        self.distill_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.distill_optimizer.step()
        self.distill_updates += 1
        return {"bc": float(loss.detach())}

    def train(self, session: Session) -> None:
        """Probe and learn (off-policy, hybrid rollouts), then distill; each a stage that a
        resumed run skips once done."""
        session.stage("learn", lambda: off_policy(session, self))
        session.stage("distill", lambda: distill(session, self))

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**self.learner.checkpoint(self.config),
                "distilled": self.distilled.state_dict(),
                "distill_optimizer": self.distill_optimizer.state_dict(),
                "distill_updates": self.distill_updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.learner.restore(state, self.config, NAME)
        self.distilled.load_state_dict(state["distilled"])
        self.distill_optimizer.load_state_dict(state["distill_optimizer"])
        self.distill_updates = int(state["distill_updates"])
