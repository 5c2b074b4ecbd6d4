"""`warl pretrain-world-model`: rollouts, then the frame autoencoder, then the dynamics.

Stage 1 trains the autoencoder on single frames; its latents' scale is then measured and
every frame encoded once with it frozen. Stage 2 trains the diffusion transformer on windows
of those latents. A tenth of the episodes (at least one) is held out: every ``LOG_EVERY``
steps the model predicts one chunk on a fixed batch of held-out windows, and its latent MSE
is logged beside that of copying the last context frame (the baseline a world model must
beat).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warl.core.progress import progress_bar
from warl.core.rollout.recorded import Episodes, record_rollouts
from warl.plugins.world_models.video_wm.config import MODEL_ID, VideoWMConfig
from warl.plugins.world_models.video_wm.data import Windows, rollout_spec
from warl.plugins.world_models.video_wm.model import VideoWorldModel
from warl.plugins.world_models.wa_small.pretrain import write_loss_curve

LOG_EVERY = 50
VALIDATION_WINDOWS = 64
ENCODE_BATCH = 256


@torch.no_grad()
def encode_frames(model: VideoWorldModel, frames: np.ndarray, states: np.ndarray
                  ) -> torch.Tensor:
    """Latents (T, N, D) of an episode's frames, in batches."""
    key = model.codec.image_key
    parts = [model.encode({key: frames[i:i + ENCODE_BATCH], "state": states[i:i + ENCODE_BATCH]})
             for i in range(0, len(frames), ENCODE_BATCH)]
    return torch.cat(parts)


def reconstruct_frames(model: VideoWorldModel, frames: np.ndarray, states: np.ndarray
                       ) -> np.ndarray:
    """decode(encode(frame)) of each frame: the frames as the world model renders them."""
    latents = encode_frames(model, frames, states)
    key = model.codec.image_key
    parts = [model.decode(latents[i:i + ENCODE_BATCH])[key].cpu().numpy()
             for i in range(0, len(latents), ENCODE_BATCH)]
    return np.concatenate(parts).astype(np.uint8)


@torch.no_grad()
def validation(model: VideoWorldModel, batch: dict[str, torch.Tensor]) -> dict[str, float]:
    """One-chunk latent MSE of the model (fixed noise) and of copying the last frame."""
    model.eval()
    model.seed(0)
    predicted = model.predict(batch["context"], batch["actions"])
    copy = batch["context"][:, -1:].expand_as(batch["future"])
    return {"val_mse": float((predicted - batch["future"]).pow(2).mean()),
            "copy_last_mse": float((copy - batch["future"]).pow(2).mean())}


