"""WA-base's one setting (light: `warl train` checks it before any work)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warl.core.errors import check_at_least
from warl.core.settings import parse_settings


@dataclass(frozen=True)
class WABaseConfig:
    """Attributes:
    chunk: C, actions executed per inference (HALO-WA's C = 12, so both act at the same rate).
    """

    chunk: int = 12


def make_config(settings: Mapping[str, Any]) -> WABaseConfig:
    config = parse_settings(WABaseConfig, settings, "wa-base")
    check_at_least(config, ("chunk",), 1, "wa-base: ")
    return config
