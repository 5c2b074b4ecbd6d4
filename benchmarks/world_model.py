"""Imagined steps per second against the real simulator's rendered steps, in one run.

The real side: `warl.make(TASK, cameras=[corner], image_size=64)` stepped with random
actions, rendering the camera every step (what a world model replaces). The imagined side:
`warl/video-wm` at its CPU preset (random weights: the cost does not depend on them) rolling
out chunk by chunk from real first frames, ``--batch`` episodes at once (one ratio per batch
size given), decoding every frame to the env's observations, as the world-model env does.
Target: at least 10x.

    python benchmarks/world_model.py [--task metaworld/hammer] [--batch 16,32,64] [--seconds 20]
        [--out benchmarks/results/world_model.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch

import warl
from warl.core.runs import write_json

TARGET = 10.0


def real_steps_per_s(task: str, seconds: float) -> float:
    env = warl.make(task, cameras=["corner"], image_size=64)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
        steps += 1
        if terminated or truncated:
            env.reset(seed=steps)
    env.close()
    return steps / (time.perf_counter() - start)


def imagined_steps_per_s(task: str, batch: int, seconds: float, settings: dict[str, object]
                         ) -> tuple[float, dict[str, object]]:
    model = warl.make("warl/video-wm", kind="world_model", env=task, pretrained=False,
                      **settings)
    env = warl.make(task, cameras=["corner"], image_size=64)
    firsts = [env.reset(seed=i)[0] for i in range(batch)]
    env.close()
    first = {k: np.stack([o[k] for o in firsts]) for k in ("state", "rgb_corner")}
    h, frames = model.horizon, 0
    context = model.encode(first)[:, None]
    start = time.perf_counter()
    with torch.no_grad():
        while time.perf_counter() - start < seconds:
            actions = torch.rand(batch, h, model.action_dim) * 2 - 1
            future = model.predict(context, actions)
            model.decode(future.reshape(-1, *future.shape[2:]))
            context = torch.cat([context, future], dim=1)
            keep = model.cfg.context  # the anchor and the frames the model still sees
            if context.shape[1] > keep + 1:
                n = context.shape[1]
                context = context[:, [0, *range(n - keep, n)]]
            frames += batch * model.prediction_steps
    return frames / (time.perf_counter() - start), model.config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="metaworld/hammer")
    parser.add_argument("--batch", default="16,32,64",
                        help="comma-separated batch sizes, one measurement each")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", default="benchmarks/results/world_model.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batch.split(",")]
    real = real_steps_per_s(args.task, args.seconds)
    print(f"real {args.task} with a 64x64 camera: {real:.0f} steps/s")
    rows, config = [], {}
    for batch in batches:
        imagined, config = imagined_steps_per_s(args.task, batch, args.seconds, {})
        ratio = imagined / real
        rows.append({"batch": batch, "imagined_steps_per_s": imagined, "ratio": ratio})
        print(f"imagined (warl/video-wm, cpu preset, batch {batch}, "
              f"{config['sampling_steps']} sampling steps): {imagined:.0f} steps/s, "
              f"ratio {ratio:.2f}x (target {TARGET:.0f}x: "
              f"{'met' if ratio >= TARGET else 'missed'})")
    write_json(Path(args.out), {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "torch_threads": args.threads},
        "task": args.task, "real_rendered_steps_per_s": real, "runs": rows,
        "best_ratio": max(r["ratio"] for r in rows), "target": TARGET, "model": config})


if __name__ == "__main__":
    main()
