"""Replay for chunk-level transitions: TorchRL buffers on memory-mapped disk storage.

A buffer is assembled from TorchRL parts (`LazyMemmapStorage`, `RandomSampler`, the default
round-robin writer), so it holds more transitions than fit in RAM and is saved with its write
cursor. `MixedReplay` draws each batch from a demonstration buffer and the online buffer at a
fixed ratio (HALO-WA: 1:1, "50% demonstration data and 50% online replay data").
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError

WRITER_FILE = "writer.json"


def make_buffer(capacity: int, scratch_dir: str | Path) -> Any:
    """A `TensorDictReplayBuffer` of ``capacity`` transitions, memory-mapped in ``scratch_dir``."""
    from torchrl.data import LazyMemmapStorage, TensorDictReplayBuffer
    from torchrl.data.replay_buffers.samplers import RandomSampler

    if capacity < 1:
        raise ConfigError(f"replay capacity must be >= 1, got {capacity}")
    storage = LazyMemmapStorage(capacity, scratch_dir=str(scratch_dir))
    return TensorDictReplayBuffer(storage=storage, sampler=RandomSampler())


class MixedReplay:
    """The online buffer and the demonstration buffer, sampled at ``demo_fraction``, or in
    proportion to their sizes when it is None (one dataset, uniformly: HG-DAgger's aggregate).

    While one of them is empty the whole batch comes from the other, so training can start
    from demonstrations alone (or run without any).
    """

    def __init__(self, online: Any, demos: Any, demo_fraction: float | None = 0.5) -> None:
        if demo_fraction is not None and not 0.0 <= demo_fraction <= 1.0:
            raise ConfigError(f"demo_fraction must be in [0, 1], got {demo_fraction}")
        self.online, self.demos, self.demo_fraction = online, demos, demo_fraction

    def __len__(self) -> int:
        return len(self.online) + len(self.demos)

    def split(self, batch_size: int) -> tuple[int, int]:
        """How many of ``batch_size`` come from the demos and from the online buffer."""
        if not len(self.demos):
            return 0, batch_size
        if not len(self.online):
            return batch_size, 0
        fraction = self.demo_fraction
        if fraction is None:
            fraction = len(self.demos) / len(self)
        n_demo = math.floor(batch_size * fraction + 0.5)
        return n_demo, batch_size - n_demo

    def sample(self, batch_size: int) -> Any:
        import torch

        if not len(self):
            raise ConfigError("cannot sample from empty replay buffers; collect data first")
        n_demo, n_online = self.split(batch_size)
        parts = []
        if n_demo:
            parts.append(self.demos.sample(n_demo))
        if n_online:
            parts.append(self.online.sample(n_online))
        return torch.cat(parts, 0) if len(parts) > 1 else parts[0]

    def save(self, directory: str | Path) -> None:
        """Both buffers with their contents and write cursors."""
        from warl.core.chunk_replay import ChunkReplay

        directory = Path(directory)
        for name, buffer in (("online", self.online), ("demos", self.demos)):
            if isinstance(buffer, ChunkReplay):
                buffer.save(directory / name)
            else:
                save_buffer(buffer, directory / name)

    def load(self, directory: str | Path) -> None:
        directory = Path(directory)
        for name in ("online", "demos"):
            if not (directory / name / WRITER_FILE).is_file():
                raise ConfigError(f"{directory} holds no saved {name!r} replay buffer")
        from warl.core.chunk_replay import ChunkReplay

        for name, buffer in (("online", self.online), ("demos", self.demos)):
            if isinstance(buffer, ChunkReplay):
                buffer.load(directory / name)
            else:
                load_buffer(buffer, directory / name)


def _writer(buffer: Any) -> Any:
    return getattr(buffer, "writer", None) or buffer._writer


def save_buffer(buffer: Any, directory: Path) -> None:
    """The filled part of ``buffer`` (storage order) as a memory-mapped TensorDict, and the
    writer's state (cursor, write count).

    TorchRL's ``dumps`` copies the whole preallocated storage, empty slots included
    (gigabytes for a large capacity); this writes only what was stored.
    """
    import json

    directory.mkdir(parents=True, exist_ok=True)
    if len(buffer):
        buffer[: len(buffer)].memmap(str(directory / "data"), copy_existing=True)
    (directory / WRITER_FILE).write_text(json.dumps(
        {"length": len(buffer), "writer": _writer(buffer).state_dict()}))


def load_buffer(buffer: Any, directory: Path) -> None:
    import json

    from tensordict import TensorDict

    state = json.loads((directory / WRITER_FILE).read_text())
    if state["length"]:
        buffer.extend(TensorDict.load_memmap(str(directory / "data")))
    _writer(buffer).load_state_dict(state["writer"])
