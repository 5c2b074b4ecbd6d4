"""The algorithm interface every algorithm plugin implements (composition, not a base class)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

# What an algorithm may declare in `needs`; the training loop provides each one.
NEEDS = frozenset({"wa_model", "world_model", "reward_model", "demos", "intervention"})


@runtime_checkable
class Algorithm(Protocol):
    """An algorithm plugin: built by ``target(env, **config)``.

    Attributes:
        needs: what the loop must provide (a subset of `NEEDS`).
    """

    needs: frozenset[str]

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> np.ndarray:
        """Return the next (C, A) action chunk."""
        ...

    def update(self, batch: Any) -> dict[str, float]:
        """One learning step on ``batch``; returns scalar metrics (losses, ...)."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...
