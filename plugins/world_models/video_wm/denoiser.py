"""The action-conditioned diffusion transformer: WoVR's generator of the next chunk.

Its sequence is every latent token of [o_0 (the anchor), the c recent frames, the K noisy
future frames], each frame with its own position embedding; it predicts the flow velocity
of the future frames only. Actions enter through two channels (WoVR's dual-channel
injection): the chunk's pooled embedding is added to the flow time's embedding and drives
every block's AdaLN-Zero modulation (a global signal), and each block cross-attends to the
per-step action embeddings (so that frame k can read action k). The context's own noise
level, when the context is corrupted in training, is embedded into the same conditioning
vector, so the model knows how far to trust it.
"""

from __future__ import annotations

import torch
from torch import nn

from warl.plugins.world_models.latent_video.blocks import (
    DiTBlock,
    FinalLayer,
    VideoTokens,
    timestep_embedding,
)
from warl.plugins.world_models.video_wm.config import VideoWMConfig


def _embedder(width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))


class ActionConditionedDiT(nn.Module):
    """velocity(anchor, context, x_t, t, context_level, actions) -> (B, K, N, token_dim)."""

    def __init__(self, config: VideoWMConfig, tokens: int, action_dim: int) -> None:
        super().__init__()
        self.cfg, self.tokens_per_frame = config, tokens
        w = config.width
        frames = int(config.anchor) + config.context + config.future
        self.video = VideoTokens(config.token_dim, w, tokens, frames)
        self.time = _embedder(w)
        self.context_level = _embedder(w)
        self.action = nn.Sequential(nn.Linear(action_dim, w), nn.SiLU(), nn.Linear(w, w))
        self.action_pos = nn.Parameter(torch.randn(config.chunk, w) * 0.02)
        self.blocks = nn.ModuleList(DiTBlock(w, config.heads, cond_dim=w, cross_dim=w)
                                    for _ in range(config.depth))
        self.final = FinalLayer(w, w, config.token_dim)

    def forward(self, anchor: torch.Tensor | None, context: torch.Tensor, noisy: torch.Tensor,
                t: torch.Tensor, context_level: torch.Tensor, actions: torch.Tensor
                ) -> torch.Tensor:
        """anchor (B, 1, N, D) or None without the anchor; context (B, c, N, D); noisy
        future (B, K, N, D); t and context_level (B,); actions (B, H, A)."""
        if (anchor is None) == self.cfg.anchor:
            raise ValueError("give the anchor frame exactly when the model was built with one")
        parts = ([anchor] if anchor is not None else []) + [context, noisy]
        frames = torch.cat(parts, dim=1)
        h = self.video(frames)
        width = self.cfg.width
        steps = self.action(actions) + self.action_pos[:actions.shape[1]]
        cond = (self.time(timestep_embedding(t, width))
                + self.context_level(timestep_embedding(context_level, width))
                + steps.mean(dim=1))
        for block in self.blocks:
            h = block(h, cond, steps)
        k, n = noisy.shape[1], self.tokens_per_frame
        future = h[:, -k * n:]
        return self.final(future, cond).reshape(noisy.shape)
