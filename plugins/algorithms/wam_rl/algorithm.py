"""`wam-rl`: WAM-RL (sections 3.2-3.4): the joint WA model's actor and world model co-evolve
through online interaction.

Each batch of real episodes (the stock on-policy loop) makes two updates:

1. **Actor** (section 3.4, equation 12): the Flow-SDE policy gradient of the flow head, the
   advantage of decision t from the reconstruction reward alone,
   r_t = sim([o_t, o^_{t+C}], [o_t, o_{t+C}]): o^_{t+C} is the frame the video generator
   imagined (decoded) for the end of the chunk when the actor chose it, o_{t+C} the frame
   the robot then reached (the next decision's observation). With ``reward_gamma`` 0 the
   advantage is r_t itself, normalised over the batch (mean 0, spread 1): the batch mean is
   the baseline, as no critic is trained. The task's success never enters.
2. **World model** (section 3.3, equation 10): ``sft_steps`` video-SFT steps on the frames of
   the successful trajectories seen so far (each frame and the K frames that followed it,
   one decision apart), with lambda_KL times the latent KL against the frozen pretrained
   generator (`sft.VideoSFT`).

The joint model must be one whose actor reads its video generator (`warl/wam-small`), and
the chunk C must be its frame stride, so that each imagined frame is a frame the env shows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import ConfigError, ContractError
from warl.core.reward import FUTURES
from warl.core.training.loops import on_policy
from warl.core.world_model import WorldActionModel
from warl.plugins.algorithms.wam_rl.config import wam_rl_config
from warl.plugins.algorithms.wam_rl.pi_rl import FlowSDEAlgorithm, per_trajectory
from warl.plugins.algorithms.wam_rl.sft import VideoSFT

NAME = "wam-rl"
JOINT = ("imagine", "video_loss", "codec", "dit", "decode")


def reward_to_go(reward: torch.Tensor, trajectory: torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = sum_k gamma^k r_{t+k} within each trajectory (rows in trajectory order)."""
    if gamma == 0.0:
        return reward.clone()
    out = torch.zeros_like(reward)
    running = 0.0
    for i in range(len(reward) - 1, -1, -1):
        if i == len(reward) - 1 or trajectory[i + 1] != trajectory[i]:
            running = 0.0
        running = float(reward[i]) + gamma * running
        out[i] = running
    return out


