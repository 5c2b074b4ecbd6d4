"""`RolloutEngine`: the one episode loop of warl, for training, evaluation and demonstrations.

It runs a list of `EpisodeRequest`s on the N envs of a `ChunkVector`, N at a time: each
request's env is reset with its seed, and at every decision the active envs' observations go
through the WA model as one batch, each env's policy picks an action chunk, and the chunks are
executed (stopping early when an episode ends). A finished env takes the next request.

Reproducibility per episode, whatever N and whichever worker runs it: every env slot has its
own copy of the policy and its own noise generator for the WA model, both seeded with the
request's ``noise_seed``, so an episode's transitions depend on its seeds and the weights
only. A WA model whose ``infer`` takes ``noise=`` (the (B, H, A) starting noise of its
sampler) gets each slot's noise from that slot's generator; one that does not is reseeded at
each episode's start, which is exact for N = 1.

The RL state is computed once per decision: ``features`` first, then ``act_on(state,
explore)`` when the policy has it (``act`` otherwise), and the state is stored as the
transition's ``obs``.
"""

from __future__ import annotations

import copy
import inspect
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY
from warl.core.rollout.vector import ChunkVector
from warl.core.training.transitions import EpisodeRecord, Step


@dataclass(frozen=True)
class EpisodeRequest:
    """One episode to run: ``reset(seed=seed)``; the policy's and the WA model's sampling
    seeded with ``noise_seed`` (default ``seed``: a group of episodes from one initial state
    gives each member its own); ``explore`` for training; ``frames`` records video frames."""

    seed: int
    explore: bool = True
    noise_seed: int | None = None
    frames: bool = False


@dataclass
class Rollout:
    """One finished episode: its transitions, seed, wall time and (if asked) video frames."""

    record: EpisodeRecord
    seed: int
    wall_time_s: float
    frames: list[np.ndarray] = field(default_factory=list)
    instruction: str = ""


@dataclass
class _Slot:
    order: int  # the request's position
    request: EpisodeRequest
    obs: Any
    instruction: str
    started: float
    record: EpisodeRecord = field(default_factory=EpisodeRecord)
    frames: list[np.ndarray] = field(default_factory=list)
    generator: Any = None


def split_extras(out: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A policy's ``act`` result as (chunk, extras): it returns a chunk, or ``(chunk,
    extras)`` with arrays to store beside the transition."""
    if isinstance(out, tuple):
        chunk, extras = out
        return np.asarray(chunk), {k: np.asarray(v) for k, v in dict(extras).items()}
    return np.asarray(out), {}


def takes_noise(wa_model: Any) -> bool:
    """Whether ``wa_model.infer`` accepts its sampler's starting noise (``noise=``)."""
    try:
        return "noise" in inspect.signature(wa_model.infer).parameters
    except (TypeError, ValueError):
        return False


def policy_copies(policy: Any, n: int) -> list[Any]:
    """``policy`` and ``n - 1`` copies of it: one per env slot, each with its own sampling
    state."""
    return [policy] + [copy.deepcopy(policy) for _ in range(n - 1)]


