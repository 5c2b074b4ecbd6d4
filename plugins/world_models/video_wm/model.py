"""`VideoWorldModel`: the `WorldModel` of `warl/video-wm` (encode, decode, predict, train).

Context convention of `predict` (B, T, N, D): with the anchor on, frame 0 is the episode's
first frame o_0 and frames 1.. the history up to now; the last ``context`` frames of the
history are the recent context, left-padded with its earliest frame at an episode's start
(at T = 1, o_0 is both anchor and context). With the anchor off, every frame is history.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from warl.core.envs.contract import STATE_KEY
from warl.plugins.world_models.latent_video.flow import flow_loss, sample
from warl.plugins.world_models.video_wm.config import MODEL_ID, VideoWMConfig
from warl.plugins.world_models.video_wm.denoiser import ActionConditionedDiT
from warl.plugins.world_models.video_wm.frames import FrameCodec


class VideoWorldModel(nn.Module):
    """Frames <-> latent tokens, and the next chunk of latent frames from context and actions.

    Attributes:
        horizon: H, actions per chunk.
        prediction_steps: K, new frames per chunk.
        latent_shape: (N, D): tokens per frame and their width.
    """

    delta_scale: torch.Tensor

    def __init__(self, config: VideoWMConfig, env_id: str, state_dim: int,
                 action_dim: int) -> None:
        super().__init__()
        self.cfg, self.env_id, self.action_dim = config, env_id, action_dim
        torch.manual_seed(config.seed)
        self.codec = FrameCodec(config, state_dim)
        self.dit = ActionConditionedDiT(config, self.codec.tokens, action_dim)
        self.horizon, self.prediction_steps = config.chunk, config.future
        self.latent_shape = (self.codec.tokens, config.token_dim)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.autoencoder_optimizer = torch.optim.AdamW(self.codec.vae.parameters(), lr=config.lr)
        self.dynamics_optimizer = torch.optim.AdamW(self.dit.parameters(), lr=config.lr,
                                                    weight_decay=0.0)
        # The scale of a future frame's change from the last context frame (``residual``),
        # measured on the training windows.
        self.register_buffer("delta_scale", torch.ones(()))
        self.metrics: dict[str, Any] = {}  # pretraining's, when loaded or trained
        self.checkpoint_path: Path | None = None

    @property
    def observation_keys(self) -> tuple[str, ...]:
        return (STATE_KEY, self.codec.image_key)

    @property
    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        size = self.cfg.image_size
        return {STATE_KEY: (self.codec.state_dim,), self.codec.image_key: (size, size, 3)}

    @property
    def config(self) -> dict[str, Any]:
        return {"id": MODEL_ID, "env_id": self.env_id, "action_dim": self.action_dim,
                "state_dim": self.codec.state_dim, **self.cfg.to_dict()}

    def seed(self, seed: int) -> None:
        self.generator.manual_seed(int(seed))

    # -- frames --------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, observations: Mapping[str, Any]) -> torch.Tensor:
        return self.codec.encode(observations)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.codec.decode(latents)

    # -- dynamics ------------------------------------------------------------------------------
    def split_context(self, context: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(anchor (B, 1, N, D) or None, recent (B, c, N, D)) from a context (B, T, N, D)."""
        if context.dim() != 4 or context.shape[2:] != self.latent_shape:
            n, d = self.latent_shape
            raise ValueError(f"{MODEL_ID}: context must be (B, T, {n}, {d}), got "
                             f"{tuple(context.shape)}")
        anchor = context[:, :1] if self.cfg.anchor else None
        history = context[:, 1:] if self.cfg.anchor and context.shape[1] > 1 else context
        recent = history[:, -self.cfg.context:]
        missing = self.cfg.context - recent.shape[1]
        if missing:
            recent = torch.cat([recent[:, :1].expand(-1, missing, -1, -1), recent], dim=1)
        return anchor, recent

    def _check_actions(self, actions: torch.Tensor) -> None:
        if actions.shape[1:] != (self.horizon, self.action_dim):
            raise ValueError(f"{MODEL_ID}: actions must be (B, {self.horizon}, "
                             f"{self.action_dim}), got {tuple(actions.shape)}")

    @torch.no_grad()
    def predict(self, context: torch.Tensor, actions: torch.Tensor,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """Future latents (B, K, N, D) after the chunk ``actions`` (B, H, A), sampled in
        ``sampling_steps`` Euler steps from ``noise`` (default: the model's generator)."""
        self._check_actions(actions)
        anchor, recent = self.split_context(context)
        b = len(context)
        if noise is None:
            noise = torch.randn((b, self.prediction_steps, *self.latent_shape),
                                generator=self.generator).to(context.device)
        level = torch.zeros(b, device=context.device)

        def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.dit(anchor, recent, x, t, level, actions)
            return out

        out = sample(velocity, noise, self.cfg.sampling_steps, self.cfg.prediction)
        return self._from_target(out, recent)

    def _to_target(self, future: torch.Tensor, recent: torch.Tensor) -> torch.Tensor:
        """What the flow generates: the frames, or (``residual``) their scaled change from
        the last (clean) context frame."""
        if not self.cfg.residual:
            return future
        return (future - recent[:, -1:]) / self.delta_scale

    def _from_target(self, target: torch.Tensor, recent: torch.Tensor) -> torch.Tensor:
        if not self.cfg.residual:
            return target
        return recent[:, -1:] + target * self.delta_scale

    @torch.no_grad()
    def measure_delta_scale(self, batch: Mapping[str, torch.Tensor]) -> float:
        """Set the residual's scale to the standard deviation of the change of the future
        frames from the last context frame in ``batch`` (training windows)."""
        _, recent = self.split_context(batch["context"])
        std = float((batch["future"] - recent[:, -1:]).std())
        self.delta_scale.fill_(max(std, 1e-4))
        return std

    @torch.no_grad()
    def rollout(self, first: torch.Tensor, chunks: torch.Tensor) -> torch.Tensor:
        """Chunk by chunk from o_0's latents (B, N, D) under ``chunks`` (B, M, H, A): every
        frame (B, 1 + M K, N, D), each chunk's prediction fed back as context."""
        frames = first[:, None]
        for m in range(chunks.shape[1]):
            frames = torch.cat([frames, self.predict(frames, chunks[:, m])], dim=1)
        return frames

    def dynamics_loss(self, anchor: torch.Tensor | None, recent: torch.Tensor,
                      future: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The rectified-flow loss of the future frames; the recent context corrupted by a
        random noise level when ``noisy_context`` (the anchor, a real frame also at rollout
        time, stays clean)."""
        b = len(future)
        target = self._to_target(future, recent)  # from the clean context
        level = torch.zeros(b, device=future.device)
        if self.cfg.noisy_context and self.cfg.context_noise > 0:
            level = torch.rand(b, device=future.device) * self.cfg.context_noise
            shape = (-1, 1, 1, 1)
            recent = ((1 - level.view(shape)) * recent
                      + level.view(shape) * torch.randn_like(recent))

        def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.dit(anchor, recent, x, t, level, actions)
            return out

        return flow_loss(velocity, target, how=self.cfg.time_sampling,
                         prediction=self.cfg.prediction)

    def _latent_batch(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The `WorldModel` contract's batch (raw ``obs`` (B, ...), ``future`` observations
        (B, K, ...), ``actions``) as latents: o_t is both anchor and context."""
        future = batch["future"]
        b, k = len(batch["actions"]), self.prediction_steps
        flat = {key: np.asarray(future[key]).reshape(b * k, *np.shape(future[key])[2:])
                for key in self.observation_keys}
        return {"context": self.encode(batch["obs"])[:, None],
                "future": self.encode(flat).reshape(b, k, *self.latent_shape),
                "actions": torch.as_tensor(np.asarray(batch["actions"]), dtype=torch.float32)}

    def train_step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One step of the autoencoder (``images``: (B, 3, H, W) in [0, 1]) or of the
        dynamics: ``context`` (B, T, N, D) latents in `predict`'s convention, ``future``
        (B, K, N, D), ``actions`` (B, H, A); or the contract's raw ``obs`` and ``future``
        observations, encoded first."""
        if "obs" in batch:
            batch = self._latent_batch(batch)
        self.train()
        if "images" in batch:
            losses = self.codec.autoencoder_loss(batch["images"])
            optimizer = self.autoencoder_optimizer
        else:
            self._check_actions(batch["actions"])
            anchor, recent = self.split_context(batch["context"])
            losses = {"flow": self.dynamics_loss(anchor, recent, batch["future"],
                                                 batch["actions"])}
            optimizer = self.dynamics_optimizer
        total = sum(losses.values(), torch.zeros(()))
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
        optimizer.step()
        return {name: float(value.detach()) for name, value in losses.items()}
