"""``warl.make("warl/wam-small", env=...)``: load from a checkpoint or the cache, else pretrain.

The cache key is the model's config (demonstrations included); a checkpoint of another env
or config is refused with what to do instead, as `warl/wa-small`'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from warl.core.checkpoints import cache_dir, load_checkpoint, save_checkpoint
from warl.core.envs.cameras import with_main_camera
from warl.core.errors import ConfigError, IncompatibleModelError
from warl.core.runs import write_json
from warl.plugins.world_models.wa_small.factory import check_same_settings
from warl.plugins.world_models.wam_small.config import MODEL_ID, WAMSmallConfig, check_settings
from warl.plugins.world_models.wam_small.model import WAMSmall

FORMAT = MODEL_ID
FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.pt"


def load_wam_small(env: str | None = None, checkpoint: str | None = None,
                   pretrained: bool = True, train_if_missing: bool = True,
                   retrain: bool = False, show_progress: bool = True,
                   **settings: Any) -> WAMSmall:
    """The joint world-action model for ``env``, frozen.

    Args:
        env: env id the model is for (required unless ``checkpoint`` names one).
        checkpoint: a ``model.pt`` written by this plugin; overrides the cache.
        pretrained: False gives freshly initialised weights (contract checks, tests).
        train_if_missing: pretrain on a cache miss (else `MissingCheckpointError`).
        retrain: pretrain even when the cache has a checkpoint, and replace it.
        show_progress: progress bars while recording demos and training.
        **settings: `WAMSmallConfig` fields.
    """
    config = WAMSmallConfig.from_dict(with_main_camera(settings, env, "camera"))
    if checkpoint is not None:
        model = from_checkpoint(Path(checkpoint), env, settings)
    elif env is None:
        raise ConfigError(f"{MODEL_ID} needs env=<env id> (the task it is trained for) or "
                          f"checkpoint=<path>")
    elif not pretrained:
        from warl.plugins.world_models.wam_small.pretrain import fresh_model

        model = fresh_model(env, config).freeze()
    else:
        path = cache_dir(MODEL_ID, env, config.to_dict()) / CHECKPOINT_NAME
        if path.is_file() and not retrain:
            model = from_checkpoint(path, env, settings)
        else:
            if not train_if_missing and not retrain:
                sets = " ".join(f"--set {k}={json.dumps(v)}" for k, v in sorted(settings.items()))
                load_checkpoint(path, f"{MODEL_ID} on {env}",
                                f"run `warl pretrain {env} --model {MODEL_ID} {sets}`".strip())
            from warl.plugins.world_models.wam_small.pretrain import pretrain

            model, metrics = pretrain(env, config, path.parent, show_progress)
            model.metrics = metrics
            save(model, path, metrics)
            model.checkpoint_path = path
    model.settings = dict(settings)
    return model


def save(model: WAMSmall, path: Path, metrics: dict[str, Any] | None = None) -> Path:
    from warl import __version__

    save_checkpoint(path, {
        "format": FORMAT, "format_version": FORMAT_VERSION, "env_id": model.env_id,
        "config": model.cfg.to_dict(), "state_dim": model.state_dim,
        "action_dim": model.action_dim, "state_dict": model.state_dict(),
        "extra": model.extra_state(), "warl_version": __version__,
        "metrics": json.dumps(metrics or {}),
    })
    if metrics is not None:
        write_json(path.parent / "metrics.json", metrics)
    return path


def from_checkpoint(path: Path, env_id: str | None, settings: dict[str, Any]) -> WAMSmall:
    """Load ``path``; refuse it when it was trained for another env or config."""
    data = load_checkpoint(path, MODEL_ID, f"pass a model.pt written by {MODEL_ID}")
    if data.get("format") != FORMAT:
        raise IncompatibleModelError(
            f"{path} is not a {MODEL_ID} checkpoint (format {data.get('format')!r}); a "
            f"checkpoint of another model needs its own adapter plugin (docs/world_models.md)")
    trained_for = str(data["env_id"])
    if env_id is not None and env_id != trained_for:
        raise IncompatibleModelError(
            f"checkpoint {path} was trained for env {trained_for!r}, not {env_id!r}; pretrain "
            f"one for {env_id!r} with `warl pretrain {env_id} --model {MODEL_ID}`")
    check_same_settings(path, dict(data["config"]), settings)
    model = WAMSmall(WAMSmallConfig.from_dict(data["config"]), trained_for,
                     int(data["state_dim"]), int(data["action_dim"]))
    model.load_state_dict(data["state_dict"])
    model.instruction = str(data.get("extra", {}).get("instruction", ""))
    model.metrics = json.loads(data.get("metrics", "{}"))
    model.checkpoint_path = path
    return model.freeze()


load_wam_small.check_settings = check_settings  # type: ignore[attr-defined]
