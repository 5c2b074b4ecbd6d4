"""The RL token and the lightweight actor-critic that reads it.

`TokenEncoder` compresses the WA latent tokens Z (N, D) into one token z by attention
pooling with a single learned query; `TokenDecoder` rebuilds every token of Z from z (the
reconstruction objective that makes z keep what Z holds). The actor and the twin critic are
MLPs over (z, state, reference chunk), as in RL Token: the only difference from HALO-WA is
that the policy sees one token instead of attending to all of Z.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from warl.plugins.algorithms.halo_wa.networks import mlp, zero_last


class TokenEncoder(nn.Module):
    """Z (B, N, D) -> z (B, token_dim)."""

    def __init__(self, latent_shape: tuple[int, int], token_dim: int, heads: int) -> None:
        super().__init__()
        tokens, latent_dim = latent_shape
        self.project = nn.Sequential(nn.LayerNorm(latent_dim), nn.Linear(latent_dim, token_dim))
        self.position = nn.Parameter(torch.zeros(1, tokens, token_dim))
        self.query = nn.Parameter(torch.randn(1, 1, token_dim) * 0.02)
        self.attention = nn.MultiheadAttention(token_dim, heads, batch_first=True)
        self.out = nn.LayerNorm(token_dim)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        keys = self.project(latents.float()) + self.position
        pooled, _ = self.attention(self.query.expand(len(keys), -1, -1), keys, keys,
                                   need_weights=False)
        out: torch.Tensor = self.out(pooled[:, 0])
        return out


class TokenDecoder(nn.Module):
    """z (B, token_dim) -> Z (B, N, D): each token from z and its learned position."""

    def __init__(self, latent_shape: tuple[int, int], token_dim: int, hidden: int) -> None:
        super().__init__()
        tokens, latent_dim = latent_shape
        self.position = nn.Parameter(torch.randn(1, tokens, token_dim) * 0.02)
        self.decode = mlp([token_dim, hidden, hidden, latent_dim])

    def forward(self, token: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.decode(token[:, None] + self.position)
        return out


def reconstruction_loss(decoder: TokenDecoder, encoder: TokenEncoder,
                        latents: torch.Tensor) -> torch.Tensor:
    """Mean squared error of Z rebuilt from its one token."""
    return F.mse_loss(decoder(encoder(latents)), latents.float())


def _inputs(token: torch.Tensor, state: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return torch.cat([token, state, reference.flatten(1)], dim=-1)


class TokenActor(nn.Module):
    """pi(z, s^r, a~) -> refined chunk (B, C, A) in [-1, 1]; z is read without gradient (the
    token is trained by reconstruction only, then frozen)."""

    def __init__(self, encoder: TokenEncoder, state_dim: int, action_dim: int, chunk: int,
                 hidden: int, layers: int, residual: float = 0.0) -> None:
        super().__init__()
        self.token, self.chunk, self.action_dim, self.residual = encoder, chunk, action_dim, \
            residual
        width = encoder.out.normalized_shape[0] + state_dim + chunk * action_dim
        self.net = mlp([width, *[hidden] * layers, chunk * action_dim])
        if residual:  # starts as WA-base, as HALO-WA's residual option
            zero_last(self.net)

    def forward(self, state: torch.Tensor, reference: torch.Tensor,
                latents: torch.Tensor | None) -> torch.Tensor:
        assert latents is not None
        with torch.no_grad():
            token = self.token(latents)
        out = torch.tanh(self.net(_inputs(token, state, reference)))
        out = out.view(-1, self.chunk, self.action_dim)
        if self.residual:
            return (reference + self.residual * out).clamp(-1.0, 1.0)
        return out


class TokenCritic(nn.Module):
    """Twin Q(z, s^r, a~, a) -> (Q1, Q2), each (B,)."""

    def __init__(self, encoder: TokenEncoder, state_dim: int, action_dim: int, chunk: int,
                 hidden: int, layers: int) -> None:
        super().__init__()
        self.token = encoder
        width = encoder.out.normalized_shape[0] + state_dim + 2 * chunk * action_dim
        self.q1 = mlp([width, *[hidden] * layers, 1])
        self.q2 = mlp([width, *[hidden] * layers, 1])

    def forward(self, state: torch.Tensor, reference: torch.Tensor, latents: torch.Tensor | None,
                action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert latents is not None
        with torch.no_grad():
            token = self.token(latents)
        x = torch.cat([_inputs(token, state, reference), action.flatten(1)], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)
