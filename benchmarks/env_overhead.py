"""Per-step overhead of warl's env layer, measured against the raw MetaWorld env in one run.

Prints ratios and writes JSON (default benchmarks/results/env_overhead.json):
  - warl.make(...) env vs the raw MetaWorld v3 env (target: <= 3 % per step)
  - ChunkedEnv(C) vs the same actions stepped one by one
  - cold `warl list` wall time, a fresh interpreter each time (target: < 0.5 s)

    python benchmarks/env_overhead.py [--task peg-insert-side] [--steps 3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from warl.core.runs import write_json

TARGET = 0.03  # per-step overhead of warl.make over the raw env


def raw_env(task: str):
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    env = ALL_V3_ENVIRONMENTS[f"{task}-v3"]()
    env._partially_observable = False
    env._freeze_rand_vec = False
    env.seeded_rand_vec = True
    env._set_task_called = True
    env.max_path_length = 10**9
    return env


def time_steps(step, reset, actions: np.ndarray, horizon: int) -> float:
    """Seconds per step over ``actions``, resetting every ``horizon`` steps (not timed)."""
    total = 0.0
    for start in range(0, len(actions), horizon):
        reset()
        block = actions[start:start + horizon]
        t0 = time.perf_counter()
        for action in block:
            step(action)
        total += time.perf_counter() - t0
    return total / len(actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="peg-insert-side")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/env_overhead.json"))
    args = parser.parse_args()

    import warl
    from warl.core.envs import ChunkedEnv

    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (args.steps, 4)).astype(np.float32)
    # Below MetaWorld's 500-step limit; random actions never succeed, so nothing terminates.
    horizon = 480

    raw = raw_env(args.task)
    raw.seed(0)
    wrapped = warl.make(f"metaworld/{args.task}", max_episode_steps=10**9,
                        terminate_on_success=False)
    chunked = ChunkedEnv(wrapped, args.chunk)
    chunk_actions = actions[: len(actions) // args.chunk * args.chunk].reshape(-1, args.chunk, 4)

    raw_t, warl_t, single_t, chunk_t = [], [], [], []
    for _ in range(args.repeats):  # interleaved so drift hits all variants alike
        raw_t.append(time_steps(raw.step, raw.reset, actions, horizon))
        warl_t.append(time_steps(wrapped.step, lambda: wrapped.reset(seed=0), actions, horizon))
        single_t.append(time_steps(wrapped.step, lambda: wrapped.reset(seed=0),
                                   chunk_actions.reshape(-1, 4), horizon))
        per_chunk = time_steps(chunked.step, lambda: chunked.reset(seed=0), chunk_actions,
                               horizon // args.chunk)
        chunk_t.append(per_chunk / args.chunk)

    cold = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "warl.core.cli", "list"], check=True,
                       capture_output=True)
        cold.append(time.perf_counter() - t0)

    med = statistics.median
    result = {
        "task": args.task,
        "steps": args.steps,
        "repeats": args.repeats,
        "raw_step_us": med(raw_t) * 1e6,
        "warl_step_us": med(warl_t) * 1e6,
        "warl_overhead_ratio": med(warl_t) / med(raw_t) - 1,
        # Each repeat times both envs back to back, so its ratio is a paired measurement.
        "warl_overhead_ratios": [w / r - 1 for w, r in zip(warl_t, raw_t, strict=True)],
        "repeats_within_target": sum(w / r - 1 <= TARGET for w, r in zip(warl_t, raw_t,
                                                                           strict=True)),
        "chunk": args.chunk,
        "single_step_us": med(single_t) * 1e6,
        "chunked_step_us": med(chunk_t) * 1e6,
        "chunked_overhead_ratio": med(chunk_t) / med(single_t) - 1,
        "cold_warl_list_s": med(cold),
        "n_registered": len(warl.list_specs()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    print(f"raw MetaWorld step      {result['raw_step_us']:8.1f} us")
    print(f"warl.make env step      {result['warl_step_us']:8.1f} us   overhead "
          f"{result['warl_overhead_ratio']:+.1%} (target <= +3% in at least 4 of 5 repeats: "
          f"{result['repeats_within_target']} of {args.repeats})")
    print(f"ChunkedEnv(C={args.chunk}) per step {result['chunked_step_us']:8.1f} us   overhead "
          f"{result['chunked_overhead_ratio']:+.1%} vs single steps")
    print(f"cold `warl list`        {result['cold_warl_list_s']:8.3f} s    "
          f"({result['n_registered']} plugins; target < 0.5 s)")
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
