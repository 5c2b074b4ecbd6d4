"""An SB3 model and its replay buffer as plain tensors, for the loop's checkpoint.

The loop saves ``state_dict()`` with ``torch.save`` and loads it with the safe loader
(tensors, numbers, strings, lists, dicts), and it swaps the whole checkpoint in atomically.
Keeping the model inside that state (SB3's own zip, as bytes) rather than in side files means
a run killed between two writes can never pair a model with another checkpoint's counters.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.errors import ConfigError

# The arrays of SB3's `ReplayBuffer` (``next_observations`` is None with
# ``optimize_memory_usage``; such arrays are skipped).
REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def model_to_tensor(model: Any) -> torch.Tensor:
    """SB3's ``model.save`` zip (networks, optimizers, counters, settings) as uint8."""
    buffer = io.BytesIO()
    model.save(buffer)
    return torch.from_numpy(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())


def model_from_tensor(sb3_class: Any, data: torch.Tensor, device: str) -> Any:
    """The model saved by `model_to_tensor`, with no env (``set_env`` before learning)."""
    return sb3_class.load(io.BytesIO(data.numpy().tobytes()), env=None, device=device)


def replay_to_state(buffer: Any) -> dict[str, Any]:
    """The filled part of ``buffer`` (copied: a view would save the whole allocation) and
    its write cursor."""
    size = buffer.buffer_size if buffer.full else buffer.pos
    state: dict[str, Any] = {"pos": int(buffer.pos), "full": bool(buffer.full),
                             "buffer_size": int(buffer.buffer_size)}
    for name in REPLAY_ARRAYS:
        array = getattr(buffer, name, None)
        if array is not None:
            state[name] = torch.from_numpy(np.array(array[:size]))
    return state


def replay_from_state(buffer: Any, state: Mapping[str, Any]) -> None:
    """Refill ``buffer`` (of the same capacity) from `replay_to_state`'s output."""
    if int(state["buffer_size"]) != buffer.buffer_size:
        raise ConfigError(f"the checkpoint's replay holds {state['buffer_size']} transitions, "
                          f"this buffer_size is {buffer.buffer_size}")
    size = buffer.buffer_size if state["full"] else int(state["pos"])
    for name in REPLAY_ARRAYS:
        array = getattr(buffer, name, None)
        if array is not None and name in state:
            array[:size] = state[name].numpy()
    buffer.pos, buffer.full = int(state["pos"]), bool(state["full"])
