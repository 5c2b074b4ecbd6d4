"""HALO-WA: TD3 with behaviour regularization on a hybrid-attention adapter over a frozen WA model.

The RL state s_t = (s^r_t, a~_{t:t+C-1}, Z_t) (section 3.1) is what `features` stores in
replay; the update is equations (4)-(7): a chunk-level TD target from the target actor and
the twin target critics, the critic loss over both heads, and every ``critic_actor_ratio``
critic updates one actor update -Q_1 + lambda_BC ||pi(s) - a_ref||^2 and a Polyak step of
the targets. a_ref is, per action, the executed action of a successful trajectory or of a
human intervention, and the WA reference otherwise (section 3.3).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import ConfigError, ContractError
from warl.core.world_model import WAOutput, WorldActionModel, batch_of, synthetic_observations
from warl.plugins.algorithms.halo_wa.config import HaloWAConfig, make_config
from warl.plugins.algorithms.halo_wa.latents import image_key, memory_of
from warl.plugins.algorithms.halo_wa.losses import (
    actor_loss,
    bc_term,
    chunk_td_target,
    critic_loss,
    polyak,
    smoothed_target_action,
)
from warl.plugins.algorithms.halo_wa.networks import HaloActor, HaloCritic


def _tensor(value: Any, device: torch.device) -> torch.Tensor:
    """A numpy RL state (acting) or a replay tensor (learning), on ``device`` without copies
    where none is needed."""
    return torch.as_tensor(value, device=device)


class HaloPolicy:
    """The actor alone, for rollouts: the collector's copy, refreshed from `policy_state`."""

    def __init__(self, actor: torch.nn.Module, config: HaloWAConfig, camera: str | None) -> None:
        self.actor, self.config, self.camera = actor, config, camera
        self.actor.eval()
        self.rng = np.random.default_rng(config.seed)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng([self.config.seed, seed])

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.actor.load_state_dict(state)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        if wa_output is None:
            raise ContractError("halo-wa's RL state needs a WA model's output; none was given")
        return rl_state(self.config, observation, wa_output, self.camera)

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        if wa_output is None:
            raise ContractError("halo-wa acts on a WA model's output; none was given")
        fields = self.features(observation, wa_output)
        device = next(self.actor.parameters()).device
        with torch.no_grad():
            chunk = self.actor(*_inputs(fields, device, batch=True))[0].cpu().numpy()
        if explore and self.config.exploration_noise > 0:
            chunk = chunk + self.rng.normal(0.0, self.config.exploration_noise, chunk.shape)
        return np.clip(chunk, -1.0, 1.0).astype(np.float32)


def rl_state(config: HaloWAConfig, observation: Mapping[str, Any], wa_output: WAOutput,
             camera: str | None) -> dict[str, np.ndarray]:
    """s_t as stored in replay: ``state``, ``reference`` (C, A) and ``memory`` unless none."""
    fields = {
        "state": np.asarray(observation[STATE_KEY], dtype=np.float32),
        "reference": wa_output.ref_actions[0, : config.chunk].detach().cpu().numpy()
        .astype(np.float32),
    }
    memory = memory_of(config.latent_source, observation, wa_output, camera)
    if memory is not None:
        fields["memory"] = memory
    return fields


