"""The stochastic chunk head: a Gaussian over the (C, A) chunk whose mean is the WA reference
shifted by a learned, bounded correction (zero at the start, so the head starts as WA-base)."""

from __future__ import annotations

import functools
import itertools
import math

import torch
from torch import nn


class GaussianChunkHead(nn.Module):
    """(state, reference (B, C, A), latents (B, N, D)) -> Normal over the chunk."""

    def __init__(self, state_dim: int, latent_dim: int, chunk: int, action_dim: int,
                 hidden: int, layers: int, scale: float, init_std: float, min_std: float,
                 learn_std: bool, noise_correlation: float = 0.0) -> None:
        super().__init__()
        self.noise_correlation = noise_correlation
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
                latents: torch.Tensor) -> ChunkNormal:
        x = torch.cat([state, latents.mean(1), reference.flatten(1)], dim=-1)
        shift = self.scale * torch.tanh(self.shift(x)).view(-1, self.chunk, self.action_dim)
        mean = (reference + shift).clamp(-1.0, 1.0)
        std = self.log_std.exp().clamp(min=self.min_std).expand_as(mean)
        return ChunkNormal(mean, std, self.noise_correlation)


class ChunkNormal:
    """A Gaussian over (B, C, A) chunks whose noise is correlated in time: per action
    dimension, the covariance over the C steps is std^2 (rho 1 1^T + (1 - rho) I). rho = 0
    is independent noise at every step (a product of Normals, sampled from the same draws).

    Why: independent noise on each of a chunk's actions mostly averages out in the physics,
    so the G members of a group from one start rarely differ in outcome and GRPO's group
    advantage is zero; a shared offset over the chunk moves the arm somewhere else."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, rho: float) -> None:
        self.mean, self.stddev, self.rho = mean, std, float(rho)
        self.tril = _time_tril(mean.shape[-2], self.rho).to(mean.device, mean.dtype)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        draws = torch.randn(self.mean.shape, generator=generator).to(self.mean.device)
        return self.mean + self.stddev * self._correlate(draws)

    def _correlate(self, white: torch.Tensor) -> torch.Tensor:
        return white if self.rho == 0.0 else torch.einsum("ij,bja->bia", self.tril, white)

    def log_prob(self, chunk: torch.Tensor) -> torch.Tensor:
        """(B,) log-density of whole chunks."""
        z = (chunk - self.mean) / self.stddev  # (B, C, A)
        if self.rho != 0.0:
            z = torch.linalg.solve_triangular(self.tril, z, upper=False)
        c, a = self.mean.shape[-2:]
        log_det = self.stddev.log().sum((-1, -2)) + a * self.tril.diagonal().log().sum()
        return -0.5 * z.pow(2).sum((-1, -2)) - log_det - 0.5 * c * a * math.log(2 * math.pi)


@functools.lru_cache(maxsize=8)
def _time_tril(steps: int, rho: float) -> torch.Tensor:
    """Cholesky factor of rho 1 1^T + (1 - rho) I over ``steps``: fixed for a head, so it is
    factored once rather than at every action (read only; callers copy it to their device)."""
    cov = rho * torch.ones(steps, steps) + (1.0 - rho) * torch.eye(steps)
    return torch.linalg.cholesky(cov)
