"""`pi-rl`: WAM-RL's actor-only baseline (pi_RL): the Flow-SDE policy gradient of the WA
model's own flow head on the task's sparse success, the world model untouched.

Groups of G episodes start from one initial state (the stock on-policy loop); a trajectory's
advantage is its success minus the group's mean, divided by the group's spread
(``normalize_advantage``): GRPO's critic-free estimator, which pi_RL offers beside PPO, and
the baseline `grpo` and `wovr` use here, so rows compare. Only the head (attention pooling,
state projection, flow velocity) is trained, in place in the WA model: the rollout workers
and the checkpoint carry the trained model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.training.learners.chunk_td3 import same_config
from warl.core.training.loops import on_policy
from warl.core.world_model import WAOutput, WorldActionModel, check_chunk
from warl.plugins.algorithms.grpo.losses import group_advantages
from warl.plugins.algorithms.wam_rl.config import FlowPGConfig, pi_rl_config
from warl.plugins.algorithms.wam_rl.learner import FlowPG
from warl.plugins.algorithms.wam_rl.policy import FlowHead, FlowSDEPolicy, copy_policy

NAME = "pi-rl"


def per_trajectory(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(index of each trajectory's first row, each row's trajectory) of an on-policy batch."""
    trajectory = batch["trajectory"]
    _, counts = torch.unique_consecutive(trajectory, return_counts=True)
    return torch.cumsum(counts, 0) - counts, trajectory


class FlowSDEAlgorithm:
    """What `pi-rl` and `wam-rl` share: the head, the learner, the rollout policy, the state.
    ``frames``: the camera key whose frames the RL state keeps (WAM-RL's reward needs them)."""

    needs = frozenset({"wa_model"})
    trains_wa_model = True

    def __init__(self, wa_model: WorldActionModel, config: FlowPGConfig, who: str,
                 frames: str | None = None) -> None:
        check_chunk(config.chunk, wa_model, who)
        self.wa_model, self.config, self.who = wa_model, config, who
        self.chunk, self.frames = config.chunk, frames
        self.group_size, self.groups_per_update = config.group_size, config.groups_per_update
        torch.manual_seed(config.seed)
        self.head = FlowHead(wa_model, who)
        self._policy = FlowSDEPolicy(self.head, config, frames)
        self.learner = FlowPG(self.head, config, self._policy.sigma)

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> Any:
        return self._policy.act(observation, wa_output, explore)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        return self._policy.features(observation, wa_output)

    def make_policy(self) -> FlowSDEPolicy:
        return copy_policy(self.head, self.config, self.frames)

    def policy_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.head.state_dict().items()}

    # --- state ------------------------------------------------------------------------------
    def own_state(self) -> dict[str, Any]:
        return {}

    def load_own_state(self, state: Mapping[str, Any]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        # The head's weights live in the WA model (which the session checkpoints too); they
        # are kept here as well, so that the algorithm's state alone restores what it trains.
        return {"config": self.config.to_dict(), "head": self.head.state_dict(),
                "learner": self.learner.state_dict(), **self.own_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        same_config(state.get("config", {}), self.config.to_dict(), self.who,
                    FlowPGConfig().to_dict())
        self.head.load_state_dict(state["head"])
        self.learner.load_state_dict(state["learner"])
        self.load_own_state(state)


class PiRL(FlowSDEAlgorithm):
    """The `pi-rl` plugin; see `FlowPGConfig` for every setting."""

    default_wa_model = "warl/wam-small"  # WAM-RL's baseline runs on the same joint model

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        super().__init__(wa_model, pi_rl_config(settings), NAME)

    make_config = staticmethod(pi_rl_config)

    @staticmethod
    def default_config() -> dict[str, Any]:
        return pi_rl_config({}).to_dict()

    def train(self, session: Any) -> None:
        on_policy(session, self, same_start=True)

    def update_on_policy(self, batch: Any) -> dict[str, float]:
        first, trajectory = per_trajectory(batch)
        success = batch["episode_success"][first].float()
        advantage = group_advantages(success, batch["group"][first],
                                     self.config.normalize_advantage)[trajectory]
        return {**self.learner.update(batch, advantage),
                "batch_success": float(success.mean())}
