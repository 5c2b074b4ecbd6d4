"""WoVR's settings: its own (imagination, KIR, PACE, the simulator it learns) beside those of
the `grpo` learner it optimises with (every `GRPOConfig` field, flat: ``--set clip=0.2``).

The paper (WoVR sections 4-5) fixes masked GRPO, the 5-step world model and one PACE round,
and leaves open the return's discount, G, the clip, the KIR share and window and the PACE
budget: each is a setting below, with the value used here and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from warl.core.errors import ConfigError, check_at_least
from warl.core.settings import check_range, parse_settings, unknown_keys_error
from warl.plugins.algorithms.grpo.config import GRPOConfig
from warl.plugins.algorithms.grpo.config import make_config as grpo_config

NAME = "wovr"

# The learner's defaults WoVR changes: 8-action chunks, the world model's protocol (8-step
# action chunks, 8 new frames), so a decision is one world-model call.
GRPO_DEFAULTS: dict[str, Any] = {"chunk": 8}


@dataclass(frozen=True)
class WoVRConfig:
    """Attributes:

    world_model: the world model used as the simulator [warl/video-wm].
    wm: its settings (`warl info warl/video-wm`); it learns from rollouts of the run's WA
        model unless ``wm.policy=expert`` [{}].
    reward: the ``frames`` reward scored on imagined frames [warl/success-classifier: WoVR's
        r = 1[R(o) >= 0.5]].
    reward_settings: its settings; a learned one trains on the same rollouts' seeds [{}].
    kir_share: share of imagined groups that start from a KIR keyframe rather than a real
        initial frame (`kir`); 0 is "WoVR w/o KIR" [0.5: the paper says "a portion"].
    kir_window: W, chunks before the critical step that count as keyframes [2].
    pace_rounds: PACE refits; 0 is "WoVR w/o PACE". The imagined budget is split evenly
        between the rounds' stages [1, as the paper's experiments].
    pace_rollouts: real episodes of the evolved policy per round [40: the paper's 1,000
        refit trajectories against 1,500 for WM_Base is 2:3, and WM_Base has 60 here].
    pace_dynamics_steps: world-model dynamics steps per refit [1500].
    pace_reward_steps: success-classifier steps per refit [500].
    reward_on_reconstructions: the classifier also learns each labelled frame as the world
        model's autoencoder reconstructs it (decode(encode(o))), in a first stage of
        ``reward_align_steps`` steps and in every PACE refit. Imagined frames are decoded
        by that autoencoder; a classifier trained on real frames alone gave p = 0.001-0.04
        on reconstructions of success frames it scored 0.97-1.00 [true].
    reward_align_steps: classifier steps of that first stage [500].
    max_imagined_steps: the imagined episode's horizon, counted from the real episode's
        start (a keyframe k steps in has that much less); 0 takes the source env's [0].
    pretrained: false builds an untrained world model and classifier (checks, tests) [true].
    seed: seeds the learner, the starts and the refits [0].
    """

    world_model: str = "warl/video-wm"
    wm: dict[str, Any] = field(default_factory=dict)
    reward: str = "warl/success-classifier"
    reward_settings: dict[str, Any] = field(default_factory=dict)
    kir_share: float = 0.5
    kir_window: int = 2
    pace_rounds: int = 1
    pace_rollouts: int = 40
    pace_dynamics_steps: int = 1500
    pace_reward_steps: int = 500
    reward_on_reconstructions: bool = True
    reward_align_steps: int = 500
    max_imagined_steps: int = 0
    pretrained: bool = True
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_settings(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(WoVR's own settings, the learner's), one clear error for a key of neither."""
    own = {f.name for f in fields(WoVRConfig)}
    learner = {f.name for f in fields(GRPOConfig)}
    unknown = set(settings) - own - learner
    if unknown:
        raise unknown_keys_error(unknown, own | learner, NAME)
    mine = {k: v for k, v in settings.items() if k in own}
    theirs = {**GRPO_DEFAULTS, **{k: v for k, v in settings.items() if k in learner}}
    if "seed" in mine:
        theirs.setdefault("seed", mine["seed"])
    return mine, theirs


def make_config(settings: Mapping[str, Any]) -> tuple[WoVRConfig, GRPOConfig]:
    mine, theirs = split_settings(settings)
    c = parse_settings(WoVRConfig, mine, NAME)
    check_range(c, "kir_share", 0.0, 1.0, f"{NAME}: ")
    check_at_least(c, ("kir_window", "pace_rollouts", "pace_dynamics_steps",
                       "pace_reward_steps", "reward_align_steps"), 1, f"{NAME}: ")
    check_at_least(c, ("pace_rounds", "max_imagined_steps"), 0, f"{NAME}: ")
    for key in ("wm", "reward_settings"):
        if not isinstance(getattr(c, key), dict):
            raise ConfigError(f"{NAME}: {key} must be a mapping of settings, got "
                              f"{getattr(c, key)!r}")
    return c, grpo_config(theirs)


def check_settings(settings: Mapping[str, Any]) -> None:
    """Every setting parsed before any work (the registry's ``settings`` hook)."""
    make_config(settings)
