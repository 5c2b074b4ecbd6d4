"""PLD's residual actor-critic: MLPs over (state, mean WA latent token, base chunk).

The residual reads the base policy's chunk and outputs a bounded correction; its last layer
starts at zero, so before any update the executed action is exactly the base policy's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from warl.plugins.algorithms.halo_wa.networks import mlp, zero_last


def bounded_residual(base: torch.Tensor, raw: torch.Tensor, scale: float) -> torch.Tensor:
    """a = clip(a_base + scale * tanh(raw), -1, 1)."""
    return (base + scale * torch.tanh(raw)).clamp(-1.0, 1.0)


def _inputs(state: torch.Tensor, base: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    return torch.cat([state, latents.mean(dim=1), base.flatten(1)], dim=-1)


class ResidualActor(nn.Module):
    """delta(s, a_base) -> executed chunk (B, C, A)."""

    def __init__(self, state_dim: int, latent_dim: int, action_dim: int, chunk: int,
                 hidden: Sequence[int], scale: float) -> None:
        super().__init__()
        self.chunk, self.action_dim, self.scale = chunk, action_dim, scale
        self.net = zero_last(mlp([state_dim + latent_dim + chunk * action_dim, *hidden,
                                  chunk * action_dim]))

    def forward(self, state: torch.Tensor, base: torch.Tensor,
                latents: torch.Tensor | None) -> torch.Tensor:
        assert latents is not None
        raw = self.net(_inputs(state, base, latents)).view(-1, self.chunk, self.action_dim)
        return bounded_residual(base, raw, self.scale)


class ResidualCritic(nn.Module):
    """Twin Q(s, a_base, a) -> (Q1, Q2), each (B,)."""

    def __init__(self, state_dim: int, latent_dim: int, action_dim: int, chunk: int,
                 hidden: Sequence[int]) -> None:
        super().__init__()
        width = state_dim + latent_dim + 2 * chunk * action_dim
        self.q1 = mlp([width, *hidden, 1])
        self.q2 = mlp([width, *hidden, 1])

    def forward(self, state: torch.Tensor, base: torch.Tensor, latents: torch.Tensor | None,
                action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert latents is not None
        x = torch.cat([_inputs(state, base, latents), action.flatten(1)], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)
