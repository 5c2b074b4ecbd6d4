"""`ChunkReplay`: chunk transitions with every RL state stored once.

A transition (s_t, a, R, s_{t+C}) shares s_{t+C} with the next transition's s_t, and the RL
state (HALO-WA's WA latents above all) is most of a transition's bytes. So the buffer writes an
episode's decisions as consecutive rows holding ``obs`` only, and the state after a row's
chunk is the ``obs`` of the row after it, as TorchRL's slice samplers read trajectories. A
run of transitions whose successor is not stored (the episode's last decision, or the last one
a ``keep`` rule selected) is followed by a *holder* row: its ``next`` state, not sampled
itself. Rows carry a chain id; a row is a sampleable transition while the row after it holds
the same chain (the round-robin writer may have overwritten it).

A sampled batch looks as before: ``obs``, ``next`` and every other field of the transition.

States are stored at ``precision`` (``float32``, ``float16`` or ``bfloat16``) and read back as
float32. The WA latents are the means of a VAE posterior whose standard deviations are orders
of magnitude above float16's rounding error (2^-11 relative), so float16 loses nothing the
critic could use; ``float32`` keeps them exactly as produced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError
from warl.core.replay import load_buffer, make_buffer, save_buffer

PRECISIONS = ("float32", "float16", "bfloat16")
_INTERNAL = ("chain", "sampleable")


class ChunkReplay:
    """Chunk transitions in ``capacity`` rows of TorchRL memmap storage (`make_buffer`)."""

    def __init__(self, capacity: int, scratch_dir: str | Path,
                 precision: str = "float32") -> None:
        import torch

        if precision not in PRECISIONS:
            raise ConfigError(f"replay precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {precision!r}")
        self.buffer = make_buffer(capacity, scratch_dir)
        self.capacity = capacity
        self.dtype = getattr(torch, precision)
        self._chain = torch.full((capacity,), -1, dtype=torch.int64)
        self._sampleable = torch.zeros(capacity, dtype=torch.bool)
        self._valid = torch.zeros(0, dtype=torch.int64)
        self._next_chain = 0

    def __len__(self) -> int:
        """The number of sampleable transitions."""
        return len(self._valid)

    @property
    def rows(self) -> int:
        """Rows written (transitions plus holders)."""
        return len(self.buffer)

    def extend(self, data: Any) -> None:
        """Store transitions (a TensorDict with ``obs`` and ``next``, in episode order)."""
        import torch

        n = len(data)
        if not n:
            return
        obs, nxt = data["obs"], data["next"]
        # Row t+1 holds row t's next state when the two are the same state, bit for bit.
        linked = torch.zeros(n, dtype=torch.bool)
        if n > 1:
            same = [(nxt[k][:-1] == obs[k][1:]).reshape(n - 1, -1).all(1)
                    for k in obs.keys()]  # noqa: SIM118 (iterating a TensorDict walks its rows)
            linked[:-1] = torch.stack(same).all(0)
        holder_after = ~linked
        per = 1 + holder_after.long()
        step_pos = torch.cumsum(per, 0) - per
        hold_pos = step_pos[holder_after] + 1
        total = int(per.sum())
        rest = data.exclude("obs", "next")
        rows = rest[:1].expand(total).clone().zero_()
        rows[step_pos] = rest
        states = obs.apply(self._stored)[:1].expand(total).clone().zero_()
        states[step_pos] = obs.apply(self._stored)
        states[hold_pos] = nxt[holder_after].apply(self._stored)
        rows["obs"] = states
        holder = torch.ones(total, dtype=torch.bool)
        holder[step_pos] = False
        rows["sampleable"] = ~holder
        rows["chain"] = self._next_chain + torch.cumsum(holder.long(), 0) - holder.long()
        self._next_chain = int(rows["chain"][-1]) + 1
        index = self.buffer.extend(rows)
        self._chain[index] = rows["chain"]
        self._sampleable[index] = rows["sampleable"]
        self._refresh()

    def _stored(self, t: Any) -> Any:
        return t.to(self.dtype) if t.is_floating_point() else t

    def _refresh(self) -> None:
        import torch

        following = torch.roll(self._chain, -1)
        # Unwritten rows hold chain -1, so the last row written before a wrap has no successor.
        valid = self._sampleable & (following == self._chain) & (self._chain >= 0)
        self._valid = torch.nonzero(valid).squeeze(1)

    def transitions(self, rows: Any) -> Any:
        """The transitions at storage rows ``rows`` with ``next`` read from the rows after."""
        import torch

        n = len(rows)
        # One gather from storage for both the rows and the rows after them.
        both = self.buffer.storage[torch.cat([rows, torch.remainder(rows + 1, self.capacity)])]
        data = both[:n].exclude(*_INTERNAL, "index")
        data["obs"] = data["obs"].apply(_float32)
        data["next"] = both[n:]["obs"].apply(_float32)
        return data

    def sample(self, batch_size: int) -> Any:
        import torch

        if not len(self):
            raise ConfigError("cannot sample from an empty replay buffer; collect data first")
        pick = torch.randint(0, len(self._valid), (batch_size,))
        return self.transitions(self._valid[pick])

    def __getitem__(self, index: Any) -> Any:
        """Transitions by position among the sampleable ones (oldest row first)."""
        return self.transitions(self._valid[index])

    def save(self, directory: Path) -> None:
        save_buffer(self.buffer, directory)

    def load(self, directory: Path) -> None:
        load_buffer(self.buffer, directory)
        rows = len(self.buffer)
        if rows:
            stored = self.buffer[:rows]
            if "chain" not in stored.keys():  # noqa: SIM118 (a TensorDict)
                raise ConfigError(f"{directory} holds a replay buffer from warl 0.2 (every "
                                  f"next state stored twice); resume it with warl 0.2, or "
                                  f"start a new run")
            self._chain[:rows] = stored["chain"]
            self._sampleable[:rows] = stored["sampleable"]
            self._next_chain = int(self._chain.max()) + 1
        self._refresh()


def _float32(t: Any) -> Any:
    return t.float() if t.is_floating_point() else t
