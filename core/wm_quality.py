"""How close a world model's imagination is to the real env: frame metrics over horizons.

Along a real episode, the model starts from the episode's first frame, receives the actions
that were executed, and imagines every later frame chunk by chunk, its own predictions fed
back as context (WoVR's protocol, table 1). Each imagined frame is compared with the real
one at the same step: PSNR and SSIM need no weights; the learned metrics (LPIPS, FID, FVD,
FloLPIPS) load feature networks from files the user supplies (`warl.core.wm_features`). The
baseline a world model must beat copies the first frame for ever (the last real frame it was
given).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F


def psnr(real: np.ndarray, imagined: np.ndarray) -> np.ndarray:
    """Per-frame PSNR (dB) of uint8 frames (T, H, W, 3); identical frames give 100."""
    diff = real.astype(np.float64) - imagined.astype(np.float64)
    mse = (diff**2).reshape(len(real), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        value = 10 * np.log10(255.0**2 / mse)
    return np.minimum(value, 100.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(real: np.ndarray, imagined: np.ndarray) -> np.ndarray:
    """Per-frame SSIM of uint8 frames (T, H, W, 3): Wang et al. 2004 with an 11x11 Gaussian
    window (sigma 1.5), K1 0.01, K2 0.03, averaged over channels and valid positions."""
    a = torch.as_tensor(real, dtype=torch.float64).permute(0, 3, 1, 2)
    b = torch.as_tensor(imagined, dtype=torch.float64).permute(0, 3, 1, 2)
    t, c = a.shape[:2]
    window = _gaussian_window().to(a).expand(c, 1, -1, -1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=c)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return value.reshape(t, -1).mean(dim=1).numpy()


@torch.no_grad()
def imagine(model: Any, first: dict[str, np.ndarray], actions: np.ndarray,
            seed: int = 0) -> dict[str, np.ndarray]:
    """Observations (T, ...) imagined after each of ``actions`` (T, A), from the real
    first observation, batch of episodes B (``first`` (B, ...), ``actions`` (B, T, A)).
    Needs a model that predicts one frame per action (prediction_steps == horizon)."""
    h, k = model.horizon, model.prediction_steps
    if k != h:
        raise ValueError(f"imagining frame by frame needs one predicted frame per action; "
                         f"this model predicts {k} per chunk of {h}")
    b, t = actions.shape[:2]
    padded = np.zeros((b, -(-t // h) * h, actions.shape[2]), np.float32)
    padded[:, :t] = actions
    if hasattr(model, "seed"):
        model.seed(seed)
    frames = model.encode(first)[:, None]
    for start in range(0, padded.shape[1], h):
        chunk = torch.as_tensor(padded[:, start:start + h])
        frames = torch.cat([frames, model.predict(frames, chunk)], dim=1)
    future = frames[:, 1:t + 1]
    decoded = model.decode(future.reshape(b * t, *future.shape[2:]))
    return {key: value.cpu().numpy().reshape(b, t, *value.shape[1:])
            for key, value in decoded.items()}


def horizon_table(real: Sequence[np.ndarray], imagined: Sequence[np.ndarray],
                  horizons: Sequence[int]) -> dict[str, dict[str, float]]:
    """Mean PSNR and SSIM over the first h imagined frames of every episode, per horizon h
    (episodes shorter than h count with what they have), and the copy-first-frame
    baseline's on the same frames (``real[e][0]`` is the given frame, ``real[e][1:]`` the
    frames to imagine)."""
    table: dict[str, dict[str, float]] = {}
    for h in horizons:
        rows: dict[str, list[np.ndarray]] = {"psnr": [], "ssim": [], "copy_psnr": [],
                                             "copy_ssim": []}
        for frames, guess in zip(real, imagined, strict=True):
            target = frames[1:h + 1]
            pred = guess[:len(target)]
            copy = np.repeat(frames[:1], len(target), axis=0)
            rows["psnr"].append(psnr(target, pred))
            rows["ssim"].append(ssim(target, pred))
            rows["copy_psnr"].append(psnr(target, copy))
            rows["copy_ssim"].append(ssim(target, copy))
        table[str(h)] = {name: float(np.concatenate(values).mean())
                         for name, values in rows.items()}
        table[str(h)]["frames"] = float(sum(len(v) for v in rows["psnr"]))
    return table


def controllability(model: Any, env_id: str, trials: int = 16, magnitude: float = 0.8,
                    seed: int = 0) -> dict[str, Any]:
    """Do different action chunks give different futures, in the real env's direction?

    From the first frame of ``trials`` episodes, two opposite chunks (a constant action of
    ``+magnitude`` and of ``-magnitude`` along one random action axis) are imagined and also
    executed in the real env from the same seed. The statistic is the cosine between the
    imagined and the real difference of the resulting states (last frame of the chunk, each
    state dimension divided by the model's state scale): 1 when imagination moves as the
    robot does, 0 when it ignores the actions, -1 when it moves the other way.
    """
    import warl

    rng = np.random.default_rng(seed)
    camera = model.codec.image_key.removeprefix("rgb_")
    env = warl.make(env_id, cameras=[camera], image_size=model.cfg.image_size)
    scale = model.codec.state_std.cpu().numpy()
    cosines, magnitudes = [], []
    try:
        for trial in range(trials):
            axis = int(rng.integers(min(3, model.action_dim)))
            chunks = np.zeros((2, model.horizon, model.action_dim), np.float32)
            chunks[0, :, axis], chunks[1, :, axis] = magnitude, -magnitude
            real_states = []
            for chunk in chunks:
                obs, _ = env.reset(seed=10_000 * (seed + 1) + trial)
                first = obs
                for action in chunk:
                    obs, *_ = env.step(action)
                real_states.append(np.asarray(obs["state"], np.float64))
            batch = {k: np.repeat(np.asarray(first[k])[None], 2, axis=0)
                     for k in model.observation_keys}
            model.seed(trial)
            future = model.predict(model.encode(batch)[:, None], torch.as_tensor(chunks))
            imagined = model.decode(future[:, -1])["state"].cpu().numpy().astype(np.float64)
            real = (real_states[0] - real_states[1]) / scale
            guess = (imagined[0] - imagined[1]) / scale
            norm = np.linalg.norm(real) * np.linalg.norm(guess)
            cosines.append(float(real @ guess / norm) if norm > 0 else 0.0)
            magnitudes.append(float(np.linalg.norm(guess)) / max(float(np.linalg.norm(real)), 1e-9))
    finally:
        env.close()
    return {"trials": trials, "mean_cosine": float(np.mean(cosines)),
            "agreeing": float(np.mean(np.asarray(cosines) > 0)),
            "magnitude_ratio": float(np.median(magnitudes)), "cosines": cosines}
