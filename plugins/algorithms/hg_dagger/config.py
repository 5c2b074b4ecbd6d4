"""HG-DAgger's settings (Kelly et al., ICRA 2019), in the loop's round cadence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from warl.core.errors import ConfigError, check_at_least
from warl.core.settings import parse_settings


@dataclass(frozen=True)
class HGDAggerConfig:
    """Attributes (default in brackets):

    chunk: C, actions executed per decision, as HALO-WA's [12].
    episodes_per_round: novice episodes (with the gated expert) per round [5].
    updates_per_round: BC updates of the novice on the aggregate dataset after each round;
        training continues from the previous round's weights [200].
    batch_size: transitions per BC update [64].
    lr: learning rate of the novice (a copy of the WA action head) [1e-4].
    bc_warmup_steps: BC updates on the demonstrations before the first round: the aggregate
        dataset starts as the demonstrations, and the novice is trained on it [500].
    gate_threshold: the expert takes over when the novice's action deviates from its own by
        more than this (L2 over one step's action) [0.5].
    gate_release: and hands back once the deviation falls below this [gate_threshold / 2].
    gate_min_steps: steps the expert keeps control at least, once it took over [10].
    seed: seeds the novice's sampling noise and the BC batches.
    """

    chunk: int = 12
    episodes_per_round: int = 5
    updates_per_round: int = 200
    batch_size: int = 64
    lr: float = 1e-4
    bc_warmup_steps: int = 500
    gate_threshold: float = 0.5
    gate_release: float | None = None
    gate_min_steps: int = 10
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_config(settings: Mapping[str, Any]) -> HGDAggerConfig:
    config = parse_settings(HGDAggerConfig, settings, "hg-dagger")
    check_at_least(config, ("chunk", "episodes_per_round", "updates_per_round", "batch_size"),
                   1, "hg-dagger: ")
    check_at_least(config, ("bc_warmup_steps", "gate_min_steps"), 0, "hg-dagger: ")
    if config.gate_threshold <= 0 or config.lr <= 0:
        raise ConfigError(f"hg-dagger: gate_threshold and lr must be positive, got "
                          f"{config.gate_threshold} and {config.lr}")
    if config.gate_release is not None and not 0 < config.gate_release <= config.gate_threshold:
        raise ConfigError(f"hg-dagger: gate_release must be in (0, gate_threshold], got "
                          f"{config.gate_release}")
    return config
