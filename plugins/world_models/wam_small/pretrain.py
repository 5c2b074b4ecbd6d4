"""Pretraining of `WAMSmall` from scripted-expert demonstrations, in three stages.

1. the frame autoencoder on single frames (then its latents' scale is measured);
2. the video generator on (current frame, K future frames) pairs of the encoded demos;
3. the action head on the frozen generator's features, by flow-matching behaviour cloning.

The stages are sequential so that the actor learns on the features the finished generator
gives; WAM-RL's online video SFT then moves those features, and the actor with them. Every
``LOG_EVERY`` steps the video stage logs the one-chunk latent error of the imagined future
on a fixed batch of 64 training samples (the demos are few: none is held out) beside that
of copying the current frame (what a video model must beat).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.progress import progress_bar
from warl.plugins.world_models.wa_small.config import WASmallConfig
from warl.plugins.world_models.wa_small.data import DemoSamples
from warl.plugins.world_models.wa_small.pretrain import collect_demos, write_loss_curve
from warl.plugins.world_models.wam_small.config import MODEL_ID, WAMSmallConfig
from warl.plugins.world_models.wam_small.model import WAMSmall

LOG_EVERY = 50
ENCODE_BATCH = 256
COLUMNS = ("recon", "video", "imagine_mse", "copy_mse", "action")


def demo_config(config: WAMSmallConfig) -> WASmallConfig:
    """The demonstrations as `warl/wa-small` records them (the same cache entry for the same
    camera, count and seed)."""
    return WASmallConfig(obs_mode="state+rgb", cameras=(config.camera,),
                         image_size=config.image_size, demos=config.demos,
                         demo_seed=config.demo_seed)


def task_instruction(path: Path) -> str:
    import h5py

    with h5py.File(path, "r") as f:
        for name in f["data"]:
            text = f["data"][name].attrs.get("instruction", "")
            if text:
                return str(text)
    return ""


def fresh_model(env_id: str, config: WAMSmallConfig) -> WAMSmall:
    import warl

    env = warl.make(env_id, cameras=[config.camera], image_size=config.image_size)
    try:
        state_dim = int(env.observation_space[STATE_KEY].shape[0])
        action_dim = int(env.action_space.shape[0])
    finally:
        env.close()
    return WAMSmall(config, env_id, state_dim, action_dim)


@torch.no_grad()
def encode_all(model: WAMSmall, obs: dict[str, np.ndarray]) -> torch.Tensor:
    n = len(obs[STATE_KEY])
    return torch.cat([model.codec.encode({k: v[i:i + ENCODE_BATCH] for k, v in obs.items()})
                      for i in range(0, n, ENCODE_BATCH)])


def pretrain(env_id: str, config: WAMSmallConfig, out_dir: Path, show_progress: bool = True
             ) -> tuple[WAMSmall, dict[str, Any]]:
    """Train a fresh model on ``env_id``'s demonstrations; writes losses.csv and losses.png."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    path = collect_demos(env_id, demo_config(config), show_progress)
    model = fresh_model(env_id, config)
    model.instruction = task_instruction(path)
    samples = DemoSamples(path, model.observation_keys, config.horizon, config.future)
    model.codec.set_state_normalization(samples.obs[STATE_KEY])
    frames = samples.obs[model.codec.image_key]
    start = time.perf_counter()
    history: list[dict[str, float]] = []

    def log(step: int, **values: float) -> None:
        history.append({"step": step, "time_s": time.perf_counter() - start, **values})

    model.train()
    optimizer = torch.optim.AdamW(model.codec.vae.parameters(), lr=config.lr)
    with progress_bar(f"autoencoder {env_id}", config.autoencoder_steps, show_progress) as adv:
        running = 0.0
        for step in range(1, config.autoencoder_steps + 1):
            images = model.codec.image_tensor(frames[rng.integers(len(frames),
                                                                  size=config.batch_size)])
            terms = model.codec.autoencoder_loss(images)
            optimizer.zero_grad(set_to_none=True)
            sum(terms.values(), torch.zeros(())).backward()
            optimizer.step()
            running += float(terms["recon"].detach())
            if step % LOG_EVERY == 0:
                adv(LOG_EVERY, recon=f"{running / LOG_EVERY:.4f}")
                log(step, recon=running / LOG_EVERY)
                running = 0.0
    model.eval()
    model.codec.measure_latent_scale(model.codec.image_tensor(
        frames[rng.integers(len(frames), size=min(512, len(frames)))]))
    latents = encode_all(model, samples.obs)
    model.measure_delta_scale(latents, latents[samples.future_index[:512]])
    instructions = [model.instruction] * config.batch_size

    fixed = np.random.default_rng(1).integers(len(samples), size=64)
    offset = config.autoencoder_steps
    optimizer = torch.optim.AdamW(model.dit.parameters(), lr=config.lr, weight_decay=0.0)
    with progress_bar(f"video {env_id}", config.video_steps, show_progress) as adv:
        running = 0.0
        for step in range(1, config.video_steps + 1):
            picks = rng.integers(len(samples), size=config.batch_size)
            model.train()
            loss = model.video_loss(latents[picks], latents[samples.future_index[picks]],
                                    instructions)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach())
            if step % LOG_EVERY == 0 or step == config.video_steps:
                n = step % LOG_EVERY or LOG_EVERY
                row = {"video": running / n, **imagination_error(model, latents, samples, fixed)}
                adv(n, video=f"{row['video']:.3f}", val=f"{row['imagine_mse']:.3f}",
                    copy=f"{row['copy_mse']:.3f}")
                log(offset + step, **row)
                running = 0.0

    offset += config.video_steps
    head = [*model.pool.parameters(), *model.state_proj.parameters(),
            *model.action_head.parameters()]
    optimizer = torch.optim.AdamW(head, lr=config.lr, weight_decay=1e-4)
    with progress_bar(f"actor {env_id}", config.action_steps, show_progress) as adv:
        running = 0.0
        for step in range(1, config.action_steps + 1):
            picks = rng.integers(len(samples), size=config.batch_size)
            model.eval()
            with torch.no_grad():
                _, features = model.imagine(latents[picks], instructions)
            model.train()
            loss = model.action_loss(features, samples.obs[STATE_KEY][picks],
                                     torch.as_tensor(samples.actions[samples.chunk_index[picks]]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head, 1.0)
            optimizer.step()
            running += float(loss.detach())
            if step % LOG_EVERY == 0 or step == config.action_steps:
                n = step % LOG_EVERY or LOG_EVERY
                adv(n, action=f"{running / n:.4f}")
                log(offset + step, action=running / n)
                running = 0.0
    model.freeze()
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"step": h["step"], "time_s": h["time_s"],
             **{k: h.get(k, float("nan")) for k in COLUMNS}} for h in history]
    if rows:
        write_loss_curve(rows, out_dir, f"{MODEL_ID} pretraining")
    final = {k: next((h[k] for h in reversed(history) if k in h), None) for k in COLUMNS}
    metrics = {
        "train_time_s": time.perf_counter() - start, "demo_episodes": samples.episodes,
        "demo_samples": len(samples), "instruction": model.instruction,
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_losses": final, "demos": str(path),
    }
    return model, metrics


@torch.no_grad()
def imagination_error(model: WAMSmall, latents: torch.Tensor, samples: DemoSamples,
                      picks: np.ndarray) -> dict[str, float]:
    """Latent MSE of the imagined future on ``picks``, and of copying the current frame."""
    model.eval()
    current, future = latents[picks], latents[samples.future_index[picks]]
    imagined, _ = model.imagine(current, [model.instruction] * len(picks))
    copy = current[:, None].expand_as(future)
    return {"imagine_mse": float((imagined - future).pow(2).mean()),
            "copy_mse": float((copy - future).pow(2).mean())}
