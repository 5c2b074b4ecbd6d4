"""Record evaluation episodes as mp4 files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from warl.core.envs.contract import video_frame


def write_mp4(path: str | Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    """Write uint8 H x W x 3 frames to ``path`` (H.264 through imageio-ffmpeg)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # macro_block_size=1 keeps small frames (e.g. 64x64) at their size instead of padding.
    writer: Any = imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1)
    with writer:
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8))
    return path


class RecordEpisodeVideo(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """Saves every ``every``-th episode to ``folder/<prefix>-<index>.mp4``.

    Frames come from the first ``rgb_<camera>`` observation key, or ``env.render()``.
    """

    def __init__(
        self,
        env: gym.Env[Any, np.ndarray],
        folder: str | Path,
        prefix: str = "episode",
        fps: int = 30,
        every: int = 1,
    ) -> None:
        super().__init__(env)
        self.folder = Path(folder)
        self.prefix = prefix
        self.fps = fps
        self.every = every
        self.episode = -1
        self.frames: list[np.ndarray] = []
        self.saved: list[Path] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._flush()
        obs, info = self.env.reset(**kwargs)
        self.episode += 1
        self._capture(obs)
        return obs, info

    def step(self, action: np.ndarray) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._capture(obs)
        if terminated or truncated:
            self._flush()
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self._flush()
        super().close()

    def _recording(self) -> bool:
        return self.episode >= 0 and self.episode % self.every == 0

    def _capture(self, obs: Any) -> None:
        if not self._recording():
            return
        frame = video_frame(self.env, obs)
        if frame is None:
            raise RuntimeError(
                "RecordEpisodeVideo needs an rgb_<camera> observation or "
                "render_mode='rgb_array'; enable cameras or rendering on the env."
            )
        self.frames.append(frame)

    def _flush(self) -> None:
        if self.frames:
            path = self.folder / f"{self.prefix}-{self.episode:04d}.mp4"
            self.saved.append(write_mp4(path, self.frames, self.fps))
        self.frames = []
