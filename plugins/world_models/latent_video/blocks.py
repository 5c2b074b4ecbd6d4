"""Diffusion-transformer blocks for latent video: AdaLN-Zero conditioning, cross-attention.

A block sees a sequence of tokens (B, L, D): every latent token of every frame, context and
noisy future alike, with learned frame and token position embeddings (`VideoTokens`). The
conditioning vector c (B, C), in a world model the diffusion time's embedding fused with the
action chunk's, sets per-block shift, scale and gate of both sublayers (DiT's AdaLN-Zero:
the projection starts at zero, so a fresh block passes its input through unchanged and
training starts from a stable identity map). An optional cross-attention sublayer attends to
conditioning tokens (B, M, C), the per-step action embeddings in WoVR, so that each frame
can read the action that produced it rather than a pooled summary only.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def timestep_embedding(t: torch.Tensor, dim: int, scale: float = 1000.0) -> torch.Tensor:
    """Sinusoidal embedding of a flow time t in [0, 1], (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * scale * freqs[None]
    embedding = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return F.pad(embedding, (0, dim - 2 * half))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    """Self-attention, optional cross-attention, MLP; AdaLN-Zero from a conditioning vector."""

    def __init__(self, dim: int, heads: int, cond_dim: int, cross_dim: int | None = None,
                 mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} must be divisible by heads {heads}")
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross: nn.MultiheadAttention | None = None
        if cross_dim is not None:
            self.norm_cross = nn.LayerNorm(dim, eps=1e-6)
            self.cross = nn.MultiheadAttention(dim, heads, kdim=cross_dim, vdim=cross_dim,
                                               batch_first=True)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden, dim))
        # shift, scale, gate for the attention and for the MLP; zero: the block starts as
        # the identity. The cross-attention's output projection starts at zero for the same
        # reason (its residual has no gate of its own).
        projection = nn.Linear(cond_dim, 6 * dim)
        nn.init.zeros_(projection.weight)
        nn.init.zeros_(projection.bias)
        self.ada = nn.Sequential(nn.SiLU(), projection)
        if self.cross is not None:
            nn.init.zeros_(self.cross.out_proj.weight)
            nn.init.zeros_(self.cross.out_proj.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor,
                context: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, D), cond (B, C), context (B, M, cross_dim) when built with one."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(cond).chunk(6, dim=-1)
        h = modulate(self.norm1(x), shift1, scale1)
        x = x + gate1[:, None] * self.attn(h, h, h, need_weights=False)[0]
        if self.cross is not None:
            if context is None:
                raise ValueError("this block cross-attends: give it context tokens")
            h = self.norm_cross(x)
            x = x + self.cross(h, context, context, need_weights=False)[0]
        h = modulate(self.norm2(x), shift2, scale2)
        return x + gate2[:, None] * self.mlp(h)


class FinalLayer(nn.Module):
    """AdaLN-modulated projection of tokens back to latent width; zero-initialised, so a fresh
    model predicts zero velocity."""

    def __init__(self, dim: int, cond_dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        projection = nn.Linear(cond_dim, 2 * dim)
        self.out = nn.Linear(dim, out_dim)
        for layer in (projection, self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.ada = nn.Sequential(nn.SiLU(), projection)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale = self.ada(cond).chunk(2, dim=-1)
        return self.out(modulate(self.norm(x), shift, scale))


class VideoTokens(nn.Module):
    """Latent frames (B, T, N, D_latent) <-> tokens (B, T * N, width) with learned frame and
    token position embeddings, up to ``max_frames`` frames of ``tokens`` tokens each."""

    def __init__(self, latent_dim: int, width: int, tokens: int, max_frames: int) -> None:
        super().__init__()
        self.tokens, self.max_frames = tokens, max_frames
        self.inp = nn.Linear(latent_dim, width)
        self.frame_pos = nn.Parameter(torch.randn(max_frames, width) * 0.02)
        self.token_pos = nn.Parameter(torch.randn(tokens, width) * 0.02)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t, n, _ = frames.shape
        if n != self.tokens or t > self.max_frames:
            raise ValueError(f"expected at most {self.max_frames} frames of {self.tokens} "
                             f"tokens, got {t} of {n}")
        h = self.inp(frames) + self.frame_pos[:t, None] + self.token_pos[None]
        return h.reshape(b, t * n, -1)

    def frames(self, tokens: torch.Tensor, t: int) -> torch.Tensor:
        """(B, T * N, D) -> (B, T, N, D): the inverse reshape (after a `FinalLayer`)."""
        return tokens.reshape(tokens.shape[0], t, self.tokens, -1)
