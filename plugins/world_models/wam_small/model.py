"""`WAMSmall`: the joint world-action model whose actor reads its video generator's features.

infer(o_t, instruction):
    z_t = encode(o_t)                                  frame autoencoder + state tokens
    z^_{t+s..t+H}, F = imagine(z_t, instruction)       video DiT, ``video_sampling_steps``
    a_{t:t+H} = flow_head(pool(F), state)              rectified flow, ``flow_steps``

F are the output tokens of the video DiT's block ``feature_block`` at its last sampling
step, over the current and the imagined frames: the WA latents Z every other algorithm
receives. The imagined future latents are returned too (``features["imagined"]``), so that
WAM-RL can compare the imagined future with the executed one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import IncompatibleModelError
from warl.core.world_model import INTERMEDIATE_FEATURE, LATENTS_FEATURE, WAOutput
from warl.plugins.world_models.latent_video.flow import flow_loss, sample
from warl.plugins.world_models.video_wm.frames import FrameCodec
from warl.plugins.world_models.wa_small.networks import AttentionPool, FlowActionHead
from warl.plugins.world_models.wam_small.config import MODEL_ID, WAMSmallConfig
from warl.plugins.world_models.wam_small.video import InstructionDiT

IMAGINED_FEATURE = "imagined"  # WAOutput.features: the imagined future latents (B, K, N, D)
POOL_QUERIES = 4


class WAMSmall(nn.Module):
    """See the module doc. Also a frozen `WorldActionModel` for every other algorithm."""

    delta_scale: torch.Tensor

    def __init__(self, config: WAMSmallConfig, env_id: str, state_dim: int,
                 action_dim: int) -> None:
        super().__init__()
        self.cfg, self.env_id = config, env_id
        self.state_dim, self.action_dim = state_dim, action_dim
        self.horizon = config.horizon
        torch.manual_seed(config.seed)
        self.codec = FrameCodec(config, state_dim)
        self.dit = InstructionDiT(config, self.codec.tokens)
        self.frame_shape = (self.codec.tokens, config.token_dim)
        self.latent_shape = ((1 + config.future) * self.codec.tokens, config.width)
        self.pool = AttentionPool(config.width, POOL_QUERIES, config.hidden,
                                  self.latent_shape[0])
        self.state_proj = nn.Sequential(nn.Linear(state_dim, config.hidden), nn.SiLU())
        self.action_head = FlowActionHead(config.horizon, action_dim, 2 * config.hidden,
                                          config.hidden)
        # The scale of a future frame's change from the current one, measured on the demos.
        self.register_buffer("delta_scale", torch.ones(()))
        self.instruction = ""  # the task's, from the demonstrations (used when none is given)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.settings: dict[str, Any] = {}  # what it was asked for (`factory.load_wam_small`)
        self.metrics: dict[str, Any] = {}
        self.checkpoint_path: Path | None = None

    # -- protocol attributes -------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return {"model_id": MODEL_ID, "env_id": self.env_id, **self.cfg.to_dict()}

    @property
    def observation_keys(self) -> tuple[str, ...]:
        return (STATE_KEY, self.codec.image_key)

    @property
    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        size = self.cfg.image_size
        return {STATE_KEY: (self.state_dim,), self.codec.image_key: (size, size, 3)}

    @property
    def state_mean(self) -> torch.Tensor:
        return self.codec.state_mean

    @property
    def state_std(self) -> torch.Tensor:
        return self.codec.state_std

    def freeze(self) -> WAMSmall:
        self.requires_grad_(False)
        return self.eval()

    def seed(self, seed: int) -> None:
        self.generator.manual_seed(int(seed))

    # -- frames --------------------------------------------------------------------------------
    def encode(self, observations: Mapping[str, Any]) -> torch.Tensor:
        """The current frame's latent tokens (B, N, D)."""
        for key in self.observation_keys:
            if key not in observations:
                raise IncompatibleModelError(
                    f"{MODEL_ID} (trained for {self.env_id!r}) reads observation {key!r}, but "
                    f"the batch has only {sorted(observations)}")
            got = tuple(np.shape(observations[key]))
            if got[1:] != self.observation_shapes[key]:
                raise IncompatibleModelError(
                    f"{MODEL_ID}: observation {key!r} must be a batch of shape (B, "
                    f"{', '.join(map(str, self.observation_shapes[key]))}), got {got}")
        return self.codec.encode(observations)

    def decode(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        """Frames (uint8 (B, H, W, 3)) and states from latent tokens (B, N, D)."""
        return self.codec.decode(latents)

    # -- the video generator -------------------------------------------------------------------
    def instructions(self, instruction: str | Sequence[str], batch: int) -> list[str]:
        if isinstance(instruction, str):
            return [instruction or self.instruction] * batch
        if len(instruction) != batch:
            raise ValueError(f"{MODEL_ID}: {len(instruction)} instructions for a batch of {batch}")
        return [text or self.instruction for text in instruction]

    def video_noise(self, batch: int, device: torch.device) -> torch.Tensor:
        shape = (batch, self.cfg.future, *self.frame_shape)
        if self.cfg.video_noise == "zero":
            return torch.zeros(shape, device=device)
        return torch.randn(shape, generator=self.generator).to(device)

    def imagine(self, current: torch.Tensor, instructions: Sequence[str],
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(future latents (B, K, N, D), the actor's features (B, L, width)) from the current
        frame's latents (B, N, D). Differentiable: no ``no_grad`` here (WAM-RL's KL term
        backpropagates through the features)."""
        context = current[:, None]
        if noise is None:
            noise = self.video_noise(len(current), current.device)
        last: list[torch.Tensor] = []

        def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out, features = self.dit(context, x, t, instructions)
            last[:] = [features]
            return out

        target = sample(velocity, noise, self.cfg.video_sampling_steps, self.cfg.prediction)
        return context + target * self.delta_scale, last[0]

    def video_loss(self, current: torch.Tensor, future: torch.Tensor,
                   instructions: Sequence[str], generator: torch.Generator | None = None
                   ) -> torch.Tensor:
        """Rectified-flow loss of the future latents (B, K, N, D) given the current (B, N, D):
        the generator learns each future frame's change from the current, scaled."""
        context = current[:, None]
        target = (future - context) / self.delta_scale
        return flow_loss(lambda x, t: self.dit(context, x, t, instructions)[0], target,
                         generator=generator, prediction=self.cfg.prediction)

    @torch.no_grad()
    def measure_delta_scale(self, current: torch.Tensor, future: torch.Tensor) -> float:
        std = float((future - current[:, None]).std())
        self.delta_scale.fill_(max(std, 1e-4))
        return std

    # -- the actor -----------------------------------------------------------------------------
    def condition(self, features: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The action head's input: pooled features and the normalised raw state."""
        normalized = (torch.as_tensor(state, dtype=torch.float32, device=features.device)
                      - self.state_mean) / self.state_std
        return torch.cat([self.pool(features), self.state_proj(normalized)], dim=-1)

    def action_loss(self, features: torch.Tensor, state: Any, actions: torch.Tensor
                    ) -> torch.Tensor:
        return self.action_head.loss(actions, self.condition(features, state))

    @torch.no_grad()
    def infer(self, observations: Mapping[str, Any],
              instruction: str | Sequence[str] = "",
              noise: torch.Tensor | None = None) -> WAOutput:
        """Reference chunk (B, H, A), latents = the actor's features, and the imagined future.
        ``noise`` is the action sampler's starting noise (B, H, A), by default the model's
        generator's."""
        was_training = self.training
        self.eval()
        current = self.encode(observations)
        imagined, features = self.imagine(current, self.instructions(instruction, len(current)))
        cond = self.condition(features, observations[STATE_KEY])
        if noise is None:
            noise = torch.randn((len(cond), self.horizon, self.action_dim),
                                generator=self.generator)
        actions = self.action_head.sample(cond, self.cfg.flow_steps, noise.to(cond.device))
        self.train(was_training)
        return WAOutput(ref_actions=actions.clamp(-1.0, 1.0), latents=features,
                        features={LATENTS_FEATURE: features, INTERMEDIATE_FEATURE: features,
                                  IMAGINED_FEATURE: imagined})

    def action_head_copy(self) -> nn.Module:
        """A trainable copy of the policy part (`warl.core.world_model.ActionHead`): HG-DAgger
        and PLD fine-tune it on this model's features like on `warl/wa-small`'s latents."""
        from warl.plugins.world_models.wa_small.head import WAActionHead

        return WAActionHead(self)

    def extra_state(self) -> dict[str, Any]:
        """What a checkpoint keeps beside the weights."""
        return {"instruction": self.instruction}
