"""`grpo`: chunk-level GRPO on a stochastic head over the frozen WA model's reference chunk.

The policy is a Gaussian over the (C, A) chunk (`GaussianChunkHead`): its mean is the WA
reference plus a learned bounded shift that starts at zero, so before any update it acts as
WA-base plus exploration noise. Training is the stock on-policy loop: groups of G episodes from
one initial state, each episode sampling its own noise; the update is masked GRPO
(`losses.masked_grpo_loss`) over ``epochs`` passes. Evaluations act with the mean.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.training.learners.chunk_td3 import same_config
from warl.core.training.loops import on_policy
from warl.core.world_model import WAOutput, WorldActionModel, check_chunk, torch_device
from warl.plugins.algorithms.grpo.config import GRPOConfig, make_config
from warl.plugins.algorithms.grpo.losses import (
    discounted_returns,
    group_advantages,
    masked_grpo_loss,
)
from warl.plugins.algorithms.grpo.networks import GaussianChunkHead
from warl.plugins.algorithms.wa_head.policy import episode_seed, head_features

NAME = "grpo"


def _inputs(fields: Mapping[str, Any], device: torch.device, batch: bool = False
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    def get(key: str) -> torch.Tensor:
        t = torch.as_tensor(fields[key], device=device).float()
        return t[None] if batch else t

    return get("state"), get("reference"), get("latents")


class GaussianPolicy:
    """A rollout worker's copy of the head. Exploring, it samples the chunk and returns the
    raw sample and its log-probability as extras (the env gets the sample clipped to the
    action bounds); otherwise it acts with the mean."""

    def __init__(self, head: GaussianChunkHead, config: GRPOConfig) -> None:
        self.head, self.config = head, config
        self.head.eval()
        self.generator = torch.Generator().manual_seed(config.seed)

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(episode_seed(self.config.seed, seed))

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.head.load_state_dict(state)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        fields = head_features(observation, wa_output, self.config.chunk, NAME)
        fields.pop("tail")
        return fields

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> Any:
        return self.act_on(self.features(observation, wa_output), explore)

    def act_on(self, fields: Mapping[str, np.ndarray], explore: bool = False) -> Any:
        """The chunk (and, exploring, its extras) for an RL state already computed."""
        device = next(self.head.parameters()).device
        with torch.no_grad():
            dist = self.head(*_inputs(fields, device, batch=True))
            if not explore:
                return dist.mean[0].clamp(-1.0, 1.0).cpu().numpy().astype(np.float32)
            sample = dist.sample(self.generator)
            log_prob = dist.log_prob(sample)
        chunk = sample[0].clamp(-1.0, 1.0).cpu().numpy().astype(np.float32)
        return chunk, {"sample": sample[0].cpu().numpy().astype(np.float32),
                       "log_prob": log_prob[0].cpu().numpy().astype(np.float32)}


class GRPO:
    """The `grpo` algorithm plugin; see `GRPOConfig` for every setting."""

    needs = frozenset({"wa_model"})

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config = c = make_config(settings)
        check_chunk(c.chunk, wa_model, NAME)
        self.chunk = c.chunk
        self.group_size, self.groups_per_update = c.group_size, c.groups_per_update
        self.device = torch_device()
        torch.manual_seed(c.seed)
        self.head = GaussianChunkHead(
            state_dim=int(wa_model.observation_shapes[STATE_KEY][0]),
            latent_dim=int(wa_model.latent_shape[1]), chunk=c.chunk,
            action_dim=wa_model.action_dim, hidden=c.hidden, layers=c.layers, scale=c.scale,
            init_std=c.init_std, min_std=c.min_std, learn_std=c.learn_std,
            noise_correlation=c.noise_correlation).to(self.device)
        self.optimizer = torch.optim.Adam(
            [p for p in self.head.parameters() if p.requires_grad], lr=c.lr)
        self.updates = 0
        self._policy = GaussianPolicy(self.head, c)

    make_config = staticmethod(make_config)

    @staticmethod
    def default_config() -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return make_config({}).to_dict()

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> Any:
        return self._policy.act(observation, wa_output, explore)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        return self._policy.features(observation, wa_output)

    def make_policy(self) -> GaussianPolicy:
        return GaussianPolicy(copy.deepcopy(self.head), self.config)

    def policy_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.head.state_dict().items()}

    # --- learning ---------------------------------------------------------------------------
    def train(self, session: Any) -> None:
        """Groups of episodes from one initial state, then a masked GRPO update."""
        on_policy(session, self, same_start=True)

    def update_on_policy(self, batch: Any) -> dict[str, float]:
        """``epochs`` passes of masked GRPO over one batch of groups (see `losses`)."""
        c = self.config
        batch = batch.to(self.device)
        trajectory, group = batch["trajectory"], batch["group"]
        # One return and one group per trajectory (rows are in trajectory order): the group
        # mean is over trajectories, not decisions.
        _, counts = torch.unique_consecutive(trajectory, return_counts=True)
        first = torch.cumsum(counts, 0) - counts
        groups = group[first]
        returns = discounted_returns(batch["reward"].float(), batch["steps"], trajectory,
                                     c.gamma) if c.gamma < 1.0 else \
            batch["episode_return"][first].float()
        advantage = group_advantages(returns, groups, c.normalize_advantage)[trajectory]
        inputs = _inputs(batch["obs"], self.device)
        sample, old = batch["extras", "sample"].float(), batch["extras", "log_prob"].float()
        metrics: dict[str, float] = {}
        self.head.train()
        for _ in range(c.epochs):
            log_prob = self.head(*inputs).log_prob(sample)
            loss, metrics = masked_grpo_loss(log_prob, old, advantage, batch["valid"],
                                             trajectory, c.clip)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.head.parameters(), c.max_grad_norm)
            self.optimizer.step()
            self.updates += 1
        self.head.eval()
        return {"policy_loss": float(loss.detach()), **metrics,
                "std": float(self.head.log_std.detach().exp().mean()),
                "advantage_abs": float(advantage.abs().mean()),
                "batch_success": float(batch["episode_success"][first].float().mean()),
                "updates": c.epochs}

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "head": self.head.state_dict(),
                "optimizer": self.optimizer.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        same_config(state.get("config", {}), self.config.to_dict(), NAME)
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])
