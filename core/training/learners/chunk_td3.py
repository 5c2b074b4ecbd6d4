"""`ChunkTD3`: the chunk-level TD3 + BC learner that HALO-WA, RL-token and PLD compose.

It takes the method's networks, how to read a batch of RL states into their inputs, and the
method's BC-target rule; it owns the target networks, the optimizers and the update. The
update is HALO-WA's equations (4)-(7): a chunk-level TD target from the target actor and the
twin target critics (eq. 5), the critic loss over both heads (eq. 6), and every
``critic_actor_ratio`` critic updates one actor update -Q_1 + lambda_BC ||pi(s) - a_ref||^2
(eq. 7) and a Polyak step of the targets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from warl.core.training.learners.chunk_td3_config import ChunkTD3Config
from warl.core.training.learners.td3_losses import (
    actor_loss,
    bc_term,
    chunk_td_target,
    critic_loss,
    polyak,
    smoothed_target_action,
)

# Reads the ``obs`` (or ``next``) fields of a batch into the networks' positional inputs.
Inputs = Callable[[Mapping[str, Any]], tuple[Any, ...]]
# a_ref (B, C, A) of a batch: the method's BC-target rule.
BCTarget = Callable[[Any], torch.Tensor]
# (B, C) weights of a batch's BC term per action (None: every action weighs 1).
BCWeight = Callable[[Any], torch.Tensor]

STATE_KEYS = ("actor", "critic", "actor_target", "critic_target", "actor_optimizer",
              "critic_optimizer", "generator", "updates")


class ChunkTD3:
    """TD3 + BC over action chunks.

    Args:
        actor: pi(*inputs) -> (B, C, A) in [-1, 1].
        critic: Q(*inputs, action) -> (Q1, Q2), each (B,).
        config: the shared settings (gamma, chunk, ratios, learning rates, TD3 noise).
        inputs: batch fields -> the networks' inputs.
        bc_target: batch -> a_ref.
        bc_weight: batch -> (B, C) weights of the BC term per action (`reference_weights`);
            None weighs every action 1.
        device: where the networks live.
        actor_params / critic_params: what each optimizer trains (default: the module's
            parameters; a method with shared modules may narrow them).
    """

    def __init__(self, actor: torch.nn.Module, critic: torch.nn.Module, config: ChunkTD3Config,
                 *, inputs: Inputs, bc_target: BCTarget, device: torch.device,
                 bc_weight: BCWeight | None = None,
                 actor_params: Iterable[torch.nn.Parameter] | None = None,
                 critic_params: Iterable[torch.nn.Parameter] | None = None) -> None:
        self.config, self.inputs, self.bc_target, self.device = config, inputs, bc_target, device
        self.bc_weight = bc_weight
        self.actor, self.critic = actor.to(device), critic.to(device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(
            self.actor.parameters() if actor_params is None else actor_params, lr=config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(
            self.critic.parameters() if critic_params is None else critic_params,
            lr=config.critic_lr)
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.updates = 0

    def td(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(Q_1, Q_2, y) of a batch on the device: equation (5)'s target, without gradient."""
        c = self.config
        obs, nxt = self.inputs(batch["obs"]), self.inputs(batch["next"])
        with torch.no_grad():
            next_action = smoothed_target_action(self.actor_target(*nxt), c.target_noise,
                                                 c.target_noise_clip, self.generator)
            next_q1, next_q2 = self.critic_target(*nxt, next_action)
            target = chunk_td_target(batch["reward"].float().reshape(-1),
                                     batch["done"].float().reshape(-1), next_q1, next_q2,
                                     c.gamma, c.chunk if c.gamma_unit == "step" else 1,
                                     c.max_return if c.clamp_target else None)
        q1, q2 = self.critic(*obs, batch["action"].float())
        return q1, q2, target

    def td_error(self, batch: Any) -> float:
        """The critic loss on ``batch`` without updating anything (a learning-signal probe)."""
        with torch.no_grad():
            return float(critic_loss(*self.td(batch.to(self.device))))

    def update(self, batch: Any) -> dict[str, float]:
        """One critic update (eq. 6), plus an actor (eq. 7) and target update every
        ``critic_actor_ratio``."""
        c = self.config
        batch = batch.to(self.device)
        q1, q2, target = self.td(batch)
        loss_q = critic_loss(q1, q2, target)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss_q.backward()
        self.critic_optimizer.step()
        self.updates += 1
        metrics = {"critic_loss": float(loss_q.detach()), "q": float(q1.mean().detach()),
                   "td_target": float(target.mean())}
        if self.updates % c.critic_actor_ratio == 0:
            metrics.update(self._actor_step(self.inputs(batch["obs"]), self.bc_target(batch),
                                            self._weight(batch)))
            polyak(self.actor_target, self.actor, c.tau)
            polyak(self.critic_target, self.critic, c.tau)
        return metrics

    def _weight(self, batch: Any) -> torch.Tensor | None:
        return None if self.bc_weight is None else self.bc_weight(batch)

    def _actor_step(self, obs: tuple[Any, ...], reference: torch.Tensor,
                    weight: torch.Tensor | None) -> dict[str, float]:
        action = self.actor(*obs)
        self.critic.requires_grad_(False)  # the actor step must not move the critic
        try:
            q1, _ = self.critic(*obs, action)
        finally:
            self.critic.requires_grad_(True)
        loss, bc = actor_loss(q1, action, reference, self.config.bc_coef, weight)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return {"actor_loss": float(loss.detach()), "bc": float(bc.detach()),
                "actor_q": float(q1.mean().detach())}

    def warmup_step(self, batch: Any) -> dict[str, float]:
        """Offline BC of the actor toward the batch's a_ref (the optional warm-up); the target
        actor follows."""
        batch = batch.to(self.device)
        loss = bc_term(self.actor(*self.inputs(batch["obs"])), self.bc_target(batch),
                       self._weight(batch))
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        self.actor_target.load_state_dict(self.actor.state_dict())
        return {"warmup_bc": float(loss.detach())}

    def policy_state(self) -> dict[str, torch.Tensor]:
        """The actor's weights, detached copies (what a rollout worker loads)."""
        return {k: v.detach().clone() for k, v in self.actor.state_dict().items()}

    def state_dict(self) -> dict[str, Any]:
        return {
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
        for name in STATE_KEYS[:6]:
            getattr(self, name).load_state_dict(state[name])
        self.generator.set_state(state["generator"])
        self.updates = int(state["updates"])

    def checkpoint(self, config: Any) -> dict[str, Any]:
        """The algorithm's state: its settings (``config.to_dict()``) and the learner's."""
        return {"config": config.to_dict(), **self.state_dict()}

    def restore(self, state: Mapping[str, Any], config: Any, who: str) -> None:
        """The inverse of `checkpoint`; refuses a state built with other settings."""
        same_config(state.get("config", {}), config.to_dict(), who)
        self.load_state_dict(state)


def loop_settings(config: ChunkTD3Config, wa_model: Any, who: str
                  ) -> tuple[int, int, int, int, float, torch.device]:
    """What the off-policy loop reads from a TD3 + BC algorithm (``chunk``, ``action_dim``,
    ``batch_size``, ``utd``, ``demo_fraction``) and the device to train on, after checking
    the chunk against the WA model's horizon."""
    from warl.core.world_model import check_chunk, torch_device

    check_chunk(config.chunk, wa_model, who)
    return (config.chunk, int(wa_model.action_dim), config.batch_size, config.utd,
            config.demo_fraction, torch_device())


def same_config(saved: Mapping[str, Any], mine: Mapping[str, Any], who: str,
                defaults: Mapping[str, Any] | None = None) -> None:
    """Refuse a saved state built with other settings, naming each difference (tuples and
    lists compare equal: a checkpoint reads tuples back as lists). A setting the saved
    state predates counts as its value in ``defaults``, when given (a setting added later
    whose default is the old behaviour)."""
    from warl.core.errors import ConfigError

    def plain(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    a, b = plain({**(defaults or {}), **saved}), plain(mine)
    if a != b:
        diff = {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        raise ConfigError(f"{who}: the saved state was built with other settings "
                          f"(saved, current): {diff}")
