"""HALO-WA's hybrid-attention actor-critic adapter (paper section 3.2, appendix 7.8).

Query tokens q_t = [e^r_t, E^WA_{a,t}] (one state token, C reference-action tokens) read the
latent memory m_t = f_vis(Z^WA_t). The actor fuses them (self-attention over q, then
cross-attention to m) and decodes each action token with a shared MLP; the critic adds C
candidate-action tokens, fuses, mean-pools, and feeds twin Q heads.

``fusion`` selects the table-2 ablations: ``hybrid`` (the method), ``cross`` (cross-attention
only), ``self`` (self-attention over query and memory tokens together), ``concat`` (the
flattened memory concatenated to every token, then an MLP) and ``cnn`` (a convolution over
the memory tokens, pooled, concatenated to every token). A memory of None is the "no latent"
ablation: the tokens only attend to each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from warl.plugins.algorithms.halo_wa.config import FUSIONS
from warl.plugins.algorithms.halo_wa.latents import IMAGE_TOKEN_DIM, ImageTokens


def mlp(widths: Sequence[int], final_activation: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2 or final_activation:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


def zero_last(net: nn.Sequential) -> nn.Sequential:
    """Zero the last linear layer, so a residual head starts as "no correction"."""
    last = net[-1]
    assert isinstance(last, nn.Linear)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return net


class Attention(nn.Module):
    """Pre-norm multi-head attention with a residual connection and a feed-forward block."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.norm_q, self.norm_kv = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.feed_forward = nn.Sequential(nn.LayerNorm(hidden), mlp([hidden, 2 * hidden, hidden]))

    def forward(self, queries: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        q = self.norm_q(queries)
        kv = q if memory is None else self.norm_kv(memory)
        x = queries + self.attention(q, kv, kv, need_weights=False)[0]
        return x + self.feed_forward(x)


class Fusion(nn.Module):
    """Query tokens (B, T, h) + latent memory (B, N, h) or None -> fused tokens (B, T, h)."""

    def __init__(self, kind: str, hidden: int, heads: int, memory_tokens: int) -> None:
        super().__init__()
        if kind not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {kind!r}")
        self.kind = kind
        self.self_attention = Attention(hidden, heads)
        self.cross_attention = Attention(hidden, heads)
        if kind == "concat" and memory_tokens:
            self.summary: nn.Module = nn.Linear(memory_tokens * hidden, hidden)
        elif kind == "cnn":
            self.summary = nn.Sequential(
                nn.Conv1d(hidden, hidden, 3, padding=1), nn.GELU(),
                nn.Conv1d(hidden, hidden, 3, stride=2, padding=1), nn.GELU(),
                nn.AdaptiveAvgPool1d(1), nn.Flatten(),
            )
        if kind in ("concat", "cnn"):
            self.merge = mlp([2 * hidden, 2 * hidden, hidden])

    def forward(self, queries: torch.Tensor, memory: torch.Tensor | None) -> torch.Tensor:
        if memory is None:  # the "no latent" ablation
            return self.self_attention(queries)
        if self.kind == "hybrid":
            return self.cross_attention(self.self_attention(queries), memory)
        if self.kind == "cross":
            return self.cross_attention(queries, memory)
        if self.kind == "self":
            both = self.self_attention(torch.cat([queries, memory], dim=1))
            return both[:, : queries.shape[1]]
        if self.kind == "concat":
            summary = self.summary(memory.flatten(1))
        else:
            summary = self.summary(memory.transpose(1, 2))
        expanded = summary[:, None].expand(-1, queries.shape[1], -1)
        return queries + self.merge(torch.cat([queries, expanded], dim=-1))


class LatentMemory(nn.Module):
    """f_vis: latent tokens (B, N, D) -> memory tokens (B, N, h) with learned positions."""

    def __init__(self, latent_dim: int, tokens: int, hidden: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.LayerNorm(latent_dim), nn.Linear(latent_dim, hidden))
        self.position = nn.Parameter(torch.zeros(1, tokens, hidden))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.project(latents) + self.position


class MemoryInput(nn.Module):
    """f_vis: stored memory -> memory tokens (B, N, h); None for the "no latent" ablation.

    ``image_size`` set: the stored memory is a uint8 camera image, encoded by a trainable
    `ImageTokens` CNN (the "raw image encoder" latent source); otherwise it is (B, N, D) WA
    feature tokens.
    """

    def __init__(self, latent_shape: tuple[int, int] | None, hidden: int,
                 image_size: int | None = None) -> None:
        super().__init__()
        self.image: ImageTokens | None = None
        if image_size is not None:
            self.image = ImageTokens(image_size)
            latent_shape = (self.image.tokens, IMAGE_TOKEN_DIM)
        self.tokens = 0 if latent_shape is None else latent_shape[0]
        self.project = None if latent_shape is None else LatentMemory(
            latent_shape[1], latent_shape[0], hidden)

    def forward(self, memory: torch.Tensor | None) -> torch.Tensor | None:
        if self.project is None or memory is None:
            return None
        return self.project(memory if self.image is None else self.image(memory))


class HaloActor(nn.Module):
    """pi_theta(s_t) -> refined chunk (B, C, A) in [-1, 1].

    Args:
        state_dim: size of the robot state s^r.
        action_dim: A.
        chunk: C.
        latent_shape: (N, D) of the latent source, or None for the "no latent" ablation.
        image_size: set for the raw-image latent source (see `MemoryInput`).
        hidden: token width (paper: 512).
        heads: attention heads.
        decoder: widths of the shared token-wise MLP after ``hidden`` (paper: 1024, 512).
        fusion: one of `FUSIONS`.
        residual: if > 0, the chunk is the reference plus a correction bounded by ``residual``
            (the decoder's last layer starts at zero, so the untrained actor reproduces the
            WA reference); 0 decodes the chunk directly, as in the paper.
    """

    def __init__(self, state_dim: int, action_dim: int, chunk: int,
                 latent_shape: tuple[int, int] | None, hidden: int = 512, heads: int = 8,
                 decoder: Sequence[int] = (1024, 512), fusion: str = "hybrid",
                 image_size: int | None = None, residual: float = 0.0) -> None:
        super().__init__()
        self.chunk, self.action_dim = chunk, action_dim
        self.state_token = nn.Linear(state_dim, hidden)
        self.reference_token = nn.Linear(action_dim, hidden)
        self.action_queries = nn.Parameter(torch.randn(1, chunk, hidden) * 0.02)
        self.memory = MemoryInput(latent_shape, hidden, image_size)
        self.fusion = Fusion(fusion, hidden, heads, self.memory.tokens)
        self.decode = mlp([hidden, *decoder, action_dim])
        self.residual = residual
        if residual:
            zero_last(self.decode)

    def forward(self, state: torch.Tensor, reference: torch.Tensor,
                latents: torch.Tensor | None) -> torch.Tensor:
        """state (B, S), reference chunk (B, C, A), latents (B, N, D) or None."""
        queries = torch.cat([
            self.state_token(state)[:, None],
            self.action_queries + self.reference_token(reference),
        ], dim=1)
        memory = self.memory(latents)
        fused = self.fusion(queries, memory)
        out = torch.tanh(self.decode(fused[:, 1:]))
        if self.residual:
            return (reference + self.residual * out).clamp(-1.0, 1.0)
        return out


class HaloCritic(nn.Module):
    """Twin Q_psi_j(s_t, a_{t:t+C-1}); query tokens [state, C reference, C candidate].

    Args: as `HaloActor`, with ``q_head`` the Q-head widths after ``hidden`` (paper: 2048,
    1024, 512).
    """

    def __init__(self, state_dim: int, action_dim: int, chunk: int,
                 latent_shape: tuple[int, int] | None, hidden: int = 512, heads: int = 8,
                 q_head: Sequence[int] = (2048, 1024, 512), fusion: str = "hybrid",
                 image_size: int | None = None) -> None:
        super().__init__()
        self.state_token = nn.Linear(state_dim, hidden)
        self.reference_token = nn.Linear(action_dim, hidden)
        self.candidate_token = nn.Linear(action_dim, hidden)
        # Which of the 2C+1 tokens is which, and where in the chunk it sits.
        self.position = nn.Parameter(torch.zeros(1, 2 * chunk + 1, hidden))
        self.memory = MemoryInput(latent_shape, hidden, image_size)
        self.fusion = Fusion(fusion, hidden, heads, self.memory.tokens)
        self.q1 = mlp([hidden, *q_head, 1])
        self.q2 = mlp([hidden, *q_head, 1])

    def forward(self, state: torch.Tensor, reference: torch.Tensor, latents: torch.Tensor | None,
                action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (Q_1, Q_2), each (B,)."""
        queries = torch.cat([
            self.state_token(state)[:, None],
            self.reference_token(reference),
            self.candidate_token(action),
        ], dim=1) + self.position
        memory = self.memory(latents)
        pooled = self.fusion(queries, memory).mean(dim=1)
        return self.q1(pooled).squeeze(-1), self.q2(pooled).squeeze(-1)
