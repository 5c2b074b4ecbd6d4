"""The settings every chunk-level TD3 + BC method shares (HALO-WA, RL-token, PLD), so that they
differ in method and never in budget or objective.

A method's config dataclass extends `ChunkTD3Config` with its own fields only. Presets fix
network sizes and learning rates together: ``paper`` (the HALO-WA paper's values, for a GPU),
``cpu`` (an eighth-width network, the TD3 learning rate 3e-4 and a 500-step BC warm-up, so an
online run fits in minutes on a two-core laptop) and ``auto`` (``paper`` when a CUDA device is
present, else ``cpu``). Precedence: field defaults <- preset <- the method's own defaults <-
the user's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from warl.core.errors import ConfigError, check_at_least
from warl.core.settings import check_choice, check_range, parse_settings

PRESETS = ("auto", "paper", "cpu")
GAMMA_UNITS = ("step", "chunk")
EXPLORATION_SHAPES = ("action", "chunk")
# The cpu preset's values of fields a method may have; each applies where the field exists.
CPU_PRESET: dict[str, Any] = {
    "hidden": 64,
    "heads": 4,
    "actor_decoder": (128, 64),
    "q_head": (256, 128, 64),
    "actor_lr": 3e-4,
    "critic_lr": 3e-4,
    "bc_warmup_steps": 500,
}

T = TypeVar("T", bound="ChunkTD3Config")


@dataclass(frozen=True)
class ChunkTD3Config:
    """Attributes (HALO-WA paper value in brackets):

    preset: ``auto`` | ``paper`` | ``cpu`` (see the module docstring); fields given explicitly
        win over the preset.
    chunk: C, actions executed per decision [12].
    hidden: width of the actor and critic [512].
    gamma: the discount [0.82-0.98 per task; 0.98 for the 480-step Block Assembly, the
        closest horizon to MetaWorld's 500].
    gamma_unit: how equation 5 reads gamma: ``step`` (as written, a discount per env step, so
        gamma^C per chunk) or ``chunk`` (a discount per chunk). At gamma 0.82 and C = 12 the
        first makes 0.09 per chunk; the paper does not settle which it ran [step].
    utd: gradient updates per collected chunk transition [5].
    critic_actor_ratio: critic updates per actor (and target) update [2].
    bc_coef: lambda_BC of equation (7) [50].
    reference_weight: weight of the BC term on actions whose a_ref is the WA (or base)
        reference, that is actions of failed trajectories that no one intervened on; actions
        of successful trajectories and interventions weigh 1. At 1 (the paper's rule) the
        actor is pulled toward what the WA model would do wherever it failed; at 0 it clones
        only what succeeded and the critic alone steers it elsewhere (for PLD, whose a_ref
        is the base chunk everywhere, it scales its whole BC term) [1].
    batch_size: transitions per update [64].
    actor_lr: [2.5e-5]. critic_lr: [3.0e-5].
    tau: Polyak rate of the target networks (TD3) [0.005].
    exploration_noise: std of the Gaussian noise added to the actor's chunk while collecting
        (TD3) [0.1].
    exploration_shape: ``action`` draws the noise for every action of the chunk (TD3 as
        written); ``chunk`` draws one noise vector per chunk and holds it over its C actions,
        a temporally correlated push that moves the arm C times further than independent
        draws of the same std, so the critic sees actions whose effects differ [action].
    target_noise / target_noise_clip: TD3 target policy smoothing [0.2 / 0.5].
    clamp_target: clamp y to [0, max_return] for sparse success rewards (section 3.3) [on].
    max_return: the largest attainable return (sparse reward: 1) [1.0].
    demo_fraction: share of each batch drawn from the demonstration buffer [0.5].
    learning_starts: transitions collected before the first update [one batch].
    seed: seeds the networks and the exploration noise.
    """

    preset: str = "auto"
    chunk: int = 12
    hidden: int = 512
    gamma: float = 0.98
    gamma_unit: str = "step"
    utd: int = 5
    critic_actor_ratio: int = 2
    bc_coef: float = 50.0
    reference_weight: float = 1.0
    batch_size: int = 64
    actor_lr: float = 2.5e-5
    critic_lr: float = 3.0e-5
    tau: float = 0.005
    exploration_noise: float = 0.1
    exploration_shape: str = "action"
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    clamp_target: bool = True
    max_return: float = 1.0
    demo_fraction: float = 0.5
    learning_starts: int = 64
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_preset(preset: str, what: str) -> str:
    if preset not in PRESETS:
        raise ConfigError(f"{what}: preset={preset!r} is not one of {', '.join(PRESETS)}")
    if preset != "auto":
        return preset
    import torch

    return "paper" if torch.cuda.is_available() else "cpu"


def make_td3_config(cls: type[T], settings: Mapping[str, Any], what: str,
                    method_defaults: Mapping[str, Any] | None = None) -> T:
    """``cls`` from defaults <- preset <- ``method_defaults`` <- ``settings`` (checked), then
    the shared range checks."""
    preset = resolve_preset(str(settings.get("preset", "auto")), what)
    names = {f.name for f in fields(cls)}
    base = {k: v for k, v in CPU_PRESET.items() if k in names} if preset == "cpu" else {}
    base.update(method_defaults or {})
    config = parse_settings(cls, {**settings, "preset": preset}, what, base)
    check_at_least(config, ("chunk", "utd", "critic_actor_ratio", "batch_size", "hidden"), 1,
                   f"{what}: ")
    check_at_least(config, ("learning_starts",), 0, f"{what}: ")
    check_range(config, "gamma", 0.0, 1.0, f"{what}: ", low_open=True)
    check_choice(config, "gamma_unit", GAMMA_UNITS, f"{what}: ")
    check_choice(config, "exploration_shape", EXPLORATION_SHAPES, f"{what}: ")
    check_range(config, "demo_fraction", 0.0, 1.0, f"{what}: ")
    check_range(config, "reference_weight", 0.0, None, f"{what}: ")
    check_range(config, "tau", 0.0, 1.0, f"{what}: ", low_open=True)
    for name in ("actor_lr", "critic_lr"):
        check_range(config, name, 0.0, None, f"{what}: ", low_open=True)
    return config


def check_td3_settings(make: Callable[[Mapping[str, Any]], Any],
                       settings: Mapping[str, Any]) -> None:
    """Check ``settings`` with ``make`` (a method's ``make_config``) before any work, without
    importing torch: ``auto`` resolves to ``paper`` or ``cpu`` by whether CUDA is present,
    which only torch can tell, so an ``auto`` run's settings must be valid under both."""
    if settings.get("preset", "auto") != "auto":
        make(settings)
        return
    for preset in ("cpu", "paper"):
        make({**settings, "preset": preset})
