"""``warl.make("warl/wa-small", env=...)``: load from a checkpoint or the cache, else pretrain.

This is also the worked example of the checkpoint-adapter pattern (docs/world_models.md):
load a local checkpoint file, check that it fits the env and config, and return an object
whose ``infer`` maps the model's outputs to `WAOutput`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from warl.core.checkpoints import cache_dir, load_checkpoint, save_checkpoint
from warl.core.envs.cameras import with_main_camera
from warl.core.errors import ConfigError, IncompatibleModelError
from warl.core.runs import write_json
from warl.plugins.world_models.wa_small.config import WASmallConfig, check_settings
from warl.plugins.world_models.wa_small.model import MODEL_ID, WASmall

FORMAT = "warl/wa-small"
FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.pt"


def load_wa_small(
    env: str | None = None,
    checkpoint: str | None = None,
    pretrained: bool = True,
    train_if_missing: bool = True,
    retrain: bool = False,
    show_progress: bool = True,
    **settings: Any,
) -> WASmall:
    """The built-in WA model for ``env``, frozen.

    Args:
        env: env id the model is for (required unless ``checkpoint`` names one).
        checkpoint: a ``model.pt`` written by this plugin; overrides the cache.
        pretrained: False gives freshly initialised weights (contract checks, tests).
        train_if_missing: pretrain on a cache miss (else `MissingCheckpointError`).
        retrain: pretrain even when the cache has a checkpoint, and replace it.
        show_progress: draw progress bars while collecting demos and training.
        **settings: `WASmallConfig` fields (e.g. ``obs_mode="state"``, ``train_steps=500``).

    The model keeps ``settings`` as given (its ``settings`` attribute), so that what learns
    from its rollouts (a world model, a success classifier) can name the same model.
    """
    model = _load(env, checkpoint, pretrained, train_if_missing, retrain, show_progress,
                  settings)
    model.settings = dict(settings)
    return model


def _load(env: str | None, checkpoint: str | None, pretrained: bool, train_if_missing: bool,
          retrain: bool, show_progress: bool, settings: dict[str, Any]) -> WASmall:
    config = WASmallConfig.from_dict(with_main_camera(settings, env))
    if checkpoint is not None:
        return from_checkpoint(Path(checkpoint), env, settings)
    if env is None:
        raise ConfigError(
            f"{MODEL_ID} needs env=<env id> (the task it is trained for) or checkpoint=<path>"
        )
    if not pretrained:
        from warl.plugins.world_models.wa_small.pretrain import fresh_model

        return fresh_model(env, config).freeze()
    directory = cache_dir(MODEL_ID, env, config.to_dict())
    path = directory / CHECKPOINT_NAME
    if path.is_file() and not retrain:
        return from_checkpoint(path, env, settings)
    if not train_if_missing and not retrain:
        # Raises MissingCheckpointError with the command that fills the cache.
        load_checkpoint(path, f"{MODEL_ID} on {env}", _pretrain_hint(env, settings))
    from warl.plugins.world_models.wa_small.pretrain import pretrain

    model, metrics = pretrain(env, config, directory, show_progress)
    model.metrics = metrics
    save(model, path, metrics)
    model.checkpoint_path = path
    return model


def save(model: WASmall, path: Path, metrics: dict[str, Any] | None = None) -> Path:
    from warl import __version__

    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "env_id": model.env_id,
        "config": model.cfg.to_dict(),
        "state_dim": model.state_dim,
        "action_dim": model.action_dim,
        "state_dict": model.state_dict(),
        "warl_version": __version__,
        "metrics": json.dumps(metrics or {}),
    }
    save_checkpoint(path, payload)
    if metrics is not None:
        write_json(path.parent / "metrics.json", metrics)
    return path


def from_checkpoint(path: Path, env_id: str | None, settings: dict[str, Any]) -> WASmall:
    """Load ``path``; refuse it when it was trained for another env or config."""
    data = load_checkpoint(path, MODEL_ID, "pass a model.pt written by warl/wa-small "
                           "(see `warl pretrain --help`)")
    if data.get("format") != FORMAT:
        raise IncompatibleModelError(
            f"{path} is not a {MODEL_ID} checkpoint (format {data.get('format')!r}); a checkpoint "
            f"of another model needs its own adapter plugin (docs/world_models.md)"
        )
    trained_for = str(data["env_id"])
    if env_id is not None and env_id != trained_for:
        raise IncompatibleModelError(
            f"checkpoint {path} was trained for env {trained_for!r}, not {env_id!r}; pretrain "
            f"one for {env_id!r} with `warl pretrain {env_id}`"
        )
    saved = dict(data["config"])
    check_same_settings(path, saved, settings)
    model = WASmall(WASmallConfig.from_dict(saved), trained_for, int(data["state_dim"]),
                    int(data["action_dim"]))
    model.load_state_dict(data["state_dict"])
    model.metrics = json.loads(data.get("metrics", "{}"))
    model.checkpoint_path = path
    return model.freeze()


def check_same_settings(path: Path, saved: dict[str, Any], settings: dict[str, Any]) -> None:
    """Refuse a checkpoint whose saved config differs from a requested setting."""
    clashes = {k: (saved.get(k), v) for k, v in settings.items()
               if _normalized(saved.get(k)) != _normalized(v)}
    if clashes:
        detail = ", ".join(f"{k}: checkpoint {a!r} vs requested {b!r}"
                           for k, (a, b) in sorted(clashes.items()))
        raise IncompatibleModelError(
            f"checkpoint {path} was trained with a different config ({detail}); drop those "
            f"settings or pretrain a model with them"
        )


def _normalized(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _pretrain_hint(env: str, settings: dict[str, Any]) -> str:
    sets = " ".join(f"--set {k}={json.dumps(v)}" for k, v in sorted(settings.items()))
    return f"run `warl pretrain {env} {sets}`".replace("  ", " ").strip()



load_wa_small.check_settings = check_settings  # type: ignore[attr-defined]
