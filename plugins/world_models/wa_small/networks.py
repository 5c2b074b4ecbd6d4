"""The parts of the built-in WA model: VAEs to latent tokens, a world head, a flow action head."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class ImageVAE(nn.Module):
    """64x64 RGB -> an 8x8 grid of D-wide latent tokens (a convolutional VAE), and back.

    The 8x8x64 feature map just before the latent projection is the model's *intermediate*
    feature (HALO-WA's "WA intermediate features" ablation reads it).
    """

    GRID = 8
    INTERMEDIATE_DIM = 64

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        # Channels stay narrow at high resolution: on a CPU the full-resolution layers cost
        # the most, and 64x64 scenes need little capacity there.
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 16, 4, stride=2, padding=1), nn.SiLU(),  # 32x32
            nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.SiLU(),  # 16x16
            nn.Conv2d(32, self.INTERMEDIATE_DIM, 4, stride=2, padding=1), nn.SiLU(),  # 8x8
        )
        self.to_moments = nn.Conv2d(self.INTERMEDIATE_DIM, 2 * latent_dim, 1)
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_dim, 64, 3, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.SiLU(),  # 16x16
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.SiLU(),  # 32x32
            nn.ConvTranspose2d(16, 3, 4, stride=2, padding=1),  # 64x64
        )

    def encode(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 3, 64, 64) in [0, 1] -> mean, log-variance (B, 64, D), intermediate (B, 64, 64)."""
        hidden = self.encoder(image * 2.0 - 1.0)
        mean, logvar = self.to_moments(hidden).chunk(2, dim=1)
        return _tokens(mean), _tokens(logvar), _tokens(hidden)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, 64, D) -> (B, 3, 64, 64) logits of the image in [0, 1]."""
        b, _n, d = tokens.shape
        grid = tokens.transpose(1, 2).reshape(b, d, self.GRID, self.GRID)
        return self.decoder(grid)


def _tokens(grid: torch.Tensor) -> torch.Tensor:
    return grid.flatten(2).transpose(1, 2)


class StateVAE(nn.Module):
    """The state vector -> ``tokens`` latent tokens (a VAE), and back."""

    def __init__(self, state_dim: int, tokens: int, latent_dim: int, hidden: int) -> None:
        super().__init__()
        self.tokens, self.latent_dim = tokens, latent_dim
        self.encoder = nn.Sequential(nn.Linear(state_dim, hidden), nn.SiLU(),
                                     nn.Linear(hidden, hidden), nn.SiLU())
        self.to_moments = nn.Linear(hidden, 2 * tokens * latent_dim)
        self.decoder = nn.Sequential(nn.Linear(tokens * latent_dim, hidden), nn.SiLU(),
                                     nn.Linear(hidden, state_dim))
        self.intermediate_dim = hidden // tokens

    def encode(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(state)
        mean, logvar = self.to_moments(hidden).view(-1, self.tokens, 2 * self.latent_dim).chunk(
            2, dim=-1
        )
        usable = self.tokens * self.intermediate_dim
        return mean, logvar, hidden[:, :usable].reshape(-1, self.tokens, self.intermediate_dim)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(tokens.flatten(1))


class AttentionPool(nn.Module):
    """A few learned queries read the latent tokens (the action head's view of Z)."""

    def __init__(self, latent_dim: int, queries: int, out_dim: int, n_tokens: int) -> None:
        super().__init__()
        self.position = nn.Parameter(torch.zeros(1, n_tokens, latent_dim))
        self.queries = nn.Parameter(torch.randn(1, queries, latent_dim) * 0.02)
        self.attention = nn.MultiheadAttention(latent_dim, num_heads=4, batch_first=True)
        self.out = nn.Linear(queries * latent_dim, out_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        keys = tokens + self.position
        pooled, _ = self.attention(self.queries.expand(len(tokens), -1, -1), keys, keys)
        return self.out(pooled.flatten(1))


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of flow time t in [0, 1], (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
    angles = t[:, None] * 1000.0 * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class ResidualMLP(nn.Module):
    def __init__(self, in_dim: int, width: int, out_dim: int, blocks: int) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(),
                          nn.Linear(width, width))
            for _ in range(blocks)
        )
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


class FlowActionHead(nn.Module):
    """Generates an H x A chunk by flow matching (rectified flow) conditioned on Z and state.

    Training regresses the velocity x1 - x0 on x_t = (1 - t) x0 + t x1 (x0 noise, x1 the
    demonstrated chunk); sampling integrates that velocity from noise with Euler steps, the way
    flow-matching action experts of real WA/VLA models generate chunks.
    """

    def __init__(self, horizon: int, action_dim: int, cond_dim: int, hidden: int) -> None:
        super().__init__()
        self.horizon, self.action_dim = horizon, action_dim
        self.time_dim = 64
        self.velocity = ResidualMLP(horizon * action_dim + self.time_dim + cond_dim,
                                    2 * hidden, horizon * action_dim, blocks=3)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([x_t.flatten(1), time_embedding(t, self.time_dim), cond], dim=-1)
        return self.velocity(inputs).view(-1, self.horizon, self.action_dim)

    def loss(self, actions: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        noise = torch.randn_like(actions)
        t = torch.rand(len(actions), device=actions.device)
        x_t = (1 - t[:, None, None]) * noise + t[:, None, None] * actions
        return F.mse_loss(self(x_t, t, cond), actions - noise)

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, steps: int, noise: torch.Tensor) -> torch.Tensor:
        x = noise
        for i in range(steps):
            t = torch.full((len(cond),), i / steps, device=cond.device)
            x = x + self(x, t, cond) / steps
        return x


class WorldHead(nn.Module):
    """Predicts K future latent frames from the current tokens and an action chunk.

    Token-wise: each token sees itself, its position, the mean token (scene context) and an
    embedding of the whole chunk, and outputs its change at each of the K future steps.
    """

    def __init__(self, n_tokens: int, latent_dim: int, horizon: int, action_dim: int,
                 hidden: int, steps: int) -> None:
        super().__init__()
        self.steps, self.latent_dim = steps, latent_dim
        self.position = nn.Parameter(torch.zeros(1, n_tokens, latent_dim))
        self.action_embed = nn.Sequential(nn.Linear(horizon * action_dim, hidden), nn.SiLU(),
                                          nn.Linear(hidden, hidden))
        # Applied to every token of every sample: kept narrow, it is the costliest layer.
        width = max(hidden // 2, 32)
        self.net = ResidualMLP(3 * latent_dim + hidden, width, steps * latent_dim, blocks=1)

    def forward(self, tokens: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(B, N, D), (B, H, A) -> (B, K, N, D)."""
        b, n, d = tokens.shape
        context = tokens.mean(dim=1, keepdim=True).expand(-1, n, -1)
        action = self.action_embed(actions.flatten(1))[:, None].expand(-1, n, -1)
        pos = self.position.expand(b, -1, -1)
        delta = self.net(torch.cat([tokens, pos, context, action], dim=-1))
        delta = delta.view(b, n, self.steps, d).permute(0, 2, 1, 3)
        return tokens[:, None] + delta
