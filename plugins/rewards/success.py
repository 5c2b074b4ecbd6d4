"""`warl/sparse-success`: the env's own sparse success as a reward plugin.

Every algorithm then names its reward the same way, whether it comes from the simulator
(``info["success"]``) or from a learned model (`warl/success-classifier`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from warl.core.envs.contract import SUCCESS_KEY
from warl.core.errors import ContractError
from warl.core.reward import FRAMES


class SparseSuccess:
    """r = 1 when the env reports success after the step, else 0."""

    inputs = FRAMES
    observation_keys: tuple[str, ...] = ()
    observation_shapes: dict[str, tuple[int, ...]] = {}

    def reward(self, observations: Mapping[str, Any],
               infos: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
        if infos is None:
            raise ContractError("warl/sparse-success reads the env's info['success']: pass the "
                                "step infos (in imagination, use a learned reward instead)")
        return np.asarray([float(bool(i.get(SUCCESS_KEY, False))) for i in infos], np.float32)


def make_sparse_success() -> SparseSuccess:
    return SparseSuccess()
