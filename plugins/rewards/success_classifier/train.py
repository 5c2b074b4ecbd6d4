"""Training the success classifier on labelled frames of recorded rollouts.

A frame's label is the env's ``info["success"]`` after the action that led to it (the first
frame of an episode is a failure state); the rollouts go on ``hold`` steps past a first
success, so that success states are frames of their own. Whole episodes are held out for
the report, so that no held-out frame has a near-copy in training. Successes are rarer than
failures, so the BCE weighs positives by the ratio of negatives to positives.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from warl.core.progress import progress_bar
from warl.core.rollout.recorded import Episodes, record_rollouts
from warl.plugins.rewards.success_classifier.config import ClassifierConfig
from warl.plugins.rewards.success_classifier.model import SuccessClassifier

LOG_EVERY = 50


def labelled_frames(episodes: Episodes, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    frames, labels = [], []
    for i in ids:
        frames.append(episodes.frames[i])
        after = episodes.step_success[i]
        labels.append(np.concatenate([[False], after[:len(episodes.frames[i]) - 1]]))
    return np.concatenate(frames), np.concatenate(labels).astype(np.float32)


def report(classifier: SuccessClassifier, frames: np.ndarray, labels: np.ndarray
           ) -> dict[str, float]:
    """Accuracy, precision and recall of r = 1[R(o) >= threshold] on labelled frames."""
    predicted = np.concatenate([
        classifier.reward({classifier.key: frames[i:i + 512]})
        for i in range(0, len(frames), 512)]) > 0.5
    truth = labels > 0.5
    tp = int((predicted & truth).sum())
    return {"frames": len(truth), "positives": int(truth.sum()),
            "accuracy": float((predicted == truth).mean()),
            "precision": tp / max(1, int(predicted.sum())),
            "recall": tp / max(1, int(truth.sum()))}


def fit(classifier: SuccessClassifier, frames: np.ndarray, labels: np.ndarray,
        show_progress: bool = True, what: str = "", steps: int | None = None,
        seed: int | None = None) -> list[dict[str, float]]:
    """Weighted-BCE training on labelled frames (``steps``, default the config's; a refit
    passes its own, and its own ``seed`` for the minibatch order); the loss history."""
    config = classifier.cfg
    steps = config.steps if steps is None else steps
    positives = float(labels.sum())
    pos_weight = torch.tensor((len(labels) - positives) / max(positives, 1.0))
    optimizer = torch.optim.AdamW(classifier.net.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed if seed is None else seed)
    history: list[dict[str, float]] = []
    running, start = 0.0, time.perf_counter()
    classifier.net.train()
    with progress_bar(f"success classifier {what}", steps, show_progress) as advance:
        for step in range(1, steps + 1):
            picks = rng.integers(len(frames), size=config.batch_size)
            logits = classifier.net(classifier.images(frames[picks]))
            loss = F.binary_cross_entropy_with_logits(logits, torch.as_tensor(labels[picks]),
                                                      pos_weight=pos_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach())
            if step % LOG_EVERY == 0 or step == steps:
                n = step % LOG_EVERY or LOG_EVERY
                history.append({"step": step, "time_s": time.perf_counter() - start,
                                "bce": running / n})
                advance(n, bce=f"{running / n:.4f}")
                running = 0.0
    classifier.net.eval()
    return history


def train_classifier(env_id: str, config: ClassifierConfig, out_dir: Path,
                     show_progress: bool = True) -> tuple[SuccessClassifier, dict[str, Any]]:
    from warl.plugins.world_models.wa_small.pretrain import write_loss_curve

    path = record_rollouts(env_id, config.rollouts(), show_progress)
    episodes = Episodes(path, config.camera)
    train_ids, val_ids = episodes.split(config.validation, config.seed)
    frames, labels = labelled_frames(episodes, train_ids)
    classifier = SuccessClassifier(config, env_id)
    start = time.perf_counter()
    history = fit(classifier, frames, labels, show_progress, env_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_loss_curve(history, out_dir, "warl/success-classifier training")
    held_frames, held_labels = labelled_frames(episodes, val_ids)
    metrics = {"train_time_s": time.perf_counter() - start, "rollouts": len(episodes),
               "successful_rollouts": int(sum(episodes.success)),
               "train": report(classifier, frames, labels),
               "held_out": report(classifier, held_frames, held_labels),
               "held_out_episodes": len(val_ids), "rollout_file": str(path)}
    return classifier, metrics