def _inputs(fields: Mapping[str, Any], device: torch.device,
            batch: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(state, reference, memory) tensors; ``batch`` adds the batch axis to one RL state."""
    def get(key: str) -> torch.Tensor | None:
        if key not in fields:
            return None
        t = _tensor(fields[key], device)
        return t[None] if batch else t

    state, reference = get("state"), get("reference")
    assert state is not None and reference is not None
    return state.float(), reference.float(), get("memory")


class HaloWA:
    """The `halo-wa` algorithm plugin; see `HaloWAConfig` for every setting."""

    needs = frozenset({"wa_model", "demos"})
    name = "halo-wa"

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config = self.make_config(settings)
        c = self.config
        if not 1 <= c.chunk <= wa_model.horizon:
            raise ConfigError(f"{self.name}: chunk must be between 1 and the WA model's "
                              f"horizon ({wa_model.horizon}), got {c.chunk}")
        self.chunk, self.action_dim = c.chunk, wa_model.action_dim
        self.batch_size, self.utd, self.demo_fraction = c.batch_size, c.utd, c.demo_fraction
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.camera = image_key(wa_model.observation_keys) if c.latent_source == "raw_image" \
            else None
        state_dim = int(wa_model.observation_shapes[STATE_KEY][0])
        latent_shape, image_size = self._memory_layout(wa_model)
        torch.manual_seed(c.seed)
        actor, critic = self.networks(state_dim, latent_shape, image_size)
        self.actor, self.critic = actor.to(self.device), critic.to(self.device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=c.actor_lr)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=c.critic_lr)
        self.generator = torch.Generator(device=self.device).manual_seed(c.seed)
        self.updates = 0
        self._policy = HaloPolicy(self.actor, c, self.camera)

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> HaloWAConfig:
        return make_config(settings)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every setting at its default (`warl info`), less the shared fields a derived
        method does not have."""
        hidden = getattr(cls, "not_applicable", ())
        return {k: v for k, v in cls.make_config({}).to_dict().items() if k not in hidden}

    def networks(self, state_dim: int, latent_shape: tuple[int, int] | None,
                 image_size: int | None) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The actor pi(state, reference, memory) -> (B, C, A) and the twin critic
        Q(state, reference, memory, action) -> (Q1, Q2): the hybrid-attention adapter."""
        c = self.config
        common = dict(state_dim=state_dim, action_dim=self.action_dim, chunk=c.chunk,
                      latent_shape=latent_shape, hidden=c.hidden, heads=c.heads,
                      fusion=c.fusion, image_size=image_size)
        return (HaloActor(decoder=c.actor_decoder, residual=c.residual,
                          **common),  # type: ignore[arg-type]
                HaloCritic(q_head=c.q_head, **common))  # type: ignore[arg-type]

    def _memory_layout(self, wa_model: WorldActionModel
                       ) -> tuple[tuple[int, int] | None, int | None]:
        source = self.config.latent_source
        if source == "none":
            return None, None
        if source == "raw_image":
            assert self.camera is not None
            return None, int(wa_model.observation_shapes[self.camera][0])
        if source == "latents":
            return tuple(wa_model.latent_shape), None  # type: ignore[return-value]
        probe = wa_model.infer(batch_of(synthetic_observations(wa_model, ())), "")
        memory = memory_of(source, {}, probe, None)
        assert memory is not None and memory.ndim == 2
        return (int(memory.shape[0]), int(memory.shape[1])), None

    # --- acting -----------------------------------------------------------------------------
    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        return self._policy.features(observation, wa_output)

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self._policy.act(observation, wa_output, explore)

    def make_policy(self) -> HaloPolicy:
        """A separate actor for a rollout worker; refresh it with `policy_state`."""
        return HaloPolicy(copy.deepcopy(self.actor), self.config, self.camera)

    def policy_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.actor.state_dict().items()}

    # --- learning ---------------------------------------------------------------------------
    def inputs(self, fields: Mapping[str, Any]
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(state, reference, memory) of a batch of RL states, for actor and critic."""
        return _inputs(fields, self.device)

    def bc_targets(self, batch: Any) -> torch.Tensor:
        """a_ref per action: executed if the trajectory succeeded or the action was an
        intervention (and was executed at all), else the WA reference."""
        executed = batch["action"].float()
        steps = torch.arange(self.chunk, device=executed.device)
        ran = steps[None, :] < batch["steps"].reshape(-1, 1)
        use_executed = ran & (batch["intervened"].bool() | batch["success"].reshape(-1, 1).bool())
        return torch.where(use_executed[..., None], executed, batch["obs", "reference"].float())

    def _td(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(Q_1, Q_2, y) of a batch on the device: equation (5)'s target, without gradient."""
        c = self.config
        obs, nxt = self.inputs(batch["obs"]), self.inputs(batch["next"])
        with torch.no_grad():
            next_action = smoothed_target_action(self.actor_target(*nxt), c.target_noise,
                                                 c.target_noise_clip, self.generator)
            next_q1, next_q2 = self.critic_target(*nxt, next_action)
            target = chunk_td_target(batch["reward"].float().reshape(-1),
                                     batch["done"].float().reshape(-1), next_q1, next_q2,
                                     c.gamma, c.chunk, c.max_return if c.clamp_target else None)
        q1, q2 = self.critic(*obs, batch["action"].float())
        return q1, q2, target

    def td_error(self, batch: Any) -> float:
        """The critic loss on ``batch`` without updating anything (a learning-signal probe)."""
        with torch.no_grad():
            return float(critic_loss(*self._td(batch.to(self.device))))

    def update(self, batch: Any) -> dict[str, float]:
        """One critic update, plus an actor and target update every ``critic_actor_ratio``."""
        c = self.config
        batch = batch.to(self.device)
        q1, q2, target = self._td(batch)
        loss_q = critic_loss(q1, q2, target)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss_q.backward()
        self.critic_optimizer.step()
        self.updates += 1
        metrics = {"critic_loss": float(loss_q.detach()), "q": float(q1.mean().detach()),
                   "td_target": float(target.mean())}
        if self.updates % c.critic_actor_ratio == 0:
            metrics.update(self._actor_step(self.inputs(batch["obs"]), self.bc_targets(batch)))
            polyak(self.actor_target, self.actor, c.tau)
            polyak(self.critic_target, self.critic, c.tau)
        return metrics

    def _actor_step(self, obs: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None],
                    reference: torch.Tensor) -> dict[str, float]:
        action = self.actor(*obs)
        self.critic.requires_grad_(False)  # the actor step must not move the critic
        try:
            q1, _ = self.critic(*obs, action)
        finally:
            self.critic.requires_grad_(True)
        loss, bc = actor_loss(q1, action, reference, self.config.bc_coef)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return {"actor_loss": float(loss.detach()), "bc": float(bc.detach()),
                "actor_q": float(q1.mean().detach())}

    def warmup_step(self, batch: Any) -> dict[str, float]:
        """Offline BC of the actor toward the batch's a_ref (the optional warm-up)."""
        batch = batch.to(self.device)
        obs = self.inputs(batch["obs"])
        loss = bc_term(self.actor(*obs), self.bc_targets(batch))
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        self.actor_target.load_state_dict(self.actor.state_dict())
        return {"warmup_bc": float(loss.detach())}

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = {k: (list(v) if isinstance(v, tuple) else v)
                 for k, v in dict(state.get("config", {})).items()}
        mine = {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.config.to_dict().items()}
        if saved != mine:
            diff = {k: (saved.get(k), mine.get(k)) for k in set(saved) | set(mine)
                    if saved.get(k) != mine.get(k)}
            raise ConfigError(f"{self.name}: the saved state was built with other settings "
                              f"(saved, current): {diff}")
        for name in ("actor", "critic", "actor_target", "critic_target", "actor_optimizer",
                     "critic_optimizer"):
            getattr(self, name).load_state_dict(state[name])
        self.generator.set_state(state["generator"])
        self.updates = int(state["updates"])
