"""The checkpoint cache: trained models stored by (model id, env id, config hash).

Algorithms that need a pretrained model ask the cache first and train only on a miss, so the
first run pays for pretraining and every later one reuses it. The root is ``$WARL_CACHE_DIR``
or ``~/.cache/warl``. Files are written to a temporary name and renamed, so a killed run never
leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warl.core.errors import MissingCheckpointError

CACHE_ENV_VAR = "WARL_CACHE_DIR"


def cache_root() -> Path:
    root = os.environ.get(CACHE_ENV_VAR)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "warl"


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable digest of a JSON-serializable config (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _slug(plugin_id: str) -> str:
    return plugin_id.replace("/", "__")


def cache_dir(model_id: str, env_id: str, config: Mapping[str, Any]) -> Path:
    """Where the checkpoint of ``model_id`` trained on ``env_id`` with ``config`` lives."""
    return cache_root() / "world_models" / _slug(model_id) / _slug(env_id) / config_hash(config)


def demos_path(env_id: str, config: Mapping[str, Any]) -> Path:
    """Where demonstrations of ``env_id`` recorded with ``config`` are cached."""
    return cache_root() / "demos" / _slug(env_id) / f"{config_hash(config)}.h5"


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> Path:
    """Atomically write a ``torch.save`` checkpoint."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(dict(payload), tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: Path, what: str, hint: str) -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint`; a missing file names ``hint``."""
    import torch

    if not path.is_file():
        raise MissingCheckpointError(f"no checkpoint for {what} at {path}; {hint}")
    # Our own files hold tensors, numbers, strings and dicts only: the safe loader suffices.
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict):
        raise MissingCheckpointError(f"{path} is not a warl checkpoint (got {type(data)})")
    return data
