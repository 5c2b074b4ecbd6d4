"""`ServedEnv`: what the serving side does with an env, apart from the network.

It owns the env (a simulator, or a robot driver plugin), the safety limits, an optional
intervention source and the outbox. A step request carries up to C actions; each is made safe,
offered to the intervention source (which always wins), executed, and written to the outbox
with its (epoch, seq) before the result is returned. The segment ends early when the episode
ends, after an intervened step (so that the learner re-infers the rest of the chunk with the
WA model, as HALO-WA does) or when the workspace limit had to shorten an action (a safety
stop). `link_lost` holds the robot in place (`hold()` on drivers that have one).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from warl.core.envs.chunked import can_defer_cameras, fresh_cameras, step_deferred
from warl.core.envs.contract import INSTRUCTION_KEY, SUCCESS_KEY, camera_keys
from warl.core.envs.intervention import InterventionSource
from warl.core.remote.outbox import Outbox
from warl.core.remote.safety import SafetyLimits
from warl.core.remote.spaces import describe
from warl.core.remote.wire import PROTOCOL, VERSION, ProtocolError, encode

ENDED = ("complete", "episode", "intervention", "safety")


def control_rate(env: gym.Env[Any, Any]) -> float:
    """Steps per second the env runs at: a driver's ``control_hz``, else the render fps."""
    unwrapped: Any = env.unwrapped
    rate = getattr(unwrapped, "control_hz", None) or env.metadata.get("render_fps") or 0
    return float(rate)


