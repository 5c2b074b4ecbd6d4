"""GRPO's settings. The group advantage, the clipped ratio, the success mask and the
length normalisation follow WoVR's masked GRPO (section 3.4, "GRPO-online" baseline); the
constants the paper leaves open are settings, with the values measured to work here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from warl.core.errors import check_at_least
from warl.core.settings import check_range, parse_settings


@dataclass(frozen=True)
class GRPOConfig:
    """Attributes:

    chunk: C, actions executed per decision [12, as HALO-WA, so rows compare].
    group_size: G, episodes from one initial state per group [8].
    groups_per_update: groups (initial states) collected per update [2].
    epochs: optimisation passes over each batch (the first is on-policy; later ones use the
        clipped ratio) [4].
    clip: epsilon of the clipped ratio [0.2].
    lr: Adam learning rate of the head [3e-4].
    max_grad_norm: gradient clipping [1.0].
    init_std: initial standard deviation of the Gaussian over each action [0.3].
    min_std: floor of the learned standard deviation [0.02].
    learn_std: train the log standard deviation with the mean [true].
    noise_correlation: rho, the correlation in time of the exploration noise over a chunk's
        C actions (`ChunkNormal`), in [0, 0.99]; 0 samples each action independently [0.0].
    scale: bound of the learned shift of the mean: mu = clip(a~ + scale * tanh(f(s)), -1, 1);
        f's last layer starts at zero, so the mean starts at the WA reference [0.5].
    hidden: width of f [64]. layers: hidden layers of f [2].
    normalize_advantage: divide each group's advantages by their standard deviation (the
        original GRPO); off keeps WoVR's A_i = R_i - mean_j R_j [false].
    gamma: the return's discount per env step, R = sum_t gamma^(t-1) r_t (WoVR equation 10,
        which leaves it open); each chunk's reward counts at its last executed step, exact
        for a sparse success that ends the episode, where R = gamma^(T-1). 1 makes R the
        success itself [1.0].
    seed: seeds the head and the sampling.
    """

    chunk: int = 12
    group_size: int = 8
    groups_per_update: int = 2
    epochs: int = 4
    clip: float = 0.2
    lr: float = 3e-4
    max_grad_norm: float = 1.0
    init_std: float = 0.3
    min_std: float = 0.02
    learn_std: bool = True
    noise_correlation: float = 0.0
    scale: float = 0.5
    hidden: int = 64
    layers: int = 2
    normalize_advantage: bool = False
    gamma: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_config(settings: Mapping[str, Any]) -> GRPOConfig:
    c = parse_settings(GRPOConfig, settings, "grpo")
    check_at_least(c, ("chunk", "group_size", "groups_per_update", "epochs", "hidden"), 1,
                   "grpo: ")
    check_at_least(c, ("layers",), 0, "grpo: ")
    if c.group_size < 2:
        from warl.core.errors import ConfigError

        raise ConfigError("grpo: group_size must be >= 2 (the advantage compares episodes of "
                          f"a group), got {c.group_size}")
    check_range(c, "clip", 0.0, 1.0, "grpo: ", low_open=True)
    check_range(c, "lr", 0.0, None, "grpo: ", low_open=True)
    check_range(c, "init_std", 0.0, None, "grpo: ", low_open=True)
    check_range(c, "min_std", 0.0, c.init_std, "grpo: ", low_open=True)
    check_range(c, "noise_correlation", 0.0, 0.99, "grpo: ")  # 1 is a degenerate Gaussian
    check_range(c, "scale", 0.0, 2.0, "grpo: ", low_open=True)
    check_range(c, "gamma", 0.0, 1.0, "grpo: ", low_open=True)
    return c
