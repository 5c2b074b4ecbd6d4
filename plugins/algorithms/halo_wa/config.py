"""HALO-WA's settings: every default from the paper (sections 3.3, 7.8, 7.9; tables 4-5).

The objective and loop settings (chunk, gamma, UTD, critic:actor ratio, lambda_BC, batch,
learning rates, TD3 noise, demo ratio, presets) are the chunk-level TD3 learner's, shared with
RL-token and PLD (`ChunkTD3Config`); HALO-WA adds the hybrid-attention adapter's. The presets:

- ``paper``: the adapter of appendix 7.8 (hidden 512, decoder 512-1024-512-A, Q heads
  512-2048-1024-512-1) and the learning rates of table 4 (actor 2.5e-5, critic 3.0e-5).
- ``cpu``: an eighth-width adapter (hidden 64, same depth) with the TD3 learning rate 3e-4
  and a 500-step BC warm-up of the actor (the paper's real-world recipe), so that an online
  run fits in minutes on a two-core laptop.
- ``auto`` (default): ``paper`` when a CUDA device is present, else ``cpu``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import check_at_least
from warl.core.settings import check_choice, check_range
from warl.core.training.learners.chunk_td3_config import (
    CPU_PRESET,
    ChunkTD3Config,
    check_td3_settings,
    make_td3_config,
)

__all__ = ["CPU_PRESET", "FUSIONS", "LATENT_SOURCES", "HaloWAConfig", "check_settings",
           "make_config"]

LATENT_SOURCES = ("latents", "intermediate", "raw_image", "none")
FUSIONS = ("hybrid", "cross", "self", "concat", "cnn")  # table 2


@dataclass(frozen=True)
class HaloWAConfig(ChunkTD3Config):
    """The shared TD3 + BC attributes (see `ChunkTD3Config`), plus (paper value in brackets):

    heads: attention heads [8].
    actor_decoder: widths of the shared token-wise decoder after ``hidden`` [1024, 512].
    q_head: widths of each Q head after ``hidden`` [2048, 1024, 512].
    residual: 0 (the paper) decodes the chunk directly; > 0 outputs the WA reference plus a
        correction bounded by this value, starting from zero, so the adapter starts as WA-base
        and needs no warm-up [0].
    fusion: ``hybrid`` | ``cross`` | ``self`` | ``concat`` | ``cnn`` (table 2) [hybrid].
    latent_source: ``latents`` (WA latent features) | ``intermediate`` (WA intermediate
        features) | ``raw_image`` (a trainable image encoder instead of the WA) | ``none``
        (table 2) [latents].
    bc_warmup_steps: offline BC updates of the actor on the demonstrations before online
        training (real world: on; simulation: off) [0].
    """

    heads: int = 8
    actor_decoder: tuple[int, ...] = (1024, 512)
    q_head: tuple[int, ...] = (2048, 1024, 512)
    residual: float = 0.0
    fusion: str = "hybrid"
    latent_source: str = "latents"
    bc_warmup_steps: int = 0


def make_config(settings: Mapping[str, Any]) -> HaloWAConfig:
    """Defaults <- preset <- explicit ``settings``; names the bad key or value otherwise."""
    c = make_td3_config(HaloWAConfig, settings, "halo-wa")
    check_choice(c, "fusion", FUSIONS, "halo-wa: ")
    check_choice(c, "latent_source", LATENT_SOURCES, "halo-wa: ")
    check_at_least(c, ("heads",), 1, "halo-wa: ")
    check_at_least(c, ("bc_warmup_steps",), 0, "halo-wa: ")
    if c.hidden % c.heads:
        from warl.core.errors import ConfigError

        raise ConfigError(f"halo-wa: hidden ({c.hidden}) must be divisible by heads ({c.heads})")
    check_range(c, "residual", 0.0, 2.0, "halo-wa: ")
    return c


def check_settings(settings: Mapping[str, Any]) -> None:
    """`warl train`'s check before any work (without torch: see `check_td3_settings`)."""
    check_td3_settings(make_config, settings)
