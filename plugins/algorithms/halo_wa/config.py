"""HALO-WA's settings: every default from the paper (sections 3.3, 7.8, 7.9; tables 4-5).

Two presets fix the network sizes and learning rates together:

- ``paper``: the adapter of appendix 7.8 (hidden 512, decoder 512-1024-512-A, Q heads
  512-2048-1024-512-1) and the learning rates of table 4 (actor 2.5e-5, critic 3.0e-5).
- ``cpu``: an eighth-width adapter (hidden 64, same depth) with the TD3 learning rate 3e-4
  and a 500-step BC warm-up of the actor (the paper's real-world recipe), so that an online
  run fits in minutes on a two-core laptop.
  Everything else (chunk, UTD, critic:actor ratio, lambda_BC, batch, demo ratio) stays at the
  paper's values.
- ``auto`` (default): ``paper`` when a CUDA device is present, else ``cpu``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from warl.core.errors import ConfigError, check_at_least, check_known_settings

LATENT_SOURCES = ("latents", "intermediate", "raw_image", "none")
PRESETS = ("auto", "paper", "cpu")


@dataclass(frozen=True)
class HaloWAConfig:
    """Attributes (paper value in brackets):

    preset: ``auto`` | ``paper`` | ``cpu`` (see the module docstring); fields given explicitly
        win over the preset.
    chunk: C, actions executed per decision [12].
    hidden: token width of actor and critic [512].
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
    gamma: discount per env step; the target uses gamma^C per chunk [0.82-0.98 per task;
        0.98 for the 480-step Block Assembly, the closest horizon to MetaWorld's 500].
    utd: gradient updates per collected chunk transition [5].
    critic_actor_ratio: critic updates per actor (and target) update [2].
    bc_coef: lambda_BC of equation (7) [50].
    batch_size: transitions per update [64].
    actor_lr: [2.5e-5]. critic_lr: [3.0e-5].
    tau: Polyak rate of the target networks (TD3) [0.005].
    exploration_noise: std of the Gaussian noise added to the actor's chunk while collecting
        (TD3) [0.1].
    target_noise / target_noise_clip: TD3 target policy smoothing [0.2 / 0.5].
    clamp_target: clamp y to [0, max_return] for sparse success rewards (section 3.3) [on].
    max_return: the largest attainable return (sparse reward: 1) [1.0].
    demo_fraction: share of each batch drawn from the demonstration buffer [0.5].
    bc_warmup_steps: offline BC updates of the actor on the demonstrations before online
        training (real world: on; simulation: off) [0].
    learning_starts: transitions collected before the first update [one batch].
    seed: seeds the networks and the exploration noise.
    """

    preset: str = "auto"
    chunk: int = 12
    hidden: int = 512
    heads: int = 8
    actor_decoder: tuple[int, ...] = (1024, 512)
    q_head: tuple[int, ...] = (2048, 1024, 512)
    residual: float = 0.0
    fusion: str = "hybrid"
    latent_source: str = "latents"
    gamma: float = 0.98
    utd: int = 5
    critic_actor_ratio: int = 2
    bc_coef: float = 50.0
    batch_size: int = 64
    actor_lr: float = 2.5e-5
    critic_lr: float = 3.0e-5
    tau: float = 0.005
    exploration_noise: float = 0.1
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    clamp_target: bool = True
    max_return: float = 1.0
    demo_fraction: float = 0.5
    bc_warmup_steps: int = 0
    learning_starts: int = 64
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CPU_PRESET: dict[str, Any] = {
    "hidden": 64,
    "heads": 4,
    "actor_decoder": (128, 64),
    "q_head": (256, 128, 64),
    "actor_lr": 3e-4,
    "critic_lr": 3e-4,
    "bc_warmup_steps": 500,
}


def resolve_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise ConfigError(f"halo-wa: preset must be one of {PRESETS}, got {preset!r}")
    if preset != "auto":
        return preset
    import torch

    return "paper" if torch.cuda.is_available() else "cpu"


def make_config(settings: Mapping[str, Any]) -> HaloWAConfig:
    """Defaults <- preset <- explicit ``settings``; names the bad key or value otherwise."""
    check_known_settings(HaloWAConfig, settings, "halo-wa")
    preset = resolve_preset(str(settings.get("preset", "auto")))
    values = dict(CPU_PRESET) if preset == "cpu" else {}
    values.update(settings)
    values["preset"] = preset
    for key in ("actor_decoder", "q_head"):
        values[key] = tuple(int(w) for w in values.get(key, getattr(HaloWAConfig, key)))
    config = replace(HaloWAConfig(), **values)
    _validate(config)
    return config


def _validate(c: HaloWAConfig) -> None:
    from warl.plugins.algorithms.halo_wa.networks import FUSIONS

    if c.fusion not in FUSIONS:
        raise ConfigError(f"halo-wa: fusion must be one of {FUSIONS}, got {c.fusion!r}")
    if c.latent_source not in LATENT_SOURCES:
        raise ConfigError(
            f"halo-wa: latent_source must be one of {LATENT_SOURCES}, got {c.latent_source!r}")
    if c.hidden % c.heads:
        raise ConfigError(f"halo-wa: hidden ({c.hidden}) must be divisible by heads ({c.heads})")
    if not 0.0 < c.gamma <= 1.0:
        raise ConfigError(f"halo-wa: gamma must be in (0, 1], got {c.gamma}")
    check_at_least(c, ("chunk", "utd", "critic_actor_ratio", "batch_size"), 1, "halo-wa: ")
    if not 0.0 <= c.residual <= 2.0:
        raise ConfigError(f"halo-wa: residual must be in [0, 2], got {c.residual}")
    if not 0.0 <= c.demo_fraction <= 1.0:
        raise ConfigError(f"halo-wa: demo_fraction must be in [0, 1], got {c.demo_fraction}")


def derived_config(cls: type[HaloWAConfig], settings: Mapping[str, Any], name: str,
                   defaults: Mapping[str, Any] | None = None,
                   not_applicable: tuple[str, ...] = ()) -> Any:
    """A config for a method that shares HALO-WA's TD3 objective and loop settings (RL-token,
    PLD): ``cls`` extends `HaloWAConfig`; its own fields and ``defaults`` (method-specific
    values of shared fields) apply over the preset; ``not_applicable`` keys are refused."""
    from dataclasses import fields

    check_known_settings(cls, settings, name)
    for key in not_applicable:
        if key in settings:
            raise ConfigError(f"{name}: {key!r} is a HALO-WA adapter setting that {name} "
                              f"does not have")
    shared = {f.name for f in fields(HaloWAConfig)}
    given = {**dict(defaults or {}), **dict(settings)}
    halo = make_config({k: v for k, v in given.items() if k in shared})
    values = {k: getattr(halo, k) for k in shared}
    values.update({k: v for k, v in given.items() if k not in shared})
    return replace(cls(), **values)