class WAMRL(FlowSDEAlgorithm):
    """The `wam-rl` plugin; see `WAMRLConfig` and `FlowPGConfig` for every setting."""

    default_wa_model = "warl/wam-small"

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        own, learner = wam_rl_config(settings)
        missing = [a for a in JOINT if not hasattr(wa_model, a)]
        if missing:
            raise ContractError(
                f"{NAME} needs a joint world-action model whose actor reads its video world "
                f"model ({missing} missing from "
                f"{wa_model.config.get('model_id', type(wa_model).__name__)!r}); use "
                f"--wa-model warl/wam-small")
        stride = int(wa_model.cfg.frame_stride)  # type: ignore[attr-defined]
        if learner.chunk != stride:
            raise ConfigError(
                f"{NAME}: chunk ({learner.chunk}) must be the WA model's frame stride "
                f"(horizon / future = {stride}): the reward compares the frame imagined for "
                f"the chunk's end with the one the next decision observes; --set chunk={stride}")
        super().__init__(wa_model, learner, NAME, frames=wa_model.codec.image_key)  # type: ignore[attr-defined]
        self.own = own
        from warl.core.registry import default_registry

        registry = default_registry()
        spec = registry.get(own.similarity, kind="reward")
        self.similarity = registry.make(spec.id, kind="reward", **own.similarity_settings)
        if getattr(self.similarity, "inputs", None) != FUTURES:
            raise ConfigError(f"{NAME}: similarity {spec.id!r} scores single frames, not "
                              f"imagined against executed futures; use one tagged 'futures' "
                              f"(warl/pixel-mse, warl/flow-mse, warl/dinov2, warl/vjepa2)")
        self.sft = VideoSFT(wa_model, own.sft_lr, own.kl_weight, own.ema_decay) \
            if own.train_world_model else None
        # Successful (current latents, K future latents) pairs for video SFT, the newest kept.
        self.pairs: deque[tuple[torch.Tensor, torch.Tensor]] = deque(maxlen=own.sft_capacity)
        self.sft_generator = torch.Generator().manual_seed(learner.seed)
        self.sft_steps = 0

    @staticmethod
    def make_config(settings: Mapping[str, Any]) -> Any:
        return wam_rl_config(settings)

    @staticmethod
    def default_config() -> dict[str, Any]:
        own, learner = wam_rl_config({})
        return {**learner.to_dict(), **own.to_dict()}

    def train(self, session: Any) -> None:
        on_policy(session, self, same_start=False)

    # --- the reconstruction reward ----------------------------------------------------------
    def reconstruction_reward(self, batch: Any) -> torch.Tensor:
        """r_t per decision (see the module doc)."""
        model: Any = self.wa_model
        # The imagined frames lie at t + s, t + 2s, ..: the chunk's end t + C is the first
        # (C = s, checked at construction).
        with torch.no_grad():
            imagined = model.decode(batch["obs", "imagined"][:, 0].float())[model.codec.image_key]
        now = batch["obs", "frame"].cpu().numpy().astype(np.uint8)
        executed = batch["next", "frame"].cpu().numpy().astype(np.uint8)
        dreamt = imagined.cpu().numpy().astype(np.uint8)
        score = self.similarity.similarity(np.stack([now, dreamt], 1), np.stack([now, executed], 1))
        return torch.as_tensor(np.asarray(score, dtype=np.float32))

    # --- video SFT --------------------------------------------------------------------------
    def add_successes(self, batch: Any) -> int:
        """Every decision of a successful trajectory becomes a (frame, next K frames) pair."""
        model: Any = self.wa_model
        k, key = model.cfg.future, model.codec.image_key
        first, trajectory = per_trajectory(batch)
        success = batch["episode_success"][first]
        added = 0
        for n in torch.nonzero(success).flatten().tolist():
            rows = torch.nonzero(trajectory == n).flatten()
            frames = torch.cat([batch["obs", "frame"][rows], batch["next", "frame"][rows[-1:]]])
            states = torch.cat([batch["obs", "state"][rows], batch["next", "state"][rows[-1:]]])
            with torch.no_grad():
                latents = model.encode({key: frames.numpy(), STATE_KEY: states.numpy()})
            last = len(latents) - 1
            for i in range(len(rows)):
                ahead = [min(i + j, last) for j in range(1, k + 1)]
                self.pairs.append((latents[i], latents[ahead]))
                added += 1
        return added

    def video_sft(self) -> dict[str, float]:
        if self.sft is None or not self.pairs or not self.own.sft_steps:
            return {}
        model: Any = self.wa_model
        totals: dict[str, float] = {}
        for _ in range(self.own.sft_steps):
            picks = torch.randint(len(self.pairs), (self.own.sft_batch,),
                                  generator=self.sft_generator).tolist()
            current = torch.stack([self.pairs[i][0] for i in picks])
            future = torch.stack([self.pairs[i][1] for i in picks])
            step = self.sft.step(current, future, [model.instruction] * len(picks),
                                 self.sft_generator)
            for name, value in step.items():
                totals[name] = totals.get(name, 0.0) + value / self.own.sft_steps
            self.sft_steps += 1
        return totals

    # --- the update -------------------------------------------------------------------------
    def update_on_policy(self, batch: Any) -> dict[str, float]:
        reward = self.reconstruction_reward(batch)
        returns = reward_to_go(reward, batch["trajectory"], self.own.reward_gamma)
        advantage = returns - returns.mean()
        if self.config.normalize_advantage:
            advantage = advantage / (returns.std(unbiased=False) + 1e-6)
        first, _ = per_trajectory(batch)
        success = batch["episode_success"][first].float()
        metrics = self.learner.update(batch, advantage)
        added = self.add_successes(batch) if self.sft is not None else 0
        return {**metrics, **self.video_sft(), "reconstruction_reward": float(reward.mean()),
                **_separation(reward, batch["episode_success"]),
                "batch_success": float(success.mean()), "sft_pairs": float(len(self.pairs)),
                "sft_added": float(added)}

    # --- state ------------------------------------------------------------------------------
    def own_state(self) -> dict[str, Any]:
        pairs = list(self.pairs)
        model: Any = self.wa_model
        return {"sft": self.sft.state_dict() if self.sft is not None else None,
                "video": model.dit.state_dict(),  # what SFT trains, as the head above
                "pairs": ([torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])]
                          if pairs else None),
                "sft_generator": self.sft_generator.get_state(), "sft_steps": self.sft_steps}

    def load_own_state(self, state: Mapping[str, Any]) -> None:
        model: Any = self.wa_model
        model.dit.load_state_dict(state["video"])
        if self.sft is not None and state.get("sft") is not None:
            self.sft.load_state_dict(state["sft"])
        self.pairs.clear()
        if state.get("pairs") is not None:
            current, future = state["pairs"]
            self.pairs.extend(zip(current, future, strict=True))
        self.sft_generator.set_state(state["sft_generator"])
        self.sft_steps = int(state["sft_steps"])


def _separation(reward: torch.Tensor, success: torch.Tensor) -> dict[str, float]:
    """The mean reward of the batch's successful and of its failed episodes' decisions (each
    where there are any): the reward's separation, the paper's figure 2."""
    out = {}
    for name, mask in (("reward_success", success), ("reward_failure", ~success)):
        if bool(mask.any()):
            out[name] = float(reward[mask].mean())
    return out
