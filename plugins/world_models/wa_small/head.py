"""A trainable copy of the built-in WA model's action head (`warl.core.world_model.ActionHead`).

HG-DAgger's novice and PLD's distilled policy fine-tune the WA policy itself by behaviour
cloning, as the baselines do with a real WA/VLA model's action expert. The copy holds the
parts that map (Z, state) to a chunk: the attention pooling of Z, the state projection, the
flow-matching head and the model's state normalisation; the encoder that makes Z stays frozen
in the original model.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn

from warl.plugins.world_models.wa_small.networks import AttentionPool, FlowActionHead

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class HeadSource(Protocol):
    """What the copy takes from a model (`WASmall`, `WAMSmall`): its pooling of Z, state
    projection, flow head and state normalisation."""

    @property
    def horizon(self) -> int: ...
    @property
    def action_dim(self) -> int: ...
    @property
    def cfg(self) -> Any: ...
    @property
    def pool(self) -> AttentionPool: ...
    @property
    def state_proj(self) -> nn.Sequential: ...
    @property
    def action_head(self) -> FlowActionHead: ...
    @property
    def state_mean(self) -> torch.Tensor: ...
    @property
    def state_std(self) -> torch.Tensor: ...


def masked_flow_loss(velocity: Velocity, actions: torch.Tensor, mask: torch.Tensor,
                     noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Rectified-flow BC: regress ``velocity(x_t, t)`` on ``actions - noise`` at
    ``x_t = (1 - t) noise + t actions``; squared error averaged over the action dims, then
    over the (B, H) positions where ``mask`` is true (unexecuted actions teach nothing)."""
    x_t = (1 - t[:, None, None]) * noise + t[:, None, None] * actions
    error = (velocity(x_t, t) - (actions - noise)).pow(2).mean(-1)
    weight = mask.to(error.dtype)
    return (error * weight).sum() / weight.sum().clamp(min=1.0)


class WAActionHead(nn.Module):
    """See the module doc; built by `WASmall.action_head_copy`."""

    state_mean: torch.Tensor
    state_std: torch.Tensor

    def __init__(self, model: HeadSource) -> None:
        super().__init__()
        self.horizon, self.action_dim = model.horizon, model.action_dim
        self.flow_steps = model.cfg.flow_steps
        self.pool = copy.deepcopy(model.pool)
        self.state_proj = copy.deepcopy(model.state_proj)
        self.action_head = copy.deepcopy(model.action_head)
        self.register_buffer("state_mean", model.state_mean.detach().clone())
        self.register_buffer("state_std", model.state_std.detach().clone())
        self.requires_grad_(True)

    def condition(self, latents: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        normalized = (state.float() - self.state_mean) / self.state_std
        return torch.cat([self.pool(latents.float()), self.state_proj(normalized)], dim=-1)

    def bc_loss(self, latents: torch.Tensor, state: torch.Tensor, actions: torch.Tensor,
                mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        cond = self.condition(latents, state)
        noise = torch.randn(actions.shape, generator=generator, device=actions.device)
        t = torch.rand(len(actions), generator=generator, device=actions.device)
        return masked_flow_loss(lambda x, s: self.action_head(x, s, cond), actions.float(),
                                mask, noise, t)

    @torch.no_grad()
    def sample(self, latents: torch.Tensor, state: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
        cond = self.condition(latents, state)
        noise = torch.randn((len(cond), self.horizon, self.action_dim), generator=generator,
                            device=cond.device)
        return self.action_head.sample(cond, self.flow_steps, noise).clamp(-1.0, 1.0)
