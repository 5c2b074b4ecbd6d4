"""`WorldModelEnv`: a learned world model plus a reward model, used as a Gymnasium env.

Registered once as ``world-model/imagined``, with the source env and the models as settings
(ids keep the ``namespace/name`` rule; one registration serves every source env):

- ``source``: the real env it imagines (its spaces, instruction, horizon and, with
  ``start=real``, its initial frames: ``reset(seed)`` resets the real env with that seed and
  imagination starts from its first observation);
- ``world_model`` / ``wm``: the world model id and its settings (`warl/video-wm`);
- ``reward`` / ``reward_settings``: a ``frames`` reward plugin scored on every imagined
  observation (`warl/success-classifier`); r >= 1 is a success and ends the episode;
- ``start``: ``real`` or ``keyframes`` (imagination starts from a random frame of the rollouts
  file ``keyframes``, WoVR's keyframe-initialised rollouts: near the states that matter).

A chunk of any length is imagined in pieces of the model's action horizon H (the last piece
padded by repeating its last action; only its own frames are kept), each piece's frames
appended to the context, so an algorithm trains here exactly as in the simulator:
`ChunkedEnv` uses ``step_chunk``, and ``step`` imagines one action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import INSTRUCTION_KEY, STATE_KEY, SUCCESS_KEY
from warl.core.errors import ConfigError
from warl.core.reward import FRAMES

STARTS = ("real", "keyframes")


class WorldModelEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    # Each frame is imagined from the whole chunk it belongs to (`warl check` knows).
    imagines_chunks = True

    def __init__(self, source: str | None = None, world_model: str = "warl/video-wm",
                 wm: Mapping[str, Any] | None = None,
                 reward: str = "warl/success-classifier",
                 reward_settings: Mapping[str, Any] | None = None, start: str = "real",
                 keyframes: str | None = None, max_episode_steps: int | None = None,
                 pretrained: bool = True, render_mode: str | None = None) -> None:
        import warl

        if not source:
            raise ConfigError("world-model/imagined needs source=<env id>, the env it "
                              "imagines (e.g. --set env.source=metaworld/hammer)")
        if start not in STARTS:
            raise ConfigError(f"start {start!r} is not one of {', '.join(STARTS)}")
        if start == "keyframes" and not keyframes:
            raise ConfigError("start=keyframes needs keyframes=<rollouts .h5 file>")
        self.source_id, self.start, self.render_mode = source, start, render_mode
        # The reward first: a wrong one fails before a world model is loaded or trained.
        self.scorer = self._scorer(reward, source, pretrained, dict(reward_settings or {}))
        self.model = warl.make(world_model, kind="world_model", env=source,
                               pretrained=pretrained, show_progress=False, **dict(wm or {}))
        self.camera_key = self.model.codec.image_key
        camera = self.camera_key.removeprefix("rgb_")
        self.real = warl.make(source, cameras=[camera], image_size=self.model.cfg.image_size)
        self.action_box: spaces.Box = self.real.action_space
        self.action_space = self.action_box
        size = self.model.cfg.image_size
        self.state_box: spaces.Box = self.real.observation_space[STATE_KEY]
        self.observation_space = spaces.Dict({  # type: ignore[assignment]
            STATE_KEY: self.state_box,
            self.camera_key: spaces.Box(0, 255, (size, size, 3), np.uint8)})
        self.max_episode_steps = max_episode_steps or int(
            getattr(self.real.spec, "max_episode_steps", None) or 500)
        self.frames = self._keyframes(keyframes) if start == "keyframes" else None
        self._context: Any = None
        self._obs: dict[str, np.ndarray] | None = None
        self._t = 0

    @staticmethod
    def _scorer(reward: str, source: str, pretrained: bool, settings: dict[str, Any]) -> Any:
        """The reward model; a learned one (tagged ``learned``) is trained for ``source``."""
        from warl.core.registry import default_registry

        registry = default_registry()
        spec = registry.get(reward, kind="reward")
        if "learned" in spec.tags:
            settings = {"env": source, "pretrained": pretrained, "show_progress": False,
                        **settings}
        scorer = registry.make(spec.id, kind="reward", **settings)
        if getattr(scorer, "inputs", None) != FRAMES or not getattr(scorer, "observation_keys",
                                                                     ()):
            raise ConfigError(f"{reward} does not score imagined observations; the world-model "
                              f"env needs a 'frames' reward that reads them (a success "
                              f"classifier such as warl/success-classifier)")
        return scorer

    def _keyframes(self, path: str | None) -> list[tuple[np.ndarray, np.ndarray]]:
        from pathlib import Path

        from warl.core.rollout.recorded import Episodes

        if path is None or not Path(path).is_file():
            raise ConfigError(f"keyframes file {path!r} does not exist")
        episodes = Episodes(Path(path), self.camera_key.removeprefix("rgb_"))
        return [(f, s) for frames, states in zip(episodes.frames, episodes.states, strict=True)
                for f, s in zip(frames, states, strict=True)]

    # -- gymnasium -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self.real.reset(seed=seed)
        if self.frames is not None:
            frame, state = self.frames[int(self.np_random.integers(len(self.frames)))]
            obs = {STATE_KEY: state.astype(np.float32), self.camera_key: frame}
        first = {STATE_KEY: np.asarray(obs[STATE_KEY], np.float32)[None],
                 self.camera_key: np.asarray(obs[self.camera_key])[None]}
        self.model.seed(int(self.np_random.integers(2**31)))
        self._context = self.model.encode(first)[:, None]
        self._obs, self._t = {k: v[0] for k, v in first.items()}, 0
        return dict(self._obs), {INSTRUCTION_KEY: str(info.get(INSTRUCTION_KEY, ""))}

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool,
                                                 dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.step_chunk(np.asarray(action)[None])
        return obs, float(rewards.sum()), terminated, truncated, info

    def step_chunk(self, actions: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, bool,
                                                        bool, dict[str, Any]]:
        """Imagine up to the chunk's end, the first success or the horizon."""
        import torch

        if self._context is None:
            raise RuntimeError("step before reset: call reset() first")
        actions = np.clip(np.asarray(actions, np.float32), self.action_box.low,
                          self.action_box.high)
        h, rewards = self.model.horizon, []
        terminated = truncated = False
        executed: list[np.ndarray] = []
        obs: dict[str, np.ndarray] = dict(self._obs or {})
        for start in range(0, len(actions), h):
            piece = actions[start:start + h]
            padded = np.concatenate([piece, np.repeat(piece[-1:], h - len(piece), axis=0)])
            future = self.model.predict(self._context, torch.as_tensor(padded)[None])
            future = future[:, :len(piece)]
            decoded = self.model.decode(future[0])
            scores = self.scorer.reward({k: v.cpu().numpy() for k, v in decoded.items()})
            for i in range(len(piece)):
                self._t += 1
                executed.append(piece[i])
                rewards.append(float(scores[i] >= 1.0))
                terminated = rewards[-1] > 0
                truncated = self._t >= self.max_episode_steps
                if terminated or truncated:
                    future = future[:, :i + 1]
                    break
            self._context = self._keep(torch.cat([self._context, future], dim=1))
            obs = {k: v[len(executed) - 1 - start].cpu().numpy() for k, v in decoded.items()}
            if terminated or truncated:
                break
        obs[STATE_KEY] = np.clip(obs[STATE_KEY], self.state_box.low,
                                 self.state_box.high).astype(np.float32)
        self._obs = obs
        info = {SUCCESS_KEY: bool(terminated), "executed": np.stack(executed),
                "intervened": np.zeros(len(executed), bool),
                "ended": "episode" if terminated or truncated else "complete"}
        if terminated or truncated:
            self._context = None
        return dict(obs), np.asarray(rewards, np.float32), terminated, truncated, info

    def _keep(self, frames: Any) -> Any:
        """The anchor and the frames the model can still see (no need to keep more)."""
        keep = int(self.model.cfg.context)
        return frames if frames.shape[1] <= keep + 1 else \
            frames[:, [0, *range(frames.shape[1] - keep, frames.shape[1])]]

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._obs is None:
            return None
        return np.asarray(self._obs[self.camera_key])

    def close(self) -> None:
        self.real.close()
        super().close()
