"""WA-base: the frozen world-action model acting alone, the row every table starts from.

HALO-WA (section 7.2): "we directly execute the action chunks predicted by the frozen
GigaWorld Policy, without enabling actor takeover." Here: the first C actions of each
reference chunk are executed open-loop, then the model re-infers from the new observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from warl.core.errors import ConfigError, ContractError
from warl.core.world_model import WAOutput, WorldActionModel
from warl.plugins.algorithms.wa_base.config import WABaseConfig, make_config


class WABase:
    """`Algorithm` that returns ``wa_output.ref_actions[0, :C]``; it has nothing to learn."""

    needs = frozenset({"wa_model"})
    evaluation_only = True  # `warl train wa-base` evaluates it; there is nothing to train

    def __init__(self, env: Any, wa_model: WorldActionModel, chunk: int = 12) -> None:
        self.config = WABaseConfig(chunk=chunk)
        if not 1 <= chunk <= wa_model.horizon:
            raise ConfigError(
                f"wa-base: chunk must be between 1 and the WA model's horizon "
                f"({wa_model.horizon}), got {chunk}"
            )
        self.chunk = chunk
        self.action_dim = wa_model.action_dim

    make_config = staticmethod(make_config)

    @staticmethod
    def default_config() -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return asdict(WABaseConfig())

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        if wa_output is None:
            raise ContractError("wa-base acts on a WA model's output; none was given")
        return wa_output.ref_actions[0, : self.chunk].detach().cpu().numpy().astype(np.float32)

    def update(self, batch: Any) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = dict(state.get("config", {}))
        if saved and saved != asdict(self.config):
            raise ConfigError(f"wa-base: state has config {saved}, this one is "
                              f"{asdict(self.config)}")