def pretrain(env_id: str, config: VideoWMConfig, out_dir: Path, *, policy: str = "wa-base",
             action_noise: float = 0.3, wa_settings: dict[str, Any] | None = None,
             show_progress: bool = True) -> tuple[VideoWorldModel, dict[str, Any]]:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    path = record_rollouts(env_id, rollout_spec(config, policy, action_noise, wa_settings),
                           show_progress)
    episodes = Episodes(path, config.camera)
    train_ids, val_ids = episodes.split(0.1, config.seed)
    model = VideoWorldModel(config, env_id, state_dim=episodes.states[0].shape[1],
                            action_dim=episodes.actions[0].shape[1])
    model.codec.set_state_normalization(np.concatenate([episodes.states[i] for i in train_ids]))
    start = time.perf_counter()
    history: list[dict[str, float]] = []

    frames = np.concatenate([episodes.frames[i] for i in train_ids])
    running = 0.0
    with progress_bar(f"autoencoder {env_id}", config.autoencoder_steps, show_progress) as advance:
        for step in range(1, config.autoencoder_steps + 1):
            picks = rng.integers(len(frames), size=config.batch_size)
            running += model.train_step({"images": model.codec.image_tensor(frames[picks])}
                                        )["recon"]
            if step % LOG_EVERY == 0:
                advance(LOG_EVERY, recon=f"{running / LOG_EVERY:.4f}")
                history.append({"step": step, "time_s": time.perf_counter() - start,
                                "recon": running / LOG_EVERY})
                running = 0.0
    picks = rng.integers(len(frames), size=min(512, len(frames)))
    model.codec.measure_latent_scale(model.codec.image_tensor(frames[picks]))
    del frames

    model.eval()
    latents = [encode_frames(model, f, s) for f, s in zip(episodes.frames, episodes.states,
                                                            strict=True)]
    train = Windows([latents[i] for i in train_ids], [episodes.actions[i] for i in train_ids],
                    config)
    held = Windows([latents[i] for i in val_ids], [episodes.actions[i] for i in val_ids],
                   config) if val_ids else train
    scale_batch = train.batch(np.random.default_rng(2).integers(len(train), size=512))
    model.measure_delta_scale(scale_batch)
    val_batch = held.batch(np.random.default_rng(1).integers(len(held),
                                                               size=VALIDATION_WINDOWS))
    offset = config.autoencoder_steps
    first = validation(model, val_batch)
    running = 0.0
    with progress_bar(f"dynamics {env_id}", config.dynamics_steps, show_progress) as advance:
        for step in range(1, config.dynamics_steps + 1):
            batch = train.batch(rng.integers(len(train), size=config.batch_size))
            running += model.train_step(batch)["flow"]
            if step % LOG_EVERY == 0 or step == config.dynamics_steps:
                n = step % LOG_EVERY or LOG_EVERY
                row = {"step": offset + step, "time_s": time.perf_counter() - start,
                       "flow": running / n, **validation(model, val_batch)}
                history.append(row)
                advance(n, flow=f"{row['flow']:.3f}", val=f"{row['val_mse']:.3f}",
                        copy=f"{row['copy_last_mse']:.3f}")
                running = 0.0
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_loss_curve([_complete(h) for h in history], out_dir, f"{MODEL_ID} pretraining")
    last = history[-1] if history else {}
    metrics = {
        "train_time_s": time.perf_counter() - start,
        "rollouts": len(episodes), "successful_rollouts": int(sum(episodes.success)),
        "training_windows": len(train), "validation_episodes": len(val_ids),
        "parameters": sum(p.numel() for p in model.parameters()),
        "first_losses": first, "final_losses": {k: v for k, v in last.items()
                                                if k not in ("step", "time_s")},
        "rollout_file": str(path), "policy": policy, "action_noise": action_noise,
    }
    return model, metrics


def _complete(row: dict[str, float]) -> dict[str, float]:
    """Every row with every column (the autoencoder's rows have no dynamics losses)."""
    keys = ("recon", "flow", "val_mse", "copy_last_mse")
    return {"step": row["step"], "time_s": row["time_s"],
            **{k: row.get(k, float("nan")) for k in keys}}


def refine(model: VideoWorldModel, paths: list[Path], steps: int, seed: int,
           show_progress: bool = True) -> dict[str, float]:
    """PACE's refit (WoVR section 4.3): ``steps`` more dynamics steps on the windows of every
    rollouts file in ``paths`` (the frozen autoencoder encodes them), the newest file's
    episodes a tenth held out; the one-chunk latent error on those held-out windows before
    and after, beside copying the last frame."""
    config = model.cfg
    rng = np.random.default_rng(seed)
    # A fresh optimizer per refit: a refit run again after a crash is the same refit.
    model.dynamics_optimizer = torch.optim.AdamW(model.dit.parameters(), lr=config.lr,
                                                 weight_decay=0.0)
    latents: list[torch.Tensor] = []
    actions: list[np.ndarray] = []
    held_latents: list[torch.Tensor] = []
    held_actions: list[np.ndarray] = []
    model.eval()
    for n, path in enumerate(paths):
        episodes = Episodes(path, config.camera)
        val_ids = episodes.split(0.1, seed)[1] if n == len(paths) - 1 else []
        for i in range(len(episodes)):
            encoded = encode_frames(model, episodes.frames[i], episodes.states[i])
            (held_latents if i in val_ids else latents).append(encoded)
            (held_actions if i in val_ids else actions).append(episodes.actions[i])
    train = Windows(latents, actions, config)
    held = Windows(held_latents, held_actions, config) if held_latents else train
    val_batch = held.batch(np.random.default_rng(1).integers(len(held),
                                                               size=VALIDATION_WINDOWS))
    before = validation(model, val_batch)
    with progress_bar("PACE world model", steps, show_progress) as advance:
        for step in range(1, steps + 1):
            model.train_step(train.batch(rng.integers(len(train), size=config.batch_size)))
            if step % LOG_EVERY == 0 or step == steps:
                advance(step % LOG_EVERY or LOG_EVERY)
    model.eval()
    after = validation(model, val_batch)
    return {"windows": float(len(train)), "val_mse_before": before["val_mse"],
            "val_mse_after": after["val_mse"], "copy_last_mse": after["copy_last_mse"]}
