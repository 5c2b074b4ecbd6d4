"""Cost of the built-in world-action model, per observation mode, measured in one run.

Prints and writes JSON (default benchmarks/results/wa_model.json):
  - parameter count
  - pretraining step time at the default batch size (synthetic batch of the real layout), and
    the projected pretraining time for the default number of steps
  - inference latency per chunk (batch of one, a real env observation), and its ratio to the
    time the chunk takes to execute (C control periods of the env)
  - env steps per second of an evaluation with deferred camera rendering vs rendering every
    step (the images of a chunk's inner steps are never read)

    python benchmarks/wa_model.py [--env metaworld/peg-insert-side] [--chunk 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch

import warl
from warl.core.envs import ChunkedEnv
from warl.core.runs import write_json
from warl.core.world_model import (
    batch_of,
    env_kwargs_for,
    inference_latency,
    synthetic_observations,
)

MODES = ("state", "state+rgb")


def train_step_seconds(model, repeats: int) -> float:
    cfg = model.cfg
    rng = np.random.default_rng(0)
    batch = {
        "obs": synthetic_observations(model, (cfg.batch_size,), seed=0),
        "actions": rng.uniform(-1, 1, (cfg.batch_size, cfg.horizon, model.action_dim)),
        "future": synthetic_observations(model, (cfg.batch_size, cfg.prediction_steps), seed=1),
    }
    model.requires_grad_(True).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        loss = sum(model.losses(batch).values(), torch.zeros(()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 2:  # the first steps allocate
            times.append(time.perf_counter() - start)
    model.freeze()
    return statistics.median(times)


def env_steps_per_second(env_id: str, model, chunk: int, defer: bool, chunks: int) -> float:
    env = ChunkedEnv(warl.make(env_id, **env_kwargs_for(model)), chunk,
                     record_frames=not defer)  # recording frames turns deferral off
    obs, _ = env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    for _ in range(chunks):
        out = model.infer(batch_of(obs))
        obs, _, terminated, truncated, info = env.step(out.ref_actions[0, :chunk].numpy())
        steps += info["steps_executed"]
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--chunk", type=int, default=12, help="C, actions per inference")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/wa_model.json"))
    args = parser.parse_args()

    probe = warl.make(args.env)
    # MetaWorld: frame_skip simulation steps of the model's timestep per control step.
    control_period = float(probe.unwrapped._mw.dt) if hasattr(probe.unwrapped, "_mw") else 0.0125
    probe.close()
    results = {"env": args.env, "chunk": args.chunk, "control_period_s": control_period,
               "torch_threads": torch.get_num_threads(), "machine": platform.processor(),
               "modes": {}}
    for mode in MODES:
        model = warl.make("warl/wa-small", env=args.env, pretrained=False, obs_mode=mode)
        latency = inference_latency(model, args.env, repeats=args.repeats * 3)
        step = train_step_seconds(model, args.repeats)
        row = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_step_s": step,
            "projected_pretrain_s": step * model.cfg.train_steps,
            "inference_ms_per_chunk": 1000 * latency,
            "inference_vs_chunk_execution": latency / (args.chunk * control_period),
        }
        if mode == "state+rgb":
            deferred = env_steps_per_second(args.env, model, args.chunk, True, 40)
            every = env_steps_per_second(args.env, model, args.chunk, False, 40)
            row.update(env_steps_per_s_deferred=deferred, env_steps_per_s_render_every=every,
                       deferred_speedup=deferred / every)
        results["modes"][mode] = row
        print(f"{mode:>10}: {row['parameters']:,} parameters, train step "
              f"{step * 1000:.0f} ms (x{model.cfg.train_steps} = "
              f"{row['projected_pretrain_s'] / 60:.1f} min), inference "
              f"{row['inference_ms_per_chunk']:.1f} ms per chunk = "
              f"{row['inference_vs_chunk_execution']:.2f} x the chunk's "
              f"{args.chunk * control_period * 1000:.0f} ms execution time")
        if "deferred_speedup" in row:
            print(f"{'':>10}  eval env steps/s: {row['env_steps_per_s_deferred']:.0f} deferred "
                  f"rendering vs {row['env_steps_per_s_render_every']:.0f} rendering every "
                  f"step ({row['deferred_speedup']:.1f}x)")
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
