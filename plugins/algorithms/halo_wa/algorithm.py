"""HALO-WA: TD3 with behaviour regularization on a hybrid-attention adapter over a frozen WA model.

The RL state s_t = (s^r_t, a~_{t:t+C-1}, Z_t) (section 3.1) is what `features` stores in
replay. The update is the chunk-level TD3 + BC learner (`ChunkTD3`: equations 4-7) over the
adapter's actor and twin critic, with HALO-WA's BC-target rule (section 3.3): a_ref is, per
action, the executed action of a successful trajectory or of a human intervention, and the WA
reference otherwise.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.training.learners.chunk_td3 import ChunkTD3, loop_settings
from warl.core.training.loops import bc_warmup, off_policy
from warl.core.training.session import Session
from warl.core.world_model import WAOutput, WorldActionModel, batch_of, synthetic_observations
from warl.plugins.algorithms.halo_wa.config import HaloWAConfig, make_config
from warl.plugins.algorithms.halo_wa.latents import image_key, memory_of
from warl.plugins.algorithms.halo_wa.networks import HaloActor, HaloCritic
from warl.plugins.algorithms.halo_wa.policy import ActorPolicy, network_inputs

NAME = "halo-wa"


def _use_executed(batch: Any, chunk: int) -> torch.Tensor:
    """(B, C): the action was executed (inside the chunk's steps) and either its trajectory
    succeeded or it was an intervention."""
    steps = torch.arange(chunk, device=batch["action"].device)
    ran = steps[None, :] < batch["steps"].reshape(-1, 1)
    return ran & (batch["intervened"].bool() | batch["success"].reshape(-1, 1).bool())


def executed_or_reference(batch: Any, chunk: int) -> torch.Tensor:
    """a_ref per action: executed if the trajectory succeeded or the action was an
    intervention (and was executed at all), else the WA reference (section 3.3)."""
    return torch.where(_use_executed(batch, chunk)[..., None], batch["action"].float(),
                       batch["obs", "reference"].float())


def reference_weights(chunk: int, weight: float) -> Callable[[Any], torch.Tensor] | None:
    """The BC weight rule of `executed_or_reference` at ``reference_weight`` = ``weight``: 1
    where a_ref is the executed action, ``weight`` where it is the WA reference (None at 1:
    every action weighs 1, the paper's rule)."""
    if weight == 1.0:
        return None

    def rule(batch: Any) -> torch.Tensor:
        executed = _use_executed(batch, chunk)
        return torch.where(executed, torch.ones_like(executed, dtype=torch.float32),
                           torch.full_like(executed, weight, dtype=torch.float32))

    return rule


def memory_layout(latent_source: str, wa_model: WorldActionModel, camera: str | None
                  ) -> tuple[tuple[int, int] | None, int | None]:
    """(latent memory shape (N, D) or None, raw image size or None) of a latent source."""
    if latent_source == "none":
        return None, None
    if latent_source == "raw_image":
        assert camera is not None
        return None, int(wa_model.observation_shapes[camera][0])
    if latent_source == "latents":
        return tuple(wa_model.latent_shape), None  # type: ignore[return-value]
    probe = wa_model.infer(batch_of(synthetic_observations(wa_model, ())), "")
    memory = memory_of(latent_source, {}, probe, None)
    assert memory is not None and memory.ndim == 2
    return (int(memory.shape[0]), int(memory.shape[1])), None


class HaloWA:
    """The `halo-wa` algorithm plugin; see `HaloWAConfig` for every setting."""

    needs = frozenset({"wa_model", "demos"})

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config = c = make_config(settings)
        (self.chunk, self.action_dim, self.batch_size, self.utd, self.demo_fraction,
         self.device) = loop_settings(c, wa_model, NAME)
        self.camera = image_key(wa_model.observation_keys) if c.latent_source == "raw_image" \
            else None
        latent_shape, image_size = memory_layout(c.latent_source, wa_model, self.camera)
        torch.manual_seed(c.seed)
        # The hybrid-attention adapter: pi(state, reference, memory) -> (B, C, A) and the
        # twin critic Q(state, reference, memory, action) -> (Q1, Q2).
        common = dict(state_dim=int(wa_model.observation_shapes[STATE_KEY][0]),
                      action_dim=self.action_dim, chunk=c.chunk, latent_shape=latent_shape,
                      hidden=c.hidden, heads=c.heads, fusion=c.fusion, image_size=image_size)
        actor = HaloActor(decoder=c.actor_decoder, residual=c.residual,
                          **common)  # type: ignore[arg-type]
        critic = HaloCritic(q_head=c.q_head, **common)  # type: ignore[arg-type]
        self.learner = ChunkTD3(
            actor, critic, c, device=self.device,
            inputs=lambda fields: network_inputs(fields, self.device),
            bc_target=lambda batch: executed_or_reference(batch, c.chunk),
            bc_weight=reference_weights(c.chunk, c.reference_weight))
        self.actor = self.learner.actor
        self._policy = self._actor_policy(self.actor)

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> HaloWAConfig:
        return make_config(settings)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return make_config({}).to_dict()

    def _actor_policy(self, actor: torch.nn.Module) -> ActorPolicy:
        c = self.config
        return ActorPolicy(actor, c.chunk, c.latent_source, c.exploration_noise, c.seed,
                           self.camera, NAME, c.exploration_shape)

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self._policy.act(observation, wa_output, explore)

    def make_policy(self) -> ActorPolicy:
        """A separate actor for a rollout worker; refresh it with `policy_state`."""
        return self._actor_policy(copy.deepcopy(self.actor))

    def policy_state(self) -> dict[str, torch.Tensor]:
        return self.learner.policy_state()

    # --- learning ---------------------------------------------------------------------------
    @property
    def warmup_steps(self) -> int:
        return self.config.bc_warmup_steps

    def update(self, batch: Any) -> dict[str, float]:
        """One `ChunkTD3` update (equations 4-7)."""
        return self.learner.update(batch)

    def warmup_step(self, batch: Any) -> dict[str, float]:
        return self.learner.warmup_step(batch)

    def td_error(self, batch: Any) -> float:
        return self.learner.td_error(batch)

    def train(self, session: Session) -> None:
        """The optional BC warm-up on the demonstrations, then off-policy training at the
        UTD ratio (the rollout worker beside the learner unless train.asynchronous=false)."""
        bc_warmup(session, self.warmup_step, self.warmup_steps, self.batch_size)
        off_policy(session, self)

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return self.learner.checkpoint(self.config)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.learner.restore(state, self.config, NAME)
