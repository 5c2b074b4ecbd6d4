"""The Flow-SDE policy over a WA model's own flow-matching action head.

`FlowHead` holds the model's policy part (attention pooling of Z, state projection, flow
head, state normalisation) **by reference**: the learner trains the WA model's head in place,
so the trained joint model is what the checkpoint keeps and what `warl eval --run` runs.
A rollout worker's `FlowSDEPolicy` has its own copy, loaded before each episode. Exploring,
it samples the denoising path with Flow-SDE and returns the path and its log-likelihood as
extras; evaluating, it executes the model's own reference chunk (the deterministic sampler),
so that an evaluated policy is the WA model as any algorithm would run it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import ContractError
from warl.core.world_model import WAOutput
from warl.plugins.algorithms.wa_head.policy import episode_seed
from warl.plugins.algorithms.wam_rl.config import FlowPGConfig
from warl.plugins.algorithms.wam_rl.flow_sde import sde_log_prob, sde_sample, sigmas


class FlowHead(nn.Module):
    """cond(Z, state) and the flow velocity of a WA model's head, with the model's weights."""

    state_mean: torch.Tensor
    state_std: torch.Tensor

    def __init__(self, model: Any, who: str) -> None:
        super().__init__()
        missing = [a for a in ("pool", "state_proj", "action_head", "state_mean", "state_std")
                   if not hasattr(model, a)]
        if missing:
            raise ContractError(
                f"{who} trains the WA model's flow-matching action head, but "
                f"{model.config.get('model_id', type(model).__name__)!r} has no {missing}; use "
                f"--wa-model warl/wam-small (or warl/wa-small)")
        self.pool, self.state_proj, self.action_head = \
            model.pool, model.state_proj, model.action_head
        self.register_buffer("state_mean", model.state_mean.detach().clone())
        self.register_buffer("state_std", model.state_std.detach().clone())
        self.horizon, self.action_dim = int(model.horizon), int(model.action_dim)
        self.flow_steps = int(model.cfg.flow_steps)

    def condition(self, latents: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        normalized = (state.float() - self.state_mean) / self.state_std
        return torch.cat([self.pool(latents.float()), self.state_proj(normalized)], dim=-1)

    def log_prob(self, latents: torch.Tensor, state: torch.Tensor, path: torch.Tensor,
                 sigma: torch.Tensor) -> torch.Tensor:
        """log pi(path | Z, state) of a batch of denoising paths (B, S + 1, H, A)."""
        cond = self.condition(latents, state).repeat_interleave(len(sigma), dim=0)
        return sde_log_prob(lambda x, t: self.action_head(x, t, cond), path, sigma)


class FlowSDEPolicy:
    """A rollout worker's policy (see the module doc). ``frames`` keeps the camera frame and
    the imagined future in the RL state: WAM-RL's reward and video SFT read them."""

    def __init__(self, head: FlowHead, config: FlowPGConfig, frames: str | None = None) -> None:
        self.head, self.config, self.frames = head, config, frames
        self.head.eval()
        self.sigma = sigmas(head.flow_steps, config.sde_noise, config.noise_schedule)
        self.generator = torch.Generator().manual_seed(config.seed)

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(episode_seed(self.config.seed, seed))

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.head.load_state_dict(state)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        if wa_output is None:
            raise ContractError("a Flow-SDE policy acts on a WA model's output; none was given")
        fields = {
            "state": np.asarray(observation[STATE_KEY], dtype=np.float32),
            "latents": wa_output.latents[0].detach().cpu().numpy().astype(np.float32),
            "reference": wa_output.ref_actions[0, :self.config.chunk].detach().cpu().numpy()
            .astype(np.float32),
        }
        if self.frames is not None:
            from warl.plugins.world_models.wam_small.model import IMAGINED_FEATURE

            fields["frame"] = np.asarray(observation[self.frames], dtype=np.uint8)
            fields["imagined"] = wa_output.features[IMAGINED_FEATURE][0].detach().cpu() \
                .numpy().astype(np.float32)
        return fields

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> Any:
        return self.act_on(self.features(observation, wa_output), explore)

    def act_on(self, fields: Mapping[str, np.ndarray], explore: bool = False) -> Any:
        if not explore:
            return np.asarray(fields["reference"], dtype=np.float32)
        head = self.head
        device = head.state_mean.device
        latents = torch.as_tensor(fields["latents"], device=device)[None]
        state = torch.as_tensor(fields["state"], device=device)[None]
        with torch.no_grad():
            cond = head.condition(latents, state)
            x0 = torch.randn((1, head.horizon, head.action_dim), generator=self.generator)
            path = sde_sample(lambda x, t: head.action_head(x, t, cond), x0.to(device),
                              self.sigma, self.generator)
            log_prob = head.log_prob(latents, state, path, self.sigma)
        chunk = path[0, -1, :self.config.chunk].clamp(-1.0, 1.0).cpu().numpy()
        return chunk.astype(np.float32), {
            "path": path[0].cpu().numpy().astype(np.float32),
            "log_prob": log_prob[0].cpu().numpy().astype(np.float32)}


def copy_policy(head: FlowHead, config: FlowPGConfig, frames: str | None) -> FlowSDEPolicy:
    return FlowSDEPolicy(copy.deepcopy(head), config, frames)
