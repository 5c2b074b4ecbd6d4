"""Recorded policy rollouts: the training data of world models and learned rewards.

WoVR trains its world model (and its success classifier) on rollouts of the base policy,
successes and failures alike. ``policy`` chooses who acts: ``wa-base`` (the WA model for the
env, chunk by chunk, as the paper) or ``expert`` (the env's scripted expert, cheaper); each
episode adds Gaussian action noise of a level drawn from [0, ``action_noise``], so that the
set mixes clean and perturbed behaviour. Rollouts are stored in the demonstration layout
(`warl.core.demos`) and cached by env and every setting.

``hold`` keeps recording that many steps after an episode's first success (the env built
with ``terminate_on_success=False``, the episode ended by `HoldSuccess`): an env that ends
at its first success leaves one success frame per episode, nearly a copy of the failure
frame before it, and a success classifier has nothing to learn "success" from. Held frames
are labelled by the env's own success flag, step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from warl.core.checkpoints import demos_path
from warl.core.envs.contract import STATE_KEY, rgb_key
from warl.core.errors import BadKwargsError, ConfigError

POLICIES = ("wa-base", "expert")
# Env seeds of training and of held-out rollouts: apart from each other and from the
# demonstration (10,000+) and evaluation (1,000,000+) seeds.
TRAIN_SEEDS, EVAL_SEEDS = 20_000, 30_000


@dataclass(frozen=True)
class RolloutSpec:
    """Which rollouts: who acts, how noisily, what the env renders, how many, which seeds."""

    policy: str = "wa-base"
    action_noise: float = 0.3
    wa: dict[str, Any] = field(default_factory=dict)
    camera: str = "corner"
    image_size: int = 64
    episodes: int = 60
    seed: int = 0
    first_seed: int = TRAIN_SEEDS
    hold: int = 0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(f"rollout policy {self.policy!r} is not one of "
                              f"{', '.join(POLICIES)}")
        if not 0.0 <= self.action_noise <= 2.0:
            raise ConfigError(f"action_noise must be in [0, 2], got {self.action_noise}")
        if self.hold < 0:
            raise ConfigError(f"hold must be >= 0 (steps recorded after the first success), "
                              f"got {self.hold}")

    def env_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"cameras": [self.camera], "image_size": self.image_size}
        if self.hold:
            kwargs["terminate_on_success"] = False
        return kwargs

    def cache_key(self) -> dict[str, Any]:
        key = asdict(self)
        if not self.hold:  # rollouts recorded before `hold` existed keep their cache
            del key["hold"]
        return key


class HoldSuccess(gym.Wrapper):
    """Ends an episode ``steps`` steps after its first success (around an env that does not
    end there itself)."""

    def __init__(self, env: Any, steps: int) -> None:
        super().__init__(env)
        self.steps = steps
        self._since: int | None = None

    def reset(self, **kwargs: Any) -> Any:
        self._since = None
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._since is None and info.get("success"):
            self._since = 0
        elif self._since is not None:
            self._since += 1
        if self._since is not None and self._since >= self.steps:
            terminated = True
        return obs, reward, terminated, truncated, info


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


def record_rollouts(env_id: str, spec: RolloutSpec, show_progress: bool = True) -> Path:
    """``spec.episodes`` episodes from env seeds ``first_seed + 1000 seed + i`` (cached)."""
    import warl
    from warl.core.demos import demo_writer, record_episode, scripted_expert
    from warl.core.progress import progress_bar

    path = demos_path(env_id, {"kind": "rollouts", "final_obs": True, **spec.cache_key()})
    if path.is_file():
        return path
    try:
        env = warl.make(env_id, **spec.env_kwargs())
    except BadKwargsError as error:
        if not spec.hold:
            raise
        raise ConfigError(f"{env_id} cannot record past a success (hold={spec.hold} needs an "
                          f"env with terminate_on_success): {error}; set hold=0") from error
    if spec.hold:
        env = HoldSuccess(env, spec.hold)
    wa_model = None
    if spec.policy == "wa-base":
        wa_model = warl.make("warl/wa-small", env=env_id, show_progress=show_progress,
                             **spec.wa)
    rng = np.random.default_rng(spec.seed)
    partial = path.with_name(path.name + ".partial")  # renamed when complete
    partial.unlink(missing_ok=True)
    try:
        with demo_writer(partial, env_id, spec.env_kwargs()) as writer, \
                progress_bar(f"rollouts {env_id}", spec.episodes, show_progress) as advance:
            for i in range(spec.episodes):
                base = ChunkPolicy(wa_model) if wa_model is not None else \
                    scripted_expert(env, env_id)
                act = noisy(base, float(rng.uniform(0.0, spec.action_noise)),
                            env.action_space.low, env.action_space.high, rng)
                writer.add(record_episode(env, act, seed=spec.first_seed + spec.seed * 1000 + i))
                advance(1, success=f"{len(writer.successful)}/{i + 1}")
    finally:
        env.close()
    partial.rename(path)
    return path


def _with_final(group: Any, key: str) -> np.ndarray:
    """obs[key] (T, ...) and, where recorded, the final observation after it: (T + 1, ...)."""
    values = group["obs"][key][()]
    if "final_obs" in group and key in group["final_obs"]:
        values = np.concatenate([values, group["final_obs"][key][()]])
    return np.asarray(values)


class Episodes:
    """Frames and states (T + 1 of each: the observation after the last action included),
    actions (T) and success flags of every rollout in a file, in memory."""

    def __init__(self, path: Path, camera: str) -> None:
        import h5py

        self.frames: list[np.ndarray] = []
        self.states: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.success: list[bool] = []
        self.step_success: list[np.ndarray] = []  # info["success"] after each action
        with h5py.File(path, "r") as f:
            for name in sorted(f["data"], key=lambda n: int(n.split("_")[1])):
                group = f["data"][name]
                self.frames.append(_with_final(group, rgb_key(camera)))
                self.states.append(_with_final(group, STATE_KEY).astype(np.float32))
                self.actions.append(group["actions"][()].astype(np.float32))
                self.success.append(bool(group.attrs["success"]))
                self.step_success.append(group["success"][()].astype(bool))

    def __len__(self) -> int:
        return len(self.frames)

    def split(self, validation: float, seed: int) -> tuple[list[int], list[int]]:
        """Episode indices for training and for validation (at least one each when 2+)."""
        order = np.random.default_rng(seed).permutation(len(self))
        held = max(1, round(validation * len(self))) if len(self) > 1 else 0
        return sorted(order[held:].tolist()), sorted(order[:held].tolist())
