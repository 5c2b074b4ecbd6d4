"""Pretraining of `WASmall` from scripted-expert demonstrations, with progress and a loss curve."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warl.core.checkpoints import demos_path
from warl.core.demos import collect_demos as record_demos
from warl.core.envs.contract import STATE_KEY
from warl.core.progress import progress_bar
from warl.plugins.world_models.wa_small.config import WASmallConfig
from warl.plugins.world_models.wa_small.data import DemoSamples
from warl.plugins.world_models.wa_small.model import WASmall

LOG_EVERY = 50


def env_kwargs(config: WASmallConfig) -> dict[str, Any]:
    """What the env must render for this config (the lab conditions: no deployment gap)."""
    if config.uses_images:
        return {"cameras": list(config.cameras), "image_size": config.image_size}
    return {}


def make_env(env_id: str, config: WASmallConfig) -> Any:
    import warl

    return warl.make(env_id, **env_kwargs(config))


def fresh_model(env_id: str, config: WASmallConfig) -> WASmall:
    """An untrained model sized for ``env_id``'s state and action spaces."""
    env = make_env(env_id, config)
    try:
        state_dim = int(env.observation_space[STATE_KEY].shape[0])
        action_dim = int(env.action_space.shape[0])
    finally:
        env.close()
    return WASmall(config, env_id, state_dim, action_dim)


def collect_demos(env_id: str, config: WASmallConfig, show_progress: bool = True) -> Path:
    """Record ``config.demos`` scripted-expert episodes (cached by env id and settings)."""
    settings = {"demos": config.demos, "seed": config.demo_seed, **env_kwargs(config)}
    path = demos_path(env_id, settings)
    if path.is_file():
        return path
    env = make_env(env_id, config)
    # Written under another name and renamed when complete: a killed run leaves no cache entry.
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with progress_bar(f"demos {env_id}", config.demos, show_progress) as advance:
            record_demos(env, env_id, settings, partial, config.demos, config.demo_seed,
                          advance)
    finally:
        env.close()
    partial.rename(path)
    return path


def pretrain(env_id: str, config: WASmallConfig, out_dir: Path,
             show_progress: bool = True) -> tuple[WASmall, dict[str, Any]]:
    """Train a fresh model on ``env_id``'s demonstrations; writes losses.csv and losses.png."""
    torch.manual_seed(config.seed)
    demos = collect_demos(env_id, config, show_progress)
    model = fresh_model(env_id, config)
    samples = DemoSamples(demos, model.observation_keys, config.horizon, config.prediction_steps)
    model.set_normalization(samples.obs[STATE_KEY])
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, config.train_steps, eta_min=config.lr * 0.1
    )
    rng = np.random.default_rng(config.seed)
    history: list[dict[str, float]] = []
    running: dict[str, float] = {}
    start = time.perf_counter()
    model.train()
    with progress_bar(f"pretrain {env_id}", config.train_steps, show_progress) as advance:
        for step in range(1, config.train_steps + 1):
            terms = model.losses(samples.batch(rng.integers(len(samples), size=config.batch_size)))
            total = sum(terms.values(), torch.zeros(()))
            optimizer.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            for key, value in terms.items():
                running[key] = running.get(key, 0.0) + float(value.detach()) / LOG_EVERY
            if step % LOG_EVERY == 0 or step == config.train_steps:
                history.append({"step": step, "time_s": time.perf_counter() - start, **running})
                advance(step - (history[-2]["step"] if len(history) > 1 else 0),
                        action=f"{running.get('action', 0.0):.4f}")
                running = {}
    train_time = time.perf_counter() - start
    model.freeze()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_loss_curve(history, out_dir)
    metrics = {
        "train_time_s": train_time,
        "demo_episodes": samples.episodes,
        "demo_samples": len(samples),
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_losses": {k: v for k, v in history[-1].items() if k not in ("step", "time_s")},
        "first_losses": {k: v for k, v in history[0].items() if k not in ("step", "time_s")},
        "demos": str(demos),
    }
    return model, metrics


def write_loss_curve(history: list[dict[str, float]], out_dir: Path,
                     title: str = "warl/wa-small pretraining") -> None:
    with open(out_dir / "losses.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [h["step"] for h in history]
    for key in history[0]:
        if key not in ("step", "time_s"):
            ax.plot(steps, [h[key] for h in history], label=key)
    ax.set_yscale("log")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "losses.png", dpi=100)
    plt.close(fig)