class ServedEnv:
    """One env behind the link; every method is serialized by one lock.

    Args:
        env: the env (warl env contract).
        env_id: the served id (what the learner keys its WA model, demos and gap on).
        stream: the learner-side env this one serves (the outbox keys its steps by it).
        epoch: this start's epoch (`next_epoch`).
        outbox: where executed steps wait for the learner's acknowledgement.
        chunk_max: the most actions one step request may carry.
        safety: limits applied to every action.
        intervention: a source that may take over (the scripted expert, a keyboard, ...).
        lock: serializes access to ``env``; streams sharing one robot share its lock.
        owner: streams sharing one env share this dict; the stream that reset the env last
            owns it, and the others must reset before stepping.
    """

    def __init__(self, env: gym.Env[Any, Any], env_id: str, *, epoch: int, outbox: Outbox,
                 stream: str = "default", chunk_max: int = 64,
                 safety: SafetyLimits | None = None,
                 intervention: InterventionSource | None = None,
                 lock: threading.Lock | None = None,
                 owner: dict[str, Any] | None = None) -> None:
        self.env, self.env_id, self.epoch, self.outbox = env, env_id, epoch, outbox
        self.stream = stream
        self.chunk_max = chunk_max
        self.safety = safety or SafetyLimits()
        self.intervention = intervention
        self.action_dim = int(env.action_space.shape[0])  # type: ignore[index]
        self.seq = -1
        self.episode = 0
        self.steps_executed = 0
        self.obs: Mapping[str, Any] | None = None
        self.instruction = ""
        self.lock = lock or threading.Lock()
        self.owner = {} if owner is None else owner

    def hello(self, max_message: int) -> dict[str, Any]:
        """The handshake: who is served and how to talk to it."""
        return {"type": "hello", "protocol": PROTOCOL, "version": VERSION,
                "env_id": self.env_id, "epoch": self.epoch, "stream": self.stream,
                "observation_space": describe(self.env.observation_space),
                "action_space": describe(self.env.action_space),
                "control_hz": control_rate(self.env),
                "cameras": [k.removeprefix("rgb_") for k in
                            camera_keys(self.env.observation_space.spaces)]
                if isinstance(self.env.observation_space, gym.spaces.Dict) else [],
                "instruction": self.instruction, "chunk_max": self.chunk_max,
                "max_message": max_message}

    def _record(self, kind: str, row: dict[str, Any], seq: int | None = None) -> int:
        """Write a row at the next seq (or rewrite ``seq``)."""
        new = seq is None
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.outbox.put(self.stream, self.epoch, seq, encode({"type": kind, "epoch": self.epoch,
                                                              "seq": seq, **row}),
                        kind if new else None)
        return seq

    def reset(self, seed: int | None) -> dict[str, Any]:
        with self.lock:
            obs, info = self.env.reset(seed=seed)
            if self.intervention is not None:
                self.intervention.reset()
            self.episode += 1
            self.obs = obs
            self.owner["stream"] = self.stream
            self.instruction = str(info.get(INSTRUCTION_KEY, ""))
            seq = self._record("reset", {"episode": self.episode, "obs": obs,
                                         "instruction": self.instruction})
            return {"type": "reset", "epoch": self.epoch, "seq": seq, "episode": self.episode,
                    "obs": obs, "instruction": self.instruction}

    def step(self, actions: Any) -> dict[str, Any]:
        chunk = self._checked(actions)
        with self.lock:
            if self.obs is None:
                raise ProtocolError("step before reset: send a reset first")
            if self.owner.get("stream", self.stream) != self.stream:
                self.obs = None
                raise ProtocolError(f"stream {self.owner['stream']!r} reset the env since this "
                                    f"stream's last step: reset first")
            executed, rewards, intervened = [], [], []
            first, ended, clipped = self.seq + 1, "complete", 0
            terminated = truncated = success = False
            info: dict[str, Any] = {}
            # Cameras are rendered for the segment's last observation only (the one the
            # learner reads); the rows of the steps inside it hold the state alone.
            defer = can_defer_cameras(self.env)
            row: dict[str, Any] = {}
            for proposed in chunk:
                action, stopped = self.safety.apply(proposed, self.obs)
                clipped += int(not np.allclose(action, proposed))
                override = (self.intervention(self.obs, action)
                            if self.intervention is not None else None)
                if override is not None:  # the operator wins, inside the same limits
                    action, stopped = self.safety.apply(np.asarray(override, np.float32),
                                                        self.obs)
                obs, reward, terminated, truncated, info = step_deferred(self.env, action, defer)
                self.obs, success = obs, bool(info.get(SUCCESS_KEY, False))
                executed.append(np.asarray(action, np.float32))
                rewards.append(float(reward))
                intervened.append(override is not None)
                self.steps_executed += 1
                row = {"episode": self.episode, "action": executed[-1], "reward": float(reward),
                       "intervened": override is not None, "terminated": bool(terminated),
                       "truncated": bool(truncated), "success": success, "obs": obs}
                self._record("step", row)
                if terminated or truncated:
                    ended = "episode"
                elif override is not None:
                    ended = "intervention"
                elif stopped:
                    ended = "safety"
                if ended != "complete":
                    break
            if defer:
                obs = fresh_cameras(self.env, obs)
                self._record("step", {**row, "obs": obs}, seq=self.seq)
            self.obs = None if terminated or truncated else obs  # None: a reset comes next
            return {"type": "step", "epoch": self.epoch, "seqs": [first, self.seq],
                    "episode": self.episode, "obs": obs, "rewards": np.asarray(rewards,
                                                                            np.float32),
                    "executed": np.stack(executed), "intervened": np.asarray(intervened),
                    "terminated": bool(terminated), "truncated": bool(truncated),
                    "success": success, "ended": ended, "clipped": clipped,
                    "info": _plain_info(info)}

    def render(self) -> dict[str, Any]:
        """The served env's ``render()`` frame (None when it was not made to render)."""
        with self.lock:
            frame = self.env.render() if self.env.render_mode == "rgb_array" else None
        return {"type": "render", "frame": None if frame is None else np.asarray(frame)}

    def _checked(self, actions: Any) -> np.ndarray:
        if not isinstance(actions, np.ndarray) or actions.ndim != 2 \
                or actions.shape[1] != self.action_dim or not 1 <= len(actions) <= self.chunk_max:
            shape = getattr(actions, "shape", type(actions).__name__)
            raise ProtocolError(f"'step' message: actions must be an array of shape (k, "
                                f"{self.action_dim}) with 1 <= k <= {self.chunk_max}, got "
                                f"{shape}")
        if actions.dtype.kind != "f" or not np.all(np.isfinite(actions)):
            raise ProtocolError("'step' message: actions must be finite floats")
        return actions.astype(np.float32)

    def link_lost(self) -> None:
        """The learner is gone: hold position (a driver's ``hold()``); the episode in
        progress is over for the learner, which resets after reconnecting."""
        with self.lock:
            hold = getattr(self.env.unwrapped, "hold", None)
            if callable(hold):
                hold()


def _plain_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The scalars of a step's ``info`` (what the learner's loggers read)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in info.items()
            if isinstance(v, bool | int | float | str | np.generic)}
