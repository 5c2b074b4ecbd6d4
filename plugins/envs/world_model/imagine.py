"""Imagination in batches: B imagined episodes advanced by one world-model call per piece.

`Imagination` holds, per slot, the latent context the world model conditions on (the
episode's first frame o_0 as anchor, then the last ``context`` frames, left-padded with the
earliest one: `VideoWorldModel.split_context`'s own padding, so every slot's context has the
same length and slots stack into one batch), its own sampling generator (an episode's
imagination depends on its seed only, not on which slots it shares a batch with), its step
count and its horizon. A chunk of any length is imagined in pieces of the model's action
horizon H, the last piece padded by repeating its last action and only its own frames kept.
Each imagined observation is decoded and scored by a ``frames`` reward; r >= 1 is a success
and ends the episode.

`WorldModelEnv` is one slot of it; `ImaginedVector` is N slots as a `ChunkVector`, what the
rollout engine steps (WoVR's groups of G imagined trajectories in one batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from warl.core.envs.contract import INSTRUCTION_KEY, STATE_KEY, SUCCESS_KEY

StepResult = tuple[dict[str, np.ndarray], np.ndarray, bool, bool, dict[str, Any]]


@dataclass(frozen=True)
class Start:
    """Where an imagined episode begins: frames ``(T, H, W, 3)`` and states ``(T, S)`` of a
    real episode up to the start, ``frames[0]`` its first frame o_0 (the anchor) and
    ``frames[-1]`` the current observation; ``T - 1`` real steps have elapsed."""

    frames: np.ndarray
    states: np.ndarray
    instruction: str = ""

    @property
    def elapsed(self) -> int:
        return len(self.frames) - 1


class _Slot:
    def __init__(self, context: Any, generator: Any, t: int, limit: int) -> None:
        self.context, self.generator, self.t, self.limit = context, generator, t, limit
        self.obs: dict[str, np.ndarray] = {}


class Imagination:
    """B slots of imagined episodes over one world model and one ``frames`` reward.

    Args:
        model: a `VideoWorldModel` (encode, decode, predict with ``noise=``).
        scorer: a ``frames`` reward; ``scorer.reward(observations) -> (B,)``.
        state_box, action_box: the source env's spaces (actions and imagined states are
            clipped to them).
        max_episode_steps: the horizon, counted from the real episode's start: a start
            ``k`` steps in has ``max_episode_steps - k`` imagined steps left (at least
            ``min_steps``).
    """

    def __init__(self, model: Any, scorer: Any, state_box: Any, action_box: Any,
                 max_episode_steps: int, slots: int = 1, min_steps: int = 1) -> None:
        if model.prediction_steps != model.horizon:
            raise ValueError(f"imagination needs one new frame per action: the world model "
                             f"predicts {model.prediction_steps} frames per {model.horizon} "
                             f"actions (set future = chunk)")
        self.model, self.scorer = model, scorer
        self.state_box, self.action_box = state_box, action_box
        self.max_episode_steps, self.min_steps = int(max_episode_steps), int(min_steps)
        self.camera_key = model.codec.image_key
        self.slots: list[_Slot | None] = [None] * slots

    def begin(self, index: int, start: Start, seed: int) -> dict[str, np.ndarray]:
        """Slot ``index`` starts imagining from ``start``; its sampling seeded by ``seed``.
        Returns the first observation."""
        import torch

        keep, n = int(self.model.cfg.context), len(start.frames)
        # Without the anchor o_0 is history like any frame (as `split_context` reads it).
        first = 1 if self.model.cfg.anchor and n > 1 else 0
        history = list(range(max(first, n - keep), n))
        picks = [0] + [history[0]] * (keep - len(history)) + history
        latents = self.model.encode({STATE_KEY: np.asarray(start.states[picks], np.float32),
                                     self.camera_key: np.asarray(start.frames[picks])})
        limit = max(self.min_steps, self.max_episode_steps - start.elapsed)
        slot = _Slot(latents, torch.Generator().manual_seed(int(seed)), 0, limit)
        slot.obs = {STATE_KEY: np.asarray(start.states[-1], np.float32),
                    self.camera_key: np.asarray(start.frames[-1])}
        self.slots[index] = slot
        return dict(slot.obs)

    def step(self, indices: Sequence[int], chunks: Sequence[np.ndarray]) -> list[StepResult]:
        """Imagine each slot's chunk up to its end, the slot's first success or its horizon;
        one world-model call (and one decode and score) per piece of H actions for all."""
        import torch

        model, h = self.model, self.model.horizon
        slots = [self._slot(i) for i in indices]
        chunks = [np.clip(np.asarray(c, np.float32), self.action_box.low, self.action_box.high)
                  for c in chunks]
        rewards: list[list[float]] = [[] for _ in slots]
        ended = [False] * len(slots)
        terminated = [False] * len(slots)
        for start in range(0, max(len(c) for c in chunks), h):
            go = [j for j, c in enumerate(chunks) if not ended[j] and start < len(c)]
            if not go:
                break
            pieces = []
            for j in go:
                piece = chunks[j][start:start + h]
                pieces.append(np.concatenate([piece, np.repeat(piece[-1:], h - len(piece), 0)]))
            context = torch.stack([slots[j].context for j in go])
            noise = torch.stack([torch.randn((model.prediction_steps, *model.latent_shape),
                                             generator=slots[j].generator) for j in go])
            future = model.predict(context, torch.as_tensor(np.stack(pieces)), noise=noise)
            decoded = model.decode(future.flatten(0, 1))
            decoded = {k: v.cpu().numpy() for k, v in decoded.items()}
            scores = np.asarray(self.scorer.reward(decoded), np.float32).reshape(len(go), -1)
            k = future.shape[1]
            for row, j in enumerate(go):
                slot, n = slots[j], min(h, len(chunks[j]) - start)
                used = 0
                for i in range(n):
                    slot.t += 1
                    used = i + 1
                    rewards[j].append(float(scores[row, i] >= 1.0))
                    terminated[j] = rewards[j][-1] > 0
                    if terminated[j] or slot.t >= slot.limit:
                        ended[j] = True
                        break
                keep = int(model.cfg.context)
                history = torch.cat([slot.context[1:], future[row, :used]])[-keep:]
                slot.context = torch.cat([slot.context[:1], history])
                last = row * k + used - 1
                slot.obs = {key: value[last] for key, value in decoded.items()}
        results: list[StepResult] = []
        for j, (i, slot) in enumerate(zip(indices, slots, strict=True)):
            obs = dict(slot.obs)
            obs[STATE_KEY] = np.clip(obs[STATE_KEY], self.state_box.low,
                                     self.state_box.high).astype(np.float32)
            slot.obs = obs
            done = len(rewards[j])
            truncated = ended[j] and not terminated[j]
            info = {SUCCESS_KEY: terminated[j], "executed": chunks[j][:done],
                    "intervened": np.zeros(done, bool),
                    "ended": "episode" if ended[j] else "complete"}
            if ended[j]:
                self.slots[i] = None
            results.append((dict(obs), np.asarray(rewards[j], np.float32), terminated[j],
                            truncated, info))
        return results

    def _slot(self, index: int) -> _Slot:
        slot = self.slots[index]
        if slot is None:
            raise RuntimeError(f"imagined env {index}: step before reset (or after its "
                               f"episode ended): call reset() first")
        return slot


def as_chunk_result(result: StepResult, chunk: int, action_dim: int) -> Any:
    """A slot's result in `ChunkedEnv.step`'s form (the summed reward; ``executed_actions``
    padded to the chunk, ``steps_executed``, ``intervened``, ``rewards``)."""
    obs, step_rewards, terminated, truncated, info = result
    done = len(step_rewards)
    executed = np.zeros((chunk, action_dim), np.float32)
    executed[:done] = info["executed"]
    rewards = np.zeros(chunk, np.float32)
    rewards[:done] = step_rewards
    out = {SUCCESS_KEY: info[SUCCESS_KEY], "executed_actions": executed, "steps_executed": done,
           "intervened": np.zeros(chunk, bool), "rewards": rewards}
    return obs, float(rewards.sum()), terminated, truncated, out


class ImaginedVector:
    """N imagined episodes as a `ChunkVector`: each reset picks a start with ``starts(seed)``
    and every step imagines all active episodes in one batch."""

    def __init__(self, imagination: Imagination, starts: Any, chunk: int,
                 action_dim: int) -> None:
        self.imagination, self.starts = imagination, starts
        self.chunk, self.action_dim = chunk, action_dim
        self.num_envs = len(imagination.slots)

    def reset_at(self, indices: Sequence[int], seeds: Sequence[int]
                 ) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for i, seed in zip(indices, seeds, strict=True):
            start: Start = self.starts(int(seed))
            obs = self.imagination.begin(i, start, int(seed))
            out.append((obs, {INSTRUCTION_KEY: start.instruction}))
        return out

    def step_at(self, indices: Sequence[int], chunks: Sequence[np.ndarray]) -> list[Any]:
        return [as_chunk_result(r, self.chunk, self.action_dim)
                for r in self.imagination.step(indices, chunks)]

    def local(self, index: int) -> None:
        return None  # no per-episode env object: nothing to re-infer or film

    def close(self) -> None:
        pass
