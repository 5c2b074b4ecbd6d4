"""``warl.make("warl/video-wm", env=...)``: load from a checkpoint or the cache, else pretrain.

The cache key is every setting that changes the trained weights: the model's config, the
rollout policy, its noise and the WA model's settings when the WA model collects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from warl.core.checkpoints import cache_dir, load_checkpoint, save_checkpoint
from warl.core.envs.cameras import with_main_camera
from warl.core.errors import ConfigError, IncompatibleModelError
from warl.core.runs import write_json
from warl.plugins.world_models.video_wm.config import MODEL_ID, PRESETS, make_config
from warl.plugins.world_models.video_wm.data import rollout_spec
from warl.plugins.world_models.video_wm.model import VideoWorldModel

FORMAT = MODEL_ID
FORMAT_VERSION = 1
CHECKPOINT_NAME = "model.pt"
LOADER_KEYS = ("checkpoint", "pretrained", "train_if_missing", "retrain", "preset", "policy",
               "action_noise", "wa")


def check_settings(settings: dict[str, Any]) -> None:
    """Every ``wm.*`` setting checked before any work (an unknown key names the known ones)."""
    make_config({k: v for k, v in settings.items() if k not in LOADER_KEYS},
                str(settings.get("preset", "cpu")), LOADER_KEYS)


def load_video_wm(env: str | None = None, checkpoint: str | None = None,
                  pretrained: bool = True, train_if_missing: bool = True,
                  retrain: bool = False, show_progress: bool = True, preset: str = "cpu",
                  policy: str = "wa-base", action_noise: float = 0.3,
                  wa: dict[str, Any] | None = None, **settings: Any) -> VideoWorldModel:
    """The world model for ``env``.

    Args:
        env: the env whose frames it models (required unless ``checkpoint`` names one).
        checkpoint: a ``model.pt`` written by this plugin; overrides the cache.
        pretrained: False gives fresh weights (contract checks, tests).
        preset: ``cpu`` (default) or ``paper`` (`config.PRESETS`).
        policy, action_noise, wa: who collects the training rollouts (`data`).
        **settings: `VideoWMConfig` fields.
    """
    config = make_config(with_main_camera(settings, env, "camera"), preset, LOADER_KEYS)
    rollout_spec(config, policy, action_noise, wa)  # a bad rollout setting fails now
    if checkpoint is not None:
        return from_checkpoint(Path(checkpoint), env)
    if env is None:
        raise ConfigError(f"{MODEL_ID} needs env=<env id> or checkpoint=<path>")
    if not pretrained:
        import warl
        probe = warl.make(env, cameras=[config.camera], image_size=config.image_size)
        try:
            return VideoWorldModel(config, env, int(probe.observation_space["state"].shape[0]),
                                   int(probe.action_space.shape[0]))
        finally:
            probe.close()
    key = {**config.to_dict(), "policy": policy, "action_noise": action_noise, "wa": wa or {}}
    directory = cache_dir(MODEL_ID, env, key)
    path = directory / CHECKPOINT_NAME
    if path.is_file() and not retrain:
        return from_checkpoint(path, env)
    if not train_if_missing and not retrain:
        load_checkpoint(path, f"{MODEL_ID} on {env}", f"warl pretrain-world-model {env}")
    from warl.plugins.world_models.video_wm.pretrain import pretrain

    model, metrics = pretrain(env, config, directory, policy=policy, action_noise=action_noise,
                              wa_settings=wa, show_progress=show_progress)
    save(model, path, metrics)
    model.metrics, model.checkpoint_path = metrics, path
    return model


def save(model: VideoWorldModel, path: Path, metrics: dict[str, Any]) -> Path:
    from warl import __version__

    save_checkpoint(path, {
        "format": FORMAT, "format_version": FORMAT_VERSION, "env_id": model.env_id,
        "config": model.cfg.to_dict(), "state_dim": model.codec.state_dim,
        "action_dim": model.action_dim, "state_dict": model.state_dict(),
        "warl_version": __version__, "metrics": json.dumps(metrics)})
    write_json(path.parent / "metrics.json", metrics)
    return path


def from_checkpoint(path: Path, env_id: str | None) -> VideoWorldModel:
    data = load_checkpoint(path, MODEL_ID, f"pass a model.pt written by {MODEL_ID} (see "
                           f"`warl pretrain-world-model --help`)")
    if data.get("format") != FORMAT:
        raise IncompatibleModelError(f"{path} is not a {MODEL_ID} checkpoint (format "
                                     f"{data.get('format')!r})")
    trained_for = str(data["env_id"])
    if env_id is not None and env_id != trained_for:
        raise IncompatibleModelError(f"checkpoint {path} was trained for {trained_for!r}, not "
                                     f"{env_id!r}; `warl pretrain-world-model {env_id}`")
    model = VideoWorldModel(make_config(data["config"]), trained_for, int(data["state_dim"]),
                            int(data["action_dim"]))
    model.load_state_dict(data["state_dict"])
    model.metrics = json.loads(data.get("metrics", "{}"))
    model.checkpoint_path = path
    return model.eval()


__all__ = ["PRESETS", "check_settings", "load_video_wm"]