class RolloutEngine:
    """Runs episodes on ``vector``'s envs, env ``i`` with ``policies[i]``.

    ``record`` keeps each decision's RL state (training, demonstrations); evaluations skip
    it. ``policy`` needs ``act`` and, when recording, ``features``; ``reseed`` and
    ``act_on`` are used when present.
    """

    def __init__(self, vector: ChunkVector, wa_model: Any, policies: Sequence[Any]) -> None:
        from warl.core.envs.intervention import has_intervention

        if len(policies) != vector.num_envs:
            raise ValueError(f"one policy per env: {len(policies)} for {vector.num_envs}")
        self.vector, self.wa_model, self.policies = vector, wa_model, list(policies)
        self._noise = wa_model is not None and takes_noise(wa_model)
        self._slots: list[_Slot | None] = [None] * vector.num_envs
        for i in range(vector.num_envs):
            env = vector.local(i)
            # After an intervention the WA model re-infers the rest of the chunk, whether the
            # operator is on this side (an intervention wrapper) or on a remote env's.
            if env is not None and wa_model is not None and (
                    has_intervention(env) or hasattr(env.env, "step_chunk")):
                env.refill = self._refill_for(i)

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        for policy in self.policies:
            policy.load_policy_state(state)

    def run(self, requests: Sequence[EpisodeRequest], record: bool = True,
            on_done: Callable[[Rollout], None] | None = None) -> list[Rollout]:
        """Every request's episode, returned in request order; ``on_done`` sees each as it
        ends."""
        queue = deque(enumerate(requests))
        results: list[Rollout | None] = [None] * len(requests)
        try:
            while queue or any(s is not None for s in self._slots):
                self._start(queue)
                active = [i for i, s in enumerate(self._slots) if s is not None]
                for i, rollout in self._decide_and_step(active, record):
                    slot = self._slots[i]
                    assert slot is not None
                    results[slot.order] = rollout
                    self._slots[i] = None
                    if on_done is not None:
                        on_done(rollout)
        finally:
            self._slots = [None] * self.vector.num_envs
            for i in range(self.vector.num_envs):
                env = self.vector.local(i)
                if env is not None:
                    env.record_frames = False
        return [r for r in results if r is not None]

    # --- one batch step -----------------------------------------------------------------------
    def _start(self, queue: deque[tuple[int, EpisodeRequest]]) -> None:
        free = [i for i, s in enumerate(self._slots) if s is None][: len(queue)]
        if not free:
            return
        taken = [queue.popleft() for _ in free]
        for i, (_, request) in zip(free, taken, strict=True):
            env = self.vector.local(i)
            if env is not None:
                env.record_frames = request.frames
        resets = self.vector.reset_at(free, [r.seed for _, r in taken])
        for i, (order, request), (obs, info) in zip(free, taken, resets, strict=True):
            noise = request.seed if request.noise_seed is None else request.noise_seed
            policy = self.policies[i]
            if hasattr(policy, "reseed"):
                policy.reseed(noise)
            slot = _Slot(order, request, obs, str(info.get(INSTRUCTION_KEY, "")),
                         time.perf_counter())
            if self._noise:
                import torch

                slot.generator = torch.Generator().manual_seed(int(noise))
            elif self.wa_model is not None:
                self.wa_model.seed(noise)
            slot.frames.extend(f for f in info.get("frames", []) if f is not None)
            self._slots[i] = slot

    def _infer(self, indices: Sequence[int], observations: Sequence[Any]) -> Any:
        """One batched WA inference for envs ``indices``; None without a WA model."""
        if self.wa_model is None:
            return None
        slots = [self._slots[i] for i in indices]
        batch = {k: np.stack([np.asarray(o[k]) for o in observations]) for k in observations[0]}
        instructions = [s.instruction for s in slots if s is not None]
        instruction: Any = instructions[0] if len(set(instructions)) == 1 else instructions
        if not self._noise:
            return self.wa_model.infer(batch, instruction)
        import torch

        shape = (1, self.wa_model.horizon, self.wa_model.action_dim)
        noise = torch.cat([torch.randn(shape, generator=s.generator) for s in slots
                           if s is not None])
        return self.wa_model.infer(batch, instruction, noise=noise)

    def _refill_for(self, index: int) -> Callable[[Any, int], np.ndarray]:
        """After an intervention the WA model re-infers to finish the chunk (HALO-WA 3.3)."""
        def refill(obs: Any, remaining: int) -> np.ndarray:
            output = self._infer([index], [obs])
            chunk: np.ndarray = output.ref_actions[0, :remaining].detach().cpu().numpy()
            return chunk
        return refill

    def _decide_and_step(self, active: list[int], record: bool
                         ) -> list[tuple[int, Rollout]]:
        slots = [self._slots[i] for i in active]
        output = self._infer(active, [s.obs for s in slots if s is not None])
        chunks, decisions = [], []
        for j, (i, slot) in enumerate(zip(active, slots, strict=True)):
            assert slot is not None
            wa = None if output is None else output.index(j)
            policy = self.policies[i]
            state = policy.features(slot.obs, wa) if record else None
            act_on = getattr(policy, "act_on", None)
            out = act_on(state, slot.request.explore) if state is not None and act_on else \
                policy.act(slot.obs, wa, slot.request.explore)
            chunk, extras = split_extras(out)
            chunks.append(chunk)
            decisions.append((state, extras))
        finished: list[tuple[int, Rollout]] = []
        ended: list[int] = []
        results = self.vector.step_at(active, chunks)
        for i, slot, (state, extras), result in zip(active, slots, decisions, results,
                                                   strict=True):
            assert slot is not None
            obs, reward, terminated, truncated, info = result
            succeeded = bool(info.get(SUCCESS_KEY, False))
            slot.record.link = info.get("link", slot.record.link)
            if int(info["steps_executed"]) == 0:  # a remote link dropped before any step ran
                slot.obs = obs
                ended.append(i)
                continue
            slot.record.steps.append(Step(
                features=state if state is not None else {},
                action=np.asarray(info["executed_actions"], np.float32),
                reward=float(reward), terminated=bool(terminated),
                steps=int(info["steps_executed"]), intervened=np.asarray(info["intervened"]),
                succeeded=succeeded, extras=extras))
            slot.record.success = slot.record.success or succeeded
            slot.frames.extend(f for f in info.get("frames", []) if f is not None)
            slot.obs = obs
            if terminated or truncated:
                ended.append(i)
        if ended and record:
            # The state after the last chunk (the last transition's s_{t+C}), one batch.
            out = self._infer(ended, [self._slots[i].obs for i in ended])  # type: ignore[union-attr]
            for j, i in enumerate(ended):
                slot = self._slots[i]
                assert slot is not None
                wa = None if out is None else out.index(j)
                slot.record.final_features = self.policies[i].features(slot.obs, wa)
        for i in ended:
            slot = self._slots[i]
            assert slot is not None
            finished.append((i, Rollout(slot.record, slot.request.seed,
                                        time.perf_counter() - slot.started, slot.frames,
                                        slot.instruction)))
        return finished
