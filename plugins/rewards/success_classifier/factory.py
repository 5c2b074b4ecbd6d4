"""``warl.make("warl/success-classifier", kind="reward", env=...)``: load, or train and cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from warl.core.checkpoints import cache_dir, load_checkpoint, save_checkpoint
from warl.core.envs.cameras import with_main_camera
from warl.core.errors import ConfigError, IncompatibleModelError
from warl.core.runs import write_json
from warl.plugins.rewards.success_classifier.config import REWARD_ID, make_config
from warl.plugins.rewards.success_classifier.model import SuccessClassifier

CHECKPOINT_NAME = "model.pt"
LOADER_KEYS = ("checkpoint", "pretrained", "train_if_missing", "retrain")


def load_success_classifier(env: str | None = None, checkpoint: str | None = None,
                            pretrained: bool = True, train_if_missing: bool = True,
                            retrain: bool = False, show_progress: bool = True,
                            **settings: Any) -> SuccessClassifier:
    """The classifier for ``env``: from ``checkpoint``, the cache, or trained now.

    ``pretrained=False`` gives fresh weights (contract checks); **settings are
    `ClassifierConfig` fields."""
    config = make_config(with_main_camera(settings, env, "camera"), LOADER_KEYS)
    if checkpoint is not None:
        return from_checkpoint(Path(checkpoint), env)
    if env is None:
        raise ConfigError(f"{REWARD_ID} needs env=<env id> or checkpoint=<path>")
    if not pretrained:
        return SuccessClassifier(config, env)
    path = cache_dir(REWARD_ID, env, config.to_dict()) / CHECKPOINT_NAME
    if path.is_file() and not retrain:
        return from_checkpoint(path, env)
    if not train_if_missing and not retrain:
        load_checkpoint(path, f"{REWARD_ID} on {env}", f"warl train-reward {env}")
    from warl.plugins.rewards.success_classifier.train import train_classifier

    classifier, metrics = train_classifier(env, config, path.parent, show_progress)
    save_checkpoint(path, {"format": REWARD_ID, "env_id": env, "config": config.to_dict(),
                           "state_dict": classifier.net.state_dict(),
                           "metrics": json.dumps(metrics)})
    write_json(path.parent / "metrics.json", metrics)
    classifier.metrics, classifier.checkpoint_path = metrics, path
    return classifier


def from_checkpoint(path: Path, env_id: str | None) -> SuccessClassifier:
    data = load_checkpoint(path, REWARD_ID, f"pass a model.pt written by {REWARD_ID} (see "
                           f"`warl train-reward --help`)")
    if data.get("format") != REWARD_ID:
        raise IncompatibleModelError(f"{path} is not a {REWARD_ID} checkpoint")
    if env_id is not None and env_id != data["env_id"]:
        raise IncompatibleModelError(f"checkpoint {path} was trained for {data['env_id']!r}, "
                                     f"not {env_id!r}; `warl train-reward {env_id}`")
    classifier = SuccessClassifier(make_config(data["config"]), str(data["env_id"]))
    classifier.net.load_state_dict(data["state_dict"])
    classifier.metrics = json.loads(data.get("metrics", "{}"))
    classifier.checkpoint_path = path
    return classifier
