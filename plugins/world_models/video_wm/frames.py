"""Observations <-> latent frame tokens: the frame autoencoder and the state tokens.

An image goes through a convolutional VAE (the built-in WA model's `ImageVAE` design: 64x64
to an 8x8 grid of ``latent_dim`` cells), and ``patch`` x ``patch`` cells become one token. The
robot state, which the env contract requires and the WA policy reads, is normalised and cut
into tokens of the same width: it needs no learned codec, and the world model predicts it as
it predicts the image tokens. Image latents are scaled to unit variance (measured once the
autoencoder is trained), so that the flow's noise and the data have the same scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from warl.core.envs.contract import STATE_KEY, rgb_key
from warl.plugins.world_models.wa_small.networks import ImageVAE

GRID = ImageVAE.GRID


class CodecSettings(Protocol):
    """What the codec reads of a model's config (`VideoWMConfig`, `WAMSmallConfig`)."""

    @property
    def camera(self) -> str: ...
    @property
    def latent_dim(self) -> int: ...
    @property
    def patch(self) -> int: ...
    @property
    def kl_weight(self) -> float: ...
    @property
    def token_dim(self) -> int: ...
    @property
    def image_tokens(self) -> int: ...


class FrameCodec(nn.Module):
    """``encode``: observations -> (B, N, token_dim); ``decode``: the inverse."""

    state_mean: torch.Tensor
    state_std: torch.Tensor
    latent_scale: torch.Tensor

    def __init__(self, config: CodecSettings, state_dim: int) -> None:
        super().__init__()
        self.cfg, self.state_dim = config, state_dim
        self.vae = ImageVAE(config.latent_dim)
        self.state_tokens = math.ceil(state_dim / config.token_dim)
        self.register_buffer("state_mean", torch.zeros(state_dim))
        self.register_buffer("state_std", torch.ones(state_dim))
        self.register_buffer("latent_scale", torch.ones(()))

    @property
    def image_key(self) -> str:
        return rgb_key(self.cfg.camera)

    @property
    def tokens(self) -> int:
        return self.cfg.image_tokens + self.state_tokens

    def set_state_normalization(self, states: np.ndarray) -> None:
        self.state_mean.copy_(torch.as_tensor(states.mean(0), dtype=torch.float32))
        self.state_std.copy_(torch.as_tensor(states.std(0) + 1e-3, dtype=torch.float32))

    # -- tensors -------------------------------------------------------------------------------
    def image_tensor(self, images: Any) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1]."""
        x = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
        return x.permute(0, 3, 1, 2).float() / 255.0

    def _patchify(self, cells: torch.Tensor) -> torch.Tensor:
        """(B, 64, D) in row-major grid order -> (B, (8/p)^2, p*p*D)."""
        b, _, d = cells.shape
        p, side = self.cfg.patch, GRID // self.cfg.patch
        grid = cells.reshape(b, side, p, side, p, d).permute(0, 1, 3, 2, 4, 5)
        return grid.reshape(b, side * side, p * p * d)

    def _unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        b = tokens.shape[0]
        p, side, d = self.cfg.patch, GRID // self.cfg.patch, self.cfg.latent_dim
        grid = tokens.reshape(b, side, side, p, p, d).permute(0, 1, 3, 2, 4, 5)
        return grid.reshape(b, GRID * GRID, d)

    # -- codec ---------------------------------------------------------------------------------
    def encode(self, observations: Mapping[str, Any]) -> torch.Tensor:
        """Latent tokens (B, N, token_dim): image tokens, then state tokens."""
        device = self.state_mean.device
        mean, _, _ = self.vae.encode(self.image_tensor(observations[self.image_key]).to(device))
        image = self._patchify(mean) * self.latent_scale
        return torch.cat([image, self.state_to_tokens(observations[STATE_KEY])], dim=1)

    def state_to_tokens(self, state: Any) -> torch.Tensor:
        s = torch.as_tensor(np.asarray(state) if not torch.is_tensor(state) else state,
                            dtype=torch.float32, device=self.state_mean.device)
        s = (s - self.state_mean) / self.state_std
        pad = self.state_tokens * self.cfg.token_dim - self.state_dim
        return F.pad(s, (0, pad)).reshape(len(s), self.state_tokens, self.cfg.token_dim)

    def decode(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """Observations from tokens (B, N, token_dim): the image uint8 (B, H, W, 3), the state
        in env units."""
        image_tokens = tokens[:, :self.cfg.image_tokens] / self.latent_scale
        logits = self.vae.decode(self._unpatchify(image_tokens))
        image = (torch.sigmoid(logits).permute(0, 2, 3, 1) * 255).round().to(torch.uint8)
        state = tokens[:, self.cfg.image_tokens:].reshape(len(tokens), -1)[:, :self.state_dim]
        return {self.image_key: image, STATE_KEY: state * self.state_std + self.state_mean}

    def autoencoder_loss(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruction (MSE in [0, 1]) and KL of a batch of images (B, 3, H, W)."""
        mean, logvar, _ = self.vae.encode(images)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        recon = F.mse_loss(torch.sigmoid(self.vae.decode(z)), images)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).mean()
        return {"recon": recon, "kl": self.cfg.kl_weight * kl}

    @torch.no_grad()
    def measure_latent_scale(self, images: torch.Tensor) -> float:
        """Set the image latents' scale to 1 / their standard deviation on ``images``."""
        mean, _, _ = self.vae.encode(images)
        std = float(mean.std())
        self.latent_scale.fill_(1.0 / max(std, 1e-6))
        return std
