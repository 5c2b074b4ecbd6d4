"""`WASmall`: a joint world-action model (VAE latents, world head, flow-matching action head).

It is a `WorldActionModel` (frozen: observation -> reference chunk + latent tokens) and a
`WorldModel` (encode/decode, predict future latents under an action chunk, train step).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from warl.core.envs.contract import STATE_KEY, rgb_key
from warl.core.errors import IncompatibleModelError
from warl.core.world_model import INTERMEDIATE_FEATURE, LATENTS_FEATURE, WAOutput
from warl.plugins.world_models.wa_small.config import WASmallConfig
from warl.plugins.world_models.wa_small.networks import (
    AttentionPool,
    FlowActionHead,
    ImageVAE,
    StateVAE,
    WorldHead,
)

MODEL_ID = "warl/wa-small"
POOL_QUERIES = 4


class WASmall(nn.Module):
    """The built-in world-action model.

    Latent tokens Z: the image VAE's 8x8 grid per camera (``state+rgb``) followed by the state
    VAE's tokens. The action head reads Z through attention pooling plus the normalised state.

    Args:
        config: architecture settings.
        env_id: the env the weights are (to be) trained for.
        state_dim: size of the env's ``state`` observation.
        action_dim: A, the env's per-step action size.
    """

    state_mean: torch.Tensor
    state_std: torch.Tensor

    def __init__(self, config: WASmallConfig, env_id: str, state_dim: int,
                 action_dim: int) -> None:
        super().__init__()
        self.cfg = config
        self.env_id = env_id
        self.action_dim = action_dim
        self.horizon = config.horizon
        self.prediction_steps = config.prediction_steps
        self.state_dim = state_dim
        # The settings it was asked for (`factory.load_wa_small`): what names this model.
        self.settings: dict[str, Any] = {}
        keys = [STATE_KEY]
        shapes: dict[str, tuple[int, ...]] = {STATE_KEY: (state_dim,)}
        if config.uses_images:
            for camera in config.cameras:
                keys.append(rgb_key(camera))
                shapes[rgb_key(camera)] = (config.image_size, config.image_size, 3)
        self.observation_keys = tuple(keys)
        self.observation_shapes = shapes
        d = config.latent_dim
        n_image = len(config.cameras) * ImageVAE.GRID**2 if config.uses_images else 0
        self.latent_shape = (n_image + config.state_tokens, d)
        self.image_vae = ImageVAE(d) if config.uses_images else None
        self.state_vae = StateVAE(state_dim, config.state_tokens, d, config.hidden)
        self.pool = AttentionPool(d, POOL_QUERIES, config.hidden, self.latent_shape[0])
        self.state_proj = nn.Sequential(nn.Linear(state_dim, config.hidden), nn.SiLU())
        self.action_head = FlowActionHead(config.horizon, action_dim, 2 * config.hidden,
                                          config.hidden)
        self.world_head = WorldHead(self.latent_shape[0], d, config.horizon, action_dim,
                                    config.hidden, config.prediction_steps)
        # Normalisation statistics of the demonstrations, saved with the weights.
        self.register_buffer("state_mean", torch.zeros(state_dim))
        self.register_buffer("state_std", torch.ones(state_dim))
        self.generator = torch.Generator().manual_seed(config.seed)
        self._world_optimizer: torch.optim.Optimizer | None = None
        self.metrics: dict[str, Any] = {}  # pretraining numbers, kept with the checkpoint
        self.checkpoint_path: Path | None = None

    # -- protocol attributes -------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return {"model_id": MODEL_ID, "env_id": self.env_id, **self.cfg.to_dict()}

    @property
    def frozen(self) -> bool:
        return not any(p.requires_grad for p in self.parameters())

    def freeze(self) -> WASmall:
        self.requires_grad_(False)
        return self.eval()

    def seed(self, seed: int) -> None:
        self.generator.manual_seed(int(seed))

    def set_normalization(self, states: np.ndarray) -> None:
        self.state_mean.copy_(torch.as_tensor(states.mean(0)))
        # Constant dims (e.g. an unused second object) get std 1, not a division by ~0.
        std = states.std(0)
        self.state_std.copy_(torch.as_tensor(np.where(std < 1e-4, 1.0, std)))

    # -- encoding ------------------------------------------------------------------------------
    def prepare(self, observations: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Batched observations -> float tensors (state normalised, images in [0, 1] NCHW)."""
        out: dict[str, torch.Tensor] = {}
        batch = None
        for key in self.observation_keys:
            if key not in observations:
                raise IncompatibleModelError(
                    f"{MODEL_ID} (trained for {self.env_id!r}) reads observation {key!r}, but "
                    f"the batch has only {sorted(observations)}"
                )
            value = torch.as_tensor(np.asarray(observations[key]))
            want = self.observation_shapes[key]
            if value.ndim != len(want) + 1 or tuple(value.shape[1:]) != want:
                raise IncompatibleModelError(
                    f"{MODEL_ID}: observation {key!r} must be a batch of shape (B, "
                    f"{', '.join(map(str, want))}), got {tuple(value.shape)}; add a batch "
                    f"dimension with warl.core.world_model.batch_of(obs)"
                )
            if batch is not None and len(value) != batch:
                raise IncompatibleModelError(
                    f"{MODEL_ID}: observation keys have different batch sizes"
                )
            batch = len(value)
            if key == STATE_KEY:
                out[key] = (value.float() - self.state_mean) / self.state_std
            else:
                out[key] = value.permute(0, 3, 1, 2).float() / 255.0
        return out

    def _moments(self, x: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        means, logvars, inter = [], [], []
        if self.image_vae is not None:
            for camera in self.cfg.cameras:
                m, lv, h = self.image_vae.encode(x[rgb_key(camera)])
                means.append(m)
                logvars.append(lv)
                inter.append(h)
        m, lv, h = self.state_vae.encode(x[STATE_KEY])
        means.append(m)
        logvars.append(lv)
        intermediate = torch.cat(inter, 1) if inter else h
        return torch.cat(means, 1), torch.cat(logvars, 1), intermediate

    def _condition(self, latents: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.pool(latents), self.state_proj(state)], dim=-1)

    # -- WorldActionModel ----------------------------------------------------------------------
    @torch.no_grad()
    def infer(self, observations: Mapping[str, Any],
              instruction: str | Sequence[str] = "",
              noise: torch.Tensor | None = None) -> WAOutput:
        """Reference chunk (B, H, A) in the env's action units, latents (B, N, D), features.

        The instruction is accepted for the interface; this model is trained per task, so it
        does not condition on it. ``noise`` is the flow sampler's starting noise (B, H, A);
        by default it is drawn from the model's generator (`seed`).
        """
        was_training = self.training
        self.eval()
        x = self.prepare(observations)
        latents, _, intermediate = self._moments(x)
        cond = self._condition(latents, x[STATE_KEY])
        if noise is None:
            noise = torch.randn((len(latents), self.horizon, self.action_dim),
                                generator=self.generator)
        actions = self.action_head.sample(cond, self.cfg.flow_steps, noise.to(cond.device)
                                          ).clamp(-1.0, 1.0)
        self.train(was_training)
        return WAOutput(
            ref_actions=actions,
            latents=latents,
            features={LATENTS_FEATURE: latents, INTERMEDIATE_FEATURE: intermediate},
        )

    def action_head_copy(self) -> nn.Module:
        """A trainable copy of the policy part (`warl.core.world_model.ActionHead`)."""
        from warl.plugins.world_models.wa_small.head import WAActionHead

        return WAActionHead(self)

    # -- WorldModel ----------------------------------------------------------------------------
    def encode(self, observations: Mapping[str, Any]) -> torch.Tensor:
        return self._moments(self.prepare(observations))[0]

    def decode(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstructed observations: ``state`` in env units, images uint8 (B, H, W, 3)."""
        out: dict[str, torch.Tensor] = {}
        for key, logits in self._image_logits(latents).items():
            image = torch.sigmoid(logits).permute(0, 2, 3, 1)
            out[key] = (image * 255).round().to(torch.uint8)
        state = self.state_vae.decode(latents[:, -self.cfg.state_tokens:])
        out[STATE_KEY] = state * self.state_std + self.state_mean
        return out

    def _image_logits(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per camera key, the image VAE's decoded logits (B, 3, H, W) from its token grid."""
        if self.image_vae is None:
            return {}
        grid = ImageVAE.GRID**2
        return {rgb_key(camera): self.image_vae.decode(latents[:, i * grid:(i + 1) * grid])
                for i, camera in enumerate(self.cfg.cameras)}

    def predict(self, context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Future latents (B, K, N, D) from the last context frame and the chunk (B, H, A)."""
        if actions.shape[1:] != (self.horizon, self.action_dim):
            raise IncompatibleModelError(
                f"{MODEL_ID}: predict needs action chunks of shape (B, {self.horizon}, "
                f"{self.action_dim}), got {tuple(actions.shape)}"
            )
        return self.world_head(context[:, -1], actions)

    def train_step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One step of the world part (VAEs + world head) on a batch from `losses`' layout."""
        world = [p for name, p in self.named_parameters()
                 if not name.startswith(("action_head", "pool", "state_proj"))]
        if self._world_optimizer is None:
            for p in world:
                p.requires_grad_(True)
            self._world_optimizer = torch.optim.AdamW(world, lr=self.cfg.lr * 0.1)
        self.train()
        terms = self.losses(batch, action=False)
        total = sum(terms.values(), torch.zeros(()))
        self._world_optimizer.zero_grad()
        total.backward()
        self._world_optimizer.step()
        return {k: float(v.detach()) for k, v in terms.items()}

    # -- training ------------------------------------------------------------------------------
    def losses(self, batch: Mapping[str, Any], action: bool = True) -> dict[str, torch.Tensor]:
        """The pretraining losses on a batch of (obs, action chunk, future obs).

        ``batch`` holds ``obs`` (current observations), ``actions`` (B, H, A) and ``future``
        (observations at the K prediction steps, each (B, K, ...)).
        """
        cfg = self.cfg
        x = self.prepare(batch["obs"])
        mean, logvar, _ = self._moments(x)
        eps = torch.randn_like(mean)
        z = mean + eps * (0.5 * logvar).exp()
        recon = self._reconstruction(z, x)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).mean()
        with torch.no_grad():
            future = batch["future"]
            flat = {k: np.asarray(v).reshape(-1, *np.asarray(v).shape[2:])
                    for k, v in future.items()}
            target = self._moments(self.prepare(flat))[0].view(
                len(mean), cfg.prediction_steps, *self.latent_shape
            )
        actions = torch.as_tensor(np.asarray(batch["actions"]), dtype=torch.float32)
        # The world head learns on detached latents: its target is the encoder itself, and
        # letting it move both sides lets the latent scale run away.
        predicted = self.world_head(mean.detach(), actions)
        terms = {
            "recon": cfg.recon_weight * recon,
            "kl": cfg.kl_weight * kl,
            "world": cfg.world_weight * F.mse_loss(predicted, target),
        }
        if action:
            terms["action"] = self.action_head.loss(actions, self._condition(mean, x[STATE_KEY]))
        return terms

    def _reconstruction(self, z: torch.Tensor, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        loss = F.mse_loss(self.state_vae.decode(z[:, -self.cfg.state_tokens:]), x[STATE_KEY])
        for key, logits in self._image_logits(z).items():
            loss = loss + F.binary_cross_entropy_with_logits(logits, x[key])
        return loss
