"""Training samples for the WA model: (observation, next H actions, K future observations)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.errors import IncompatibleModelError


class DemoSamples:
    """All demonstrations of one HDF5 file in memory, indexed for chunk sampling.

    Chunks that run past an episode's end repeat its last action (the arm holds still), and
    future observations past the end repeat the last observation.
    """

    def __init__(self, path: str | Path, keys: Sequence[str], horizon: int,
                 prediction_steps: int, successful_only: bool = True) -> None:
        import h5py

        obs: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        actions, chunk_index, future_index = [], [], []
        offsets = np.linspace(horizon / prediction_steps, horizon, prediction_steps).round()
        start = 0
        with h5py.File(path, "r") as f:
            data = f["data"]
            names = sorted(data, key=lambda n: int(n.split("_")[-1]))
            for name in names:
                demo = data[name]
                if successful_only and not bool(demo.attrs.get("success", False)):
                    continue
                for key in keys:
                    if key not in demo["obs"]:
                        raise IncompatibleModelError(
                            f"demo file {path} has no observation {key!r} (it has "
                            f"{sorted(demo['obs'])}); record it with the model's cameras"
                        )
                    obs[key].append(demo["obs"][key][()])
                acts = demo["actions"][()].astype(np.float32)
                t = np.arange(len(acts))
                last = start + len(acts) - 1
                chunk_index.append(np.minimum(start + t[:, None] + np.arange(horizon), last))
                future_index.append(np.minimum(start + t[:, None] + offsets.astype(int), last))
                actions.append(acts)
                start += len(acts)
        if not actions:
            raise IncompatibleModelError(f"demo file {path} has no successful demonstrations")
        self.obs = {k: np.concatenate(v) for k, v in obs.items()}
        self.actions = np.concatenate(actions)
        self.chunk_index = np.concatenate(chunk_index)
        self.future_index = np.concatenate(future_index)
        self.episodes = len(actions)

    def __len__(self) -> int:
        return len(self.actions)

    def batch(self, index: np.ndarray) -> dict[str, Any]:
        future = self.future_index[index]
        return {
            "obs": {k: v[index] for k, v in self.obs.items()},
            "actions": self.actions[self.chunk_index[index]],
            "future": {k: v[future] for k, v in self.obs.items()},
        }
