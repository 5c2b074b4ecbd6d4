"""The Flow-SDE policy gradient of WAM-RL's equation 12 (and pi_RL's), given advantages.

    r_i = pi_theta(path_i | s_i) / pi_old(path_i | s_i)
    L = - mean_traj [ 1/|T| sum_{i in T} min(r_i A_i, clip(r_i, 1 - eps, 1 + eps) A_i) ]

The path's log-likelihood is the Flow-SDE sum over denoising steps (`flow_sde`); with
``ratio="per_dim"`` both are divided by the path's dimension count first. The clipped ratio
makes ``epochs`` passes over one on-policy batch safe (the first pass is exactly the
vanilla policy gradient). The masking and per-trajectory normalisation are `grpo`'s
(`masked_grpo_loss`): steps after a success are masked, each trajectory weighs the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from warl.plugins.algorithms.grpo.losses import masked_grpo_loss
from warl.plugins.algorithms.wam_rl.config import FlowPGConfig
from warl.plugins.algorithms.wam_rl.policy import FlowHead


class FlowPG:
    """The head's optimizer and the update."""

    def __init__(self, head: FlowHead, config: FlowPGConfig, sigma: torch.Tensor) -> None:
        self.head, self.config, self.sigma = head, config, sigma
        self.parameters = list(head.parameters())
        for p in self.parameters:
            p.requires_grad_(True)
        self.optimizer = torch.optim.Adam(self.parameters, lr=config.lr)
        self.updates = 0

    def update(self, batch: Any, advantage: torch.Tensor) -> dict[str, float]:
        """``epochs`` clipped-ratio passes over ``batch`` (one row per decision, with the
        ``path`` and ``log_prob`` extras the policy recorded) with per-row ``advantage``."""
        c = self.config
        latents, state = batch["obs", "latents"].float(), batch["obs", "state"].float()
        path, old = batch["extras", "path"].float(), batch["extras", "log_prob"].float()
        # ``per_dim``: log r / n, the ratio's geometric mean over the path's n dimensions.
        scale = 1.0 / path[0, 1:].numel() if c.ratio == "per_dim" else 1.0
        metrics: dict[str, float] = {}
        loss = torch.zeros(())
        self.head.train()
        for _ in range(c.epochs):
            log_prob = self.head.log_prob(latents, state, path, self.sigma) * scale
            loss, metrics = masked_grpo_loss(log_prob, old * scale, advantage, batch["valid"],
                                             batch["trajectory"], c.clip)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.parameters, c.max_grad_norm)
            self.optimizer.step()
            self.updates += 1
        self.head.eval()
        return {"policy_loss": float(loss.detach()), **metrics,
                "advantage_abs": float(advantage.abs().mean()), "updates": c.epochs}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])
