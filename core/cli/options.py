"""Options several commands share: ``--set key=value`` overrides and run folders."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError

# Hyphens too: `warl bench` keys per-algorithm settings by id (`--set halo-wa.hidden=32`).
_KEY = re.compile(r"^[A-Za-z_][\w.-]*$")


def parse_sets(items: Sequence[str] | None, flag: str = "--set") -> dict[str, Any]:
    """``["a=1", "b=[x, y]", "c=state"]`` -> ``{"a": 1, "b": ["x", "y"], "c": "state"}``.

    Values are read as YAML, so numbers, booleans, lists and strings need no quoting.
    """
    import yaml

    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise ConfigError(f"{flag} {item!r}: expected key=value, e.g. {flag} train_steps=500")
        try:
            out[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"{flag} {item!r}: the value is not valid YAML: {exc}") from None
    return out


def run_dir(root: str | Path, *parts: str) -> Path:
    """A new run folder ``root/<parts joined by __>__<timestamp>`` (never an existing one)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = "__".join(p.replace("/", "_") for p in parts)
    path = Path(root) / f"{name}__{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{name}__{stamp}-{suffix}"
    return path
