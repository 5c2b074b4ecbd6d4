"""Settings of the success classifier and of the rollouts it learns from."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from warl.core.errors import ConfigError
from warl.core.rollout.recorded import RolloutSpec

REWARD_ID = "warl/success-classifier"


@dataclass(frozen=True)
class ClassifierConfig:
    """Attributes:
        camera, image_size: the frames it reads (64x64 of one camera).
        width: channels of the first convolution (doubling twice).
        threshold: r = 1 when the predicted success probability reaches it [0.5].
        policy, action_noise, wa, episodes: the labelled rollouts (`RolloutSpec`).
        hold: steps recorded after each episode's first success [20]: the success states
            the classifier learns from (0: one frame per successful episode).
        validation: share of the episodes held out for the accuracy report.
        steps, batch_size, lr, seed: training.
    """

    camera: str = "corner"
    image_size: int = 64
    width: int = 16
    threshold: float = 0.5
    policy: str = "wa-base"
    action_noise: float = 0.3
    wa: dict[str, Any] = field(default_factory=dict)
    episodes: int = 40
    hold: int = 20
    validation: float = 0.2
    steps: int = 1500
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size != 64:
            raise ConfigError(f"{REWARD_ID}: image_size must be 64, got {self.image_size}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"{REWARD_ID}: threshold must be in (0, 1), got {self.threshold}")
        if not 0.0 < self.validation < 1.0:
            raise ConfigError(f"{REWARD_ID}: validation must be in (0, 1), got "
                              f"{self.validation}")
        for name in ("width", "episodes", "steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{REWARD_ID}: {name} must be >= 1, got {getattr(self, name)}")
        self.rollouts()  # the rollout settings are checked now too

    def rollouts(self) -> RolloutSpec:
        return RolloutSpec(policy=self.policy, action_noise=self.action_noise, wa=dict(self.wa),
                           camera=self.camera, image_size=self.image_size,
                           episodes=self.episodes, seed=self.seed, hold=self.hold)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def make_config(settings: Mapping[str, Any], also_known: tuple[str, ...] = ()
                ) -> ClassifierConfig:
    from warl.core.settings import check_types, unknown_keys_error

    known = {f.name for f in dataclasses.fields(ClassifierConfig)}
    unknown = set(settings) - known
    if unknown:
        raise unknown_keys_error(unknown, known | set(also_known), REWARD_ID)
    return ClassifierConfig(**check_types(ClassifierConfig, dict(settings), REWARD_ID))
