"""`WorldModelEnv`: a learned world model plus a reward model, used as a Gymnasium env.

Registered once as ``world-model/imagined``, with the source env and the models as settings
(ids keep the ``namespace/name`` rule; one registration serves every source env):

- ``source``: the real env it imagines (its spaces, instruction, horizon and, with
  ``start=real``, its initial frames: ``reset(seed)`` resets the real env with that seed and
  imagination starts from its first observation);
- ``world_model`` / ``wm``: the world model id and its settings (`warl/video-wm`);
- ``reward`` / ``reward_settings``: a ``frames`` reward plugin scored on every imagined
  observation (`warl/success-classifier`); r >= 1 is a success and ends the episode;
- ``start``: ``real`` or ``keyframes`` (imagination starts from a random step of a random
  episode of the rollouts file ``keyframes``, that episode's first frame as the anchor and
  its frames up to the step as the context: WoVR's keyframe-initialised rollouts, whose
  selection rule `warl.plugins.algorithms.wovr.kir` implements).

Imagination itself is `imagine.Imagination` (one slot here; `vector()` gives N slots as a
batch for the rollout engine). `ChunkedEnv` uses ``step_chunk``, and ``step`` imagines one
action, so an algorithm trains here exactly as in the simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.contract import INSTRUCTION_KEY, STATE_KEY
from warl.core.errors import ConfigError
from warl.core.reward import FRAMES
from warl.plugins.envs.world_model.imagine import Imagination, ImaginedVector, Start

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
        self.episodes = self._keyframes(keyframes) if start == "keyframes" else None
        self.imagination = Imagination(self.model, self.scorer, self.state_box,
                                       self.action_box, self.max_episode_steps)
        self._started = False

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

    def _keyframes(self, path: str | None) -> Any:
        from pathlib import Path

        from warl.core.rollout.recorded import Episodes

        if path is None or not Path(path).is_file():
            raise ConfigError(f"keyframes file {path!r} does not exist")
        return Episodes(Path(path), self.camera_key.removeprefix("rgb_"))

    def start_at(self, episode: int, step: int, instruction: str = "") -> Start:
        """The start at ``step`` of the keyframes file's episode ``episode``: its first frame
        as the anchor, its frames up to ``step`` as the context."""
        assert self.episodes is not None
        return Start(self.episodes.frames[episode][:step + 1],
                     self.episodes.states[episode][:step + 1], instruction)

    @property
    def keyframes(self) -> list[tuple[int, int]]:
        """Every (episode, step) of the keyframes file (``start=keyframes`` picks one)."""
        if self.episodes is None:
            return []
        return [(e, t) for e, frames in enumerate(self.episodes.frames)
                for t in range(len(frames))]

    # -- gymnasium -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self.real.reset(seed=seed)
        instruction = str(info.get(INSTRUCTION_KEY, ""))
        if self.episodes is not None:
            keys = self.keyframes
            start = self.start_at(*keys[int(self.np_random.integers(len(keys)))], instruction)
        else:
            start = Start(np.asarray(obs[self.camera_key])[None],
                          np.asarray(obs[STATE_KEY], np.float32)[None], instruction)
        first = self.imagination.begin(0, start, int(self.np_random.integers(2**31)))
        self._started = True
        return first, {INSTRUCTION_KEY: instruction}

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool,
                                                 dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.step_chunk(np.asarray(action)[None])
        return obs, float(rewards.sum()), terminated, truncated, info

    def step_chunk(self, actions: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, bool,
                                                        bool, dict[str, Any]]:
        """Imagine up to the chunk's end, the first success or the horizon."""
        if not self._started:
            raise RuntimeError("step before reset: call reset() first")
        result = self.imagination.step([0], [np.asarray(actions, np.float32)])[0]
        if result[2] or result[3]:
            self._started = False
        return result

    def vector(self, slots: int, starts: Any, chunk: int) -> ImaginedVector:
        """``slots`` imagined episodes on this env's models, stepped as one batch (for the
        rollout engine); ``starts(seed)`` gives each episode's `Start`."""
        imagination = Imagination(self.model, self.scorer, self.state_box, self.action_box,
                                  self.max_episode_steps, slots)
        return ImaginedVector(imagination, starts, chunk, int(self.action_box.shape[0]))

    def real_start(self, seed: int) -> Start:
        """The source env's first observation after ``reset(seed)`` as a start."""
        obs, info = self.real.reset(seed=seed)
        return Start(np.asarray(obs[self.camera_key])[None],
                     np.asarray(obs[STATE_KEY], np.float32)[None],
                     str(info.get(INSTRUCTION_KEY, "")))

    def render(self) -> np.ndarray | None:
        slot = self.imagination.slots[0]
        if self.render_mode != "rgb_array" or slot is None:
            return None
        return np.asarray(slot.obs[self.camera_key])

    def close(self) -> None:
        self.real.close()
        super().close()
