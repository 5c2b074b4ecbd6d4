"""The N envs a `RolloutEngine` steps as one batch, any subset at a time.

Episodes of one batch end at different steps, and an env whose episode has ended must not be
stepped again (MetaWorld refuses a step past its horizon), so the engine resets and steps the
*active* envs only:

- `SerialVector`: the envs live in this process and step one after another. The default: it
  costs nothing per step, and an env's intervention source can call back into the engine's WA
  model (HALO-WA's re-inference after a takeover) and record video frames.
- `GymVector`: Gymnasium's `AsyncVectorEnv` (or `SyncVectorEnv`), one process per env, with
  autoreset off; envs outside the stepped subset are *parked* (`Parkable`): a step returns
  their last result without touching the simulator. Env steps then run in parallel; an
  intervention source that re-infers with the WA model cannot cross the process boundary.
- An env with its own batched mode (a GPU simulator stepping N scenes at once) implements
  `ChunkVector` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from warl.core.envs.chunked import ChunkedEnv

StepResult = tuple[Any, Any, bool, bool, dict[str, Any]]


class ChunkVector(Protocol):
    """N chunked envs, reset and stepped by index."""

    num_envs: int

    def reset_at(self, indices: Sequence[int], seeds: Sequence[int]
                 ) -> list[tuple[Any, dict[str, Any]]]: ...

    def step_at(self, indices: Sequence[int], chunks: Sequence[np.ndarray]
                ) -> list[StepResult]: ...

    def local(self, index: int) -> ChunkedEnv | None:
        """Env ``index`` when it lives in this process (for re-inference hooks and video
        frames), else None."""
        ...

    def close(self) -> None: ...


class SerialVector:
    """The envs in this process, stepped one after another."""

    def __init__(self, envs: Sequence[ChunkedEnv]) -> None:
        if not envs:
            raise ValueError("a vector needs at least one env")
        self.envs = list(envs)
        self.num_envs = len(self.envs)

    def reset_at(self, indices: Sequence[int], seeds: Sequence[int]
                 ) -> list[tuple[Any, dict[str, Any]]]:
        return [self.envs[i].reset(seed=int(s)) for i, s in zip(indices, seeds, strict=True)]

    def step_at(self, indices: Sequence[int], chunks: Sequence[np.ndarray]
                ) -> list[StepResult]:
        return [self.envs[i].step(c) for i, c in zip(indices, chunks, strict=True)]

    def local(self, index: int) -> ChunkedEnv | None:
        return self.envs[index]

    def close(self) -> None:
        pass  # the envs belong to whoever built them


class Parkable(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """While ``parked``, ``step`` returns the last result without stepping the env: how a
    Gymnasium vector env, which steps every sub-env, steps a subset."""

    def __init__(self, env: gym.Env[Any, np.ndarray]) -> None:
        super().__init__(env)
        self.parked = False
        self._last: StepResult | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._last = (obs, 0.0, False, False, {})
        return obs, info

    def step(self, action: np.ndarray) -> StepResult:
        if self.parked:
            assert self._last is not None, "a parked env was never reset"
            return self._last
        result = self.env.step(action)
        self._last = result
        return result


def _parkable(make: Callable[[], ChunkedEnv]) -> Callable[[], Parkable]:
    return lambda: Parkable(make())


class GymVector:
    """Gymnasium's vector env over ``makers`` (picklable callables returning `ChunkedEnv`):
    ``asynchronous`` puts each env in its own process."""

    def __init__(self, makers: Sequence[Callable[[], ChunkedEnv]],
                 asynchronous: bool = True) -> None:
        from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

        fns = [_parkable(m) for m in makers]
        kwargs: dict[str, Any] = {"autoreset_mode": AutoresetMode.DISABLED}
        self.vector: Any = (AsyncVectorEnv(fns, context="spawn", **kwargs) if asynchronous
                            else SyncVectorEnv(fns, **kwargs))
        self.num_envs = len(fns)
        shape = self.vector.single_action_space.shape
        assert shape is not None
        self._zero = np.zeros(shape, np.float32)

    def reset_at(self, indices: Sequence[int], seeds: Sequence[int]
                 ) -> list[tuple[Any, dict[str, Any]]]:
        mask = np.zeros(self.num_envs, bool)
        mask[list(indices)] = True
        seed_list: list[int | None] = [None] * self.num_envs
        for i, s in zip(indices, seeds, strict=True):
            seed_list[i] = int(s)
        obs, info = self.vector.reset(seed=seed_list, options={"reset_mask": mask})
        return [(_row(obs, i), _info_row(info, i)) for i in indices]

    def step_at(self, indices: Sequence[int], chunks: Sequence[np.ndarray]
                ) -> list[StepResult]:
        active = set(indices)
        self.vector.set_attr("parked", [i not in active for i in range(self.num_envs)])
        actions = np.stack([self._zero] * self.num_envs)
        for i, c in zip(indices, chunks, strict=True):
            actions[i, : len(c)] = c
            if len(c) < len(self._zero):  # an early stop: the vector needs a full chunk
                raise ValueError("GymVector steps full chunks only; got a shorter one")
        obs, rewards, terminated, truncated, info = self.vector.step(actions)
        return [(_row(obs, i), float(rewards[i]), bool(terminated[i]), bool(truncated[i]),
                 _info_row(info, i)) for i in indices]

    def local(self, index: int) -> ChunkedEnv | None:
        return None

    def close(self) -> None:
        self.vector.close()


def _row(batch: Any, i: int) -> Any:
    if isinstance(batch, dict):
        return {k: _row(v, i) for k, v in batch.items()}
    return batch[i]


def _info_row(info: dict[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s entries of a vector env's info (Gymnasium stacks them with ``_key`` masks)."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get(f"_{key}")
        if mask is not None and not mask[i]:
            continue
        out[key] = _info_row(value, i) if isinstance(value, dict) else value[i]
    return out
