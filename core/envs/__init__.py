"""The env contract and the wrappers every warl env composes with."""

from warl.core.envs.chunked import ChunkedEnv
from warl.core.envs.contract import (
    INSTRUCTION_KEY,
    RGB_PREFIX,
    STATE_KEY,
    SUCCESS_KEY,
    camera_keys,
    rgb_key,
)
from warl.core.envs.gap import (
    ActionNoise,
    CalibrationOffset,
    ControlLatency,
    ObservationNoise,
    apply_deployment_gap,
)
from warl.core.envs.intervention import (
    DeviationGate,
    GatedExpert,
    InterventionSource,
    InterventionWrapper,
)
from warl.core.envs.video import RecordEpisodeVideo

__all__ = [
    "INSTRUCTION_KEY",
    "RGB_PREFIX",
    "STATE_KEY",
    "SUCCESS_KEY",
    "ActionNoise",
    "CalibrationOffset",
    "ChunkedEnv",
    "ControlLatency",
    "DeviationGate",
    "GatedExpert",
    "InterventionSource",
    "InterventionWrapper",
    "ObservationNoise",
    "RecordEpisodeVideo",
    "apply_deployment_gap",
    "camera_keys",
    "rgb_key",
]
