"""The action-free video generator of `warl/wam-small` and the features its actor reads.

Its sequence is every latent token of [the current frame, the K noisy future frames]; the
conditioning vector, which drives every block's AdaLN-Zero modulation, is the flow time's
embedding plus the instruction's. No action enters: the generator imagines what the task
looks like from here, and the action head translates that imagination into a chunk
(WAM-RL's premise, after Genie Envisioner-ACT). ``forward`` also returns the output tokens of
block ``feature_block``: those are the actor's input, so any update of the generator moves
the actor.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import torch
from torch import nn

from warl.plugins.world_models.latent_video.blocks import (
    DiTBlock,
    FinalLayer,
    VideoTokens,
    timestep_embedding,
)
from warl.plugins.world_models.wam_small.config import WAMSmallConfig


def instruction_buckets(instruction: str, buckets: int) -> list[int]:
    """The instruction's words hashed into ``buckets`` (crc32: stable across processes,
    unlike ``hash``); the empty instruction is one bucket of its own, 0."""
    words = instruction.lower().split()
    return [1 + zlib.crc32(w.encode()) % (buckets - 1) for w in words] if words and buckets > 1 \
        else [0]


class InstructionEmbedding(nn.Module):
    """A bag of hashed words: the mean of their learned embeddings, (B,) strings -> (B, W)."""

    def __init__(self, buckets: int, width: int) -> None:
        super().__init__()
        self.buckets = buckets
        self.bag = nn.EmbeddingBag(buckets, width, mode="mean")

    def forward(self, instructions: Sequence[str]) -> torch.Tensor:
        ids: list[int] = []
        offsets: list[int] = []
        for text in instructions:
            offsets.append(len(ids))
            ids += instruction_buckets(text, self.buckets)
        device = self.bag.weight.device
        out: torch.Tensor = self.bag(torch.tensor(ids, device=device),
                                     torch.tensor(offsets, device=device))
        return out


class InstructionDiT(nn.Module):
    """velocity(current, x_t, t, instruction) -> (future velocity (B, K, N, D), features
    (B, (1 + K) N, width))."""

    def __init__(self, config: WAMSmallConfig, tokens: int) -> None:
        super().__init__()
        self.cfg, self.tokens_per_frame = config, tokens
        w = config.width
        self.video = VideoTokens(config.token_dim, w, tokens, 1 + config.future)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.instruction = InstructionEmbedding(config.instruction_buckets, w)
        self.blocks = nn.ModuleList(DiTBlock(w, config.heads, cond_dim=w)
                                    for _ in range(config.depth))
        self.final = FinalLayer(w, w, config.token_dim)
        self.feature_block = config.feature_block % config.depth

    def forward(self, current: torch.Tensor, noisy: torch.Tensor, t: torch.Tensor,
                instructions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """current (B, 1, N, D), noisy future (B, K, N, D), t (B,), one instruction per row."""
        h = self.video(torch.cat([current, noisy], dim=1))
        cond = self.time(timestep_embedding(t, self.cfg.width)) + \
            self.instruction(instructions)
        features = h
        for i, block in enumerate(self.blocks):
            h = block(h, cond)
            if i == self.feature_block:
                features = h
        k, n = noisy.shape[1], self.tokens_per_frame
        velocity = self.final(h[:, -k * n:], cond).reshape(noisy.shape)
        return velocity, features
