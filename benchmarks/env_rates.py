"""Step rates of the simulators warl wraps, state only and with one 128 x 128 camera, measured
in one run on this machine (docs/envs.md's table comes from here).

Each env is made through the registry (`warl.make`, the same path training takes), reset
with a fixed seed and stepped with uniform random actions; resets are not timed. Writes JSON
(default benchmarks/results/env_rates.json) and prints a markdown table.

    python benchmarks/env_rates.py [--steps 200] [--envs metaworld/peg-insert-side ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from warl.core.make import missing_requirement
from warl.core.registry import create_registry
from warl.core.runs import write_json

# One camera per env: the view a WA model would read.
CAMERAS = {
    "metaworld/peg-insert-side": "corner",
    "maniskill/PickCube-v1": "base_camera",
    "maniskill/PegInsertionSide-v1": "base_camera",
    "maniskill/StackCube-v1": "base_camera",
    "robosuite/Lift": "agentview",
    "robosuite/TwoArmLift": "agentview",
    "aloha/insertion": "top",
    "aloha/transfer-cube": "top",
}


def steps_per_second(env: Any, steps: int, seed: int = 0) -> float:
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    env.reset(seed=seed)
    elapsed = 0.0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed += time.perf_counter() - start
        if terminated or truncated:
            env.reset(seed=seed)
    return steps / elapsed


def measure(env_id: str, camera: str, steps: int) -> dict[str, Any]:
    registry = create_registry()
    spec = registry.get(env_id)
    missing = missing_requirement(spec)
    if missing:
        return {"env": env_id, "skipped": f"missing {missing}: {spec.install_hint}"}
    row: dict[str, Any] = {"env": env_id, "camera": camera}
    start = time.perf_counter()
    env = registry.make(env_id, kind="env")
    row["make_s"] = round(time.perf_counter() - start, 2)
    row["action_dim"] = int(np.prod(env.action_space.shape))
    row["state_steps_per_s"] = round(steps_per_second(env, steps), 1)
    env.close()
    env = registry.make(env_id, kind="env", cameras=[camera], image_size=128)
    row["camera_steps_per_s"] = round(steps_per_second(env, max(steps // 4, 20)), 1)
    env.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="state-only steps per env")
    parser.add_argument("--envs", nargs="*", default=list(CAMERAS), help="env ids")
    parser.add_argument("--out", default="benchmarks/results/env_rates.json")
    args = parser.parse_args()
    rows = [measure(env_id, CAMERAS.get(env_id, ""), args.steps) for env_id in args.envs]
    print("| env | action dim | steps/s, state only | steps/s, one 128x128 camera | make (s) |")
    print("|---|---|---|---|---|")
    for row in rows:
        if "skipped" in row:
            print(f"| `{row['env']}` | - | - | - | {row['skipped']} |")
            continue
        print(f"| `{row['env']}` | {row['action_dim']} | {row['state_steps_per_s']} | "
              f"{row['camera_steps_per_s']} ({row['camera']}) | {row['make_s']} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, {"machine": platform.processor() or platform.machine(),
                     "cpus": os.cpu_count(), "steps": args.steps, "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
