"""The world model's training data: policy rollouts, and windows cut from them.

WoVR trains its world model on rollouts of the base policy, successes and failures alike,
so that it has seen both. ``policy`` chooses who acts: ``wa-base`` (the WA model for the
env, chunk by chunk, as the paper) or ``expert`` (the env's scripted expert, cheaper); each
episode adds Gaussian action noise of a level drawn from [0, ``action_noise``], so that the
set mixes clean and perturbed behaviour. Rollouts are stored in the demonstration layout
(`warl.core.demos`) and cached by env and settings.

A training window at time t is the anchor o_0, the history o_{t-c+1..t} (clamped at 0, as
`VideoWorldModel.split_context` pads it), the actions a_{t..t+H-1} and the future frames
o_{t+1..t+K}.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warl.core.checkpoints import demos_path
from warl.core.envs.contract import STATE_KEY, rgb_key
from warl.plugins.world_models.video_wm.config import VideoWMConfig

POLICIES = ("wa-base", "expert")


def env_kwargs(config: VideoWMConfig) -> dict[str, Any]:
    return {"cameras": [config.camera], "image_size": config.image_size}


class ChunkPolicy:
    """A WA model as a per-step policy: infer a chunk, play it out, infer again."""

    def __init__(self, wa_model: Any, instruction: str = "") -> None:
        self.wa_model, self.instruction = wa_model, instruction
        self.queue: list[np.ndarray] = []

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        if not self.queue:
            from warl.core.world_model import batch_of

            chunk = self.wa_model.infer(batch_of(obs), self.instruction).ref_actions[0]
            self.queue = list(chunk.detach().cpu().numpy())
        return self.queue.pop(0)


def noisy(policy: Callable[[Any], np.ndarray], std: float, low: np.ndarray, high: np.ndarray,
          rng: np.random.Generator) -> Callable[[Any], np.ndarray]:
    def act(obs: Any) -> np.ndarray:
        action = np.asarray(policy(obs), np.float32)
        return np.clip(action + rng.normal(0.0, std, action.shape), low, high).astype(np.float32)
    return act


TRAIN_SEEDS, EVAL_SEEDS = 20_000, 30_000


def record_rollouts(env_id: str, config: VideoWMConfig, policy: str, action_noise: float,
                    wa_settings: dict[str, Any], show_progress: bool = True,
                    episodes: int | None = None, first_seed: int = TRAIN_SEEDS) -> Path:
    """``episodes`` (default ``config.rollouts``) episodes of ``policy`` from env seeds
    ``first_seed + 1000 seed + i`` (cached by env and every setting)."""
    count = config.rollouts if episodes is None else episodes
    import warl
    from warl.core.demos import demo_writer, record_episode, scripted_expert
    from warl.core.progress import progress_bar

    if policy not in POLICIES:
        from warl.core.errors import ConfigError

        raise ConfigError(f"rollout policy {policy!r} is not one of {', '.join(POLICIES)}")
    settings = {"kind": "world-model rollouts", "policy": policy, "noise": action_noise,
                "episodes": count, "seed": config.seed, "first_seed": first_seed,
                "wa": wa_settings,
                **env_kwargs(config)}
    path = demos_path(env_id, settings)
    if path.is_file():
        return path
    env = warl.make(env_id, **env_kwargs(config))
    wa_model = None
    if policy == "wa-base":
        wa_model = warl.make("warl/wa-small", env=env_id, show_progress=show_progress,
                             **wa_settings)
    rng = np.random.default_rng(config.seed)
    partial = path.with_name(path.name + ".partial")  # renamed when complete
    partial.unlink(missing_ok=True)
    try:
        with demo_writer(partial, env_id, env_kwargs(config)) as writer, \
                progress_bar(f"rollouts {env_id}", count, show_progress) as advance:
            for i in range(count):
                base = ChunkPolicy(wa_model) if wa_model is not None else \
                    scripted_expert(env, env_id)
                act = noisy(base, float(rng.uniform(0.0, action_noise)), env.action_space.low,
                            env.action_space.high, rng)
                writer.add(record_episode(env, act, seed=first_seed + config.seed * 1000 + i))
                advance(1, success=f"{len(writer.successful)}/{i + 1}")
    finally:
        env.close()
    partial.rename(path)
    return path


class Episodes:
    """Frames, states and actions of every rollout in a file, in memory."""

    def __init__(self, path: Path, camera: str) -> None:
        import h5py

        self.frames: list[np.ndarray] = []
        self.states: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.success: list[bool] = []
        with h5py.File(path, "r") as f:
            for name in sorted(f["data"], key=lambda n: int(n.split("_")[1])):
                group = f["data"][name]
                self.frames.append(group["obs"][rgb_key(camera)][()])
                self.states.append(group["obs"][STATE_KEY][()].astype(np.float32))
                self.actions.append(group["actions"][()].astype(np.float32))
                self.success.append(bool(group.attrs["success"]))

    def __len__(self) -> int:
        return len(self.frames)

    def split(self, validation: float, seed: int) -> tuple[list[int], list[int]]:
        """Episode indices for training and for validation (at least one each when 2+)."""
        order = np.random.default_rng(seed).permutation(len(self))
        held = max(1, round(validation * len(self))) if len(self) > 1 else 0
        return sorted(order[held:].tolist()), sorted(order[:held].tolist())


class Windows:
    """Training windows over encoded episodes (latents (T, N, D) and actions (T, A))."""

    def __init__(self, latents: list[torch.Tensor], actions: list[np.ndarray],
                 config: VideoWMConfig) -> None:
        self.latents, self.cfg = latents, config
        self.actions = [torch.as_tensor(a) for a in actions]
        need = max(config.chunk, config.future)
        # (episode, t) with a_t..a_{t+H-1} and o_{t+1..t+K} inside the episode.
        self.index = [(e, t) for e, lat in enumerate(latents)
                      for t in range(len(lat) - need)]
        if not self.index:
            raise ValueError(f"no episode is longer than {need} steps: record longer rollouts")

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, picks: np.ndarray) -> dict[str, torch.Tensor]:
        c, h, k = self.cfg.context, self.cfg.chunk, self.cfg.future
        contexts, futures, actions = [], [], []
        for i in picks:
            e, t = self.index[int(i)]
            lat = self.latents[e]
            history = lat[[max(0, s) for s in range(t - c + 1, t + 1)]]
            contexts.append(torch.cat([lat[:1], history]) if self.cfg.anchor else history)
            futures.append(lat[t + 1:t + 1 + k])
            actions.append(self.actions[e][t:t + h])
        return {"context": torch.stack(contexts), "future": torch.stack(futures),
                "actions": torch.stack(actions)}
