"""Learning curves of a run folder: success rate and episode length against env steps and
wall time, and the intervention rate when interventions happened."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from warl.core.training.log import column, read_csv


def rolling_mean(values: list[float], window: int) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return x
    kernel = np.ones(min(window, len(x)))
    return np.convolve(x, kernel, "valid") / len(kernel)


def plot_run(run_dir: Path, window: int = 20) -> list[Path]:
    """Write ``plots/*.png`` from ``train.csv`` and ``eval.csv``; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = read_csv(run_dir / "train.csv") if (run_dir / "train.csv").is_file() else []
    evals = read_csv(run_dir / "eval.csv") if (run_dir / "eval.csv").is_file() else []
    baseline = None
    if (run_dir / "baseline.json").is_file():
        import json

        baseline = json.loads((run_dir / "baseline.json").read_text())
    out_dir = run_dir / "plots"
    out_dir.mkdir(exist_ok=True)
    written = []
    for metric, label, train_key in (("success_rate", "success rate", "success"),
                                     ("mean_episode_length", "episode length", "length")):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for ax, x_key, x_label in ((axes[0], "env_steps", "env steps"),
                                   (axes[1], "wall_s", "wall time (s)")):
            if train:
                x, y = column(train, x_key), rolling_mean(column(train, train_key), window)
                ax.plot(x[len(x) - len(y):], y, alpha=0.5,
                        label=f"training episodes (mean of {window})")
            if evals:
                ax.plot(column(evals, x_key), column(evals, metric), "o-",
                        label="evaluation (fixed seeds)")
            if baseline is not None:
                key = "success_rate" if metric == "success_rate" else "mean_episode_length"
                ax.axhline(float(baseline[key]), color="gray", linestyle="--",
                           label=f"{baseline.get('algorithm', 'baseline')} (same seeds)")
            ax.set_xlabel(x_label)
            ax.set_ylabel(label)
            if metric == "success_rate":
                ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{metric}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    rates = column(train, "intervention_rate") if train else []
    if any(r > 0 for r in rates if np.isfinite(r)):
        fig, ax = plt.subplots(figsize=(5, 3.6))
        y = rolling_mean(rates, window)
        steps = column(train, "env_steps")
        ax.plot(steps[len(steps) - len(y):], y)
        ax.set_xlabel("env steps")
        ax.set_ylabel("intervention rate")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / "intervention_rate.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
