"""Rollout throughput: env steps per second of the rollout engine, measured in one run.

For the process and Ray backends, 1 and 2 workers, and 1, 2 and 4 envs per worker, the
workers collect HALO-WA training episodes (``cpu`` preset, the untrained default WA model,
state + rgb camera: WA inference and rendering at every chunk boundary, as in training) for
``--seconds`` each; nothing else runs. The raw MetaWorld env's own rate (random actions, state
only, no rendering) is measured in the same run, as the ceiling one core gives.

    python benchmarks/rollouts.py [--env metaworld/peg-insert-side] [--seconds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch
from env_overhead import raw_env  # the script's own folder is on sys.path
from halo_wa import make_trainer

from warl.core.rollout.engine import EpisodeRequest
from warl.core.runs import write_json


def raw_rate(task: str, seconds: float) -> float:
    env = raw_env(task)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (1000, env.action_space.shape[0])).astype(np.float32)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(actions[steps % 1000])
        steps += 1
        if steps % 500 == 0:
            env.reset(seed=steps)
    return steps / (time.perf_counter() - start)


def make_backend(kind: str, recipe: object, workers: int) -> object:
    if kind == "ray":
        from warl.core.training.ray_backend import RayBackend

        return RayBackend(recipe, workers)  # type: ignore[arg-type]
    from warl.core.training.workers import ProcessPool

    return ProcessPool(recipe, workers)  # type: ignore[arg-type]


def rollout_rate(session: object, kind: str, workers: int, envs: int,
                 seconds: float) -> dict[str, float]:
    recipe = dataclasses.replace(session.recipe(), envs=envs)  # type: ignore[attr-defined]
    state = session.rollout_state()  # type: ignore[attr-defined]
    backend = make_backend(kind, recipe, workers)
    try:
        seed, steps, episodes = 0, 0, 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            futures = []
            for _ in range(workers):
                requests = [EpisodeRequest(seed + i) for i in range(envs)]
                seed += envs
                futures.append(backend.submit("episodes", state, requests))  # type: ignore
            for future in futures:
                for rollout in future.result():
                    steps += rollout.record.length
                    episodes += 1
        wall = time.perf_counter() - start
    finally:
        backend.close()  # type: ignore[attr-defined]
    return {"env_steps_per_s": steps / wall, "episodes": episodes, "env_steps": steps,
            "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backends", default="process,ray")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/rollouts.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    raw = raw_rate(args.env.split("/")[-1], min(args.seconds, 10.0))
    print(f"raw MetaWorld env: {raw:.0f} steps/s (one core)")
    results: dict[str, object] = {
        "env": args.env, "cpus": os.cpu_count(), "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(), "seconds": args.seconds,
        "raw_env_steps_per_s": raw, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        session = make_trainer(args.env, "cpu", True, 60.0, False, Path(tmp) / "run",
                               threads=1)
        runs: list[dict[str, object]] = []
        for kind in args.backends.split(","):
            for workers in (1, 2):
                for envs in (1, 2, 4):
                    rate = rollout_rate(session, kind, workers, envs, args.seconds)
                    rate.update(backend=kind, workers=workers, envs_per_worker=envs,
                                of_raw=rate["env_steps_per_s"] / raw)
                    runs.append(rate)
                    print(f"{kind:8s} workers={workers} envs/worker={envs}: "
                          f"{rate['env_steps_per_s']:6.0f} steps/s "
                          f"({rate['of_raw']:.2f}x the raw env)")
        results["runs"] = runs
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
