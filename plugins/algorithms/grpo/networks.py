"""The stochastic chunk head: a Gaussian over the (C, A) chunk whose mean is the WA reference
shifted by a learned, bounded correction (zero at the start, so the head starts as WA-base)."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn


class GaussianChunkHead(nn.Module):
    """(state, reference (B, C, A), latents (B, N, D)) -> Normal over the chunk."""

    def __init__(self, state_dim: int, latent_dim: int, chunk: int, action_dim: int,
                 hidden: int, layers: int, scale: float, init_std: float, min_std: float,
                 learn_std: bool) -> None:
        super().__init__()
        self.chunk, self.action_dim, self.scale, self.min_std = chunk, action_dim, scale, min_std
        widths = [state_dim + latent_dim + chunk * action_dim] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            blocks += [nn.Linear(a, b), nn.Tanh()]
        last = nn.Linear(widths[-1], chunk * action_dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.shift = nn.Sequential(*blocks, last)
        log_std = torch.full((action_dim,), math.log(init_std))
        self.log_std = nn.Parameter(log_std, requires_grad=learn_std)

    def forward(self, state: torch.Tensor, reference: torch.Tensor,
                latents: torch.Tensor) -> torch.distributions.Normal:
        x = torch.cat([state, latents.mean(1), reference.flatten(1)], dim=-1)
        shift = self.scale * torch.tanh(self.shift(x)).view(-1, self.chunk, self.action_dim)
        mean = (reference + shift).clamp(-1.0, 1.0)
        std = self.log_std.exp().clamp(min=self.min_std).expand_as(mean)
        return torch.distributions.Normal(mean, std)
