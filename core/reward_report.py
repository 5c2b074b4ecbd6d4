"""How well a reward separates successful from failed rollouts (WAM-RL's figure 2).

Each held-out real rollout gets one score: for a ``frames`` reward, the mean of its scores
over the episode's frames; for a ``futures`` similarity, the mean over the episode's chunks
of sim(imagined chunk, executed chunk), where a world model imagines each chunk from the
real frames before it under the actions that were executed. A reward that tells success
from failure scores the two groups apart: the report gives each group's mean, the
difference, and the AUROC of the score as a success detector (the probability that a random
success outscores a random failure; 0.5 is chance).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.envs.contract import STATE_KEY
from warl.core.reward import FRAMES


def auroc(successes: Sequence[float], failures: Sequence[float]) -> float | None:
    """P(score of a success > score of a failure), ties counting half (Mann-Whitney U)."""
    if not len(successes) or not len(failures):
        return None
    s, f = np.asarray(successes, float)[:, None], np.asarray(failures, float)[None, :]
    return float(((s > f).sum() + 0.5 * (s == f).sum()) / (s.size * f.size))


def frame_scores(reward: Any, frames: Sequence[np.ndarray], states: Sequence[np.ndarray],
                 key: str) -> list[float]:
    """The mean per-frame reward of each episode."""
    out = []
    for f, s in zip(frames, states, strict=True):
        obs = {key: f, STATE_KEY: s}
        out.append(float(np.mean(reward.reward({k: obs[k] for k in reward.observation_keys}))))
    return out


def future_scores(reward: Any, model: Any, frames: Sequence[np.ndarray],
                  states: Sequence[np.ndarray], actions: Sequence[np.ndarray], key: str
                  ) -> list[float]:
    """The mean over each episode's chunks of sim(imagined, executed): the model imagines
    chunk k from the real frames up to its start (the anchor and the context it keeps)."""
    import torch

    h = model.horizon
    out = []
    for f, s, a in zip(frames, states, actions, strict=True):
        latents = model.encode({key: f, STATE_KEY: s})
        sims = []
        for start in range(0, len(a) - h + 1, h):
            context = latents[None, :start + 1]
            future = model.predict(context, torch.as_tensor(a[start:start + h])[None])
            imagined = model.decode(future[0])[key].cpu().numpy()[None]
            executed = f[start + 1:start + 1 + h][None]
            sims.append(float(reward.similarity(imagined[:, :executed.shape[1]], executed)[0]))
        out.append(float(np.mean(sims)) if sims else float("nan"))
    return out


def separation(scores: Sequence[float], success: Sequence[bool]) -> dict[str, Any]:
    pairs = [(x, ok) for x, ok in zip(scores, success, strict=True) if np.isfinite(x)]
    good = [x for x, ok in pairs if ok]
    bad = [x for x, ok in pairs if not ok]
    good_mean = float(np.mean(good)) if good else None
    bad_mean = float(np.mean(bad)) if bad else None
    return {"successes": len(good), "failures": len(bad), "success_mean": good_mean,
            "failure_mean": bad_mean,
            "difference": None if good_mean is None or bad_mean is None
            else good_mean - bad_mean,
            "auroc": auroc(good, bad), "success_scores": good, "failure_scores": bad}


def plot(result: dict[str, Any], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for name, color in (("success", "tab:green"), ("failure", "tab:red")):
        values = result[f"{name}_scores"]
        if values:
            ax.hist(values, bins=15, alpha=0.6, color=color, label=f"{name} ({len(values)})")
    auc = result["auroc"]
    ax.set_title(f"{title}\nAUROC {auc:.2f}" if auc is not None else title, fontsize=9)
    ax.set_xlabel("episode score")
    ax.set_ylabel("episodes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def is_frames(reward: Any) -> bool:
    return getattr(reward, "inputs", None) == FRAMES
