"""Where the rollout worker runs, and what it costs the learner (measured in one run).

The learner's updates per second, one torch thread:
1. standalone: updates on a filled replay, nothing else running;
2. during an asynchronous run with the worker in a thread of the learner's process
   (``train.backend=thread``);
3. during an asynchronous run with the worker in its own process (``train.backend=process``).
The ratios 2/1 and 3/1 show what collecting costs the learner (target for 3/1: at least 0.9).
The env steps per second of each run are reported too. HALO-WA, ``cpu`` preset, the untrained
default WA model (its weights change no cost), its state+rgb camera included.

    python benchmarks/workers.py [--env metaworld/peg-insert-side] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import torch

from warl.core.assemble import assemble
from warl.core.registry import default_registry
from warl.core.runs import write_json
from warl.core.training.config import make_train_config
from warl.core.training.log import RunLog
from warl.core.training.loops import off_policy
from warl.core.training.runner import fill_demos
from warl.core.training.session import Session


def session(env: str, run: Path, seconds: float, backend: str) -> Session:
    registry = default_registry()
    setup = assemble(registry, "halo-wa", env, algo_settings={"preset": "cpu"},
                     wa_settings={"pretrained": False}, show_progress=False)
    config = make_train_config({"minutes": seconds / 60, "env_steps": 10**9, "demos": 10,
                                "asynchronous": True, "backend": backend, "eval_trials": 0,
                                "checkpoint_every": 10**9, "baseline": False, "videos": 0,
                                "torch_threads": 1})
    run.mkdir(parents=True)
    out = Session(setup, config, run, registry, show_progress=False)
    out.log = RunLog(run)
    fill_demos(out)
    return out


def standalone(s: Session, seconds: float) -> float:
    algorithm = s.algorithm
    for _ in range(3):  # allocations
        algorithm.update(s.replay.sample(algorithm.batch_size))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        algorithm.update(s.replay.sample(algorithm.batch_size))
        count += 1
    return count / (time.perf_counter() - start)


def run_loop(s: Session) -> dict[str, float]:
    start = time.perf_counter()
    off_policy(s, s.algorithm)
    wall = time.perf_counter() - start
    c = s.counters
    # Rates over the online time (the worker process's start-up, about 3 s, is outside it).
    return {"updates_per_s": c.updates / c.online_s, "env_steps_per_s": c.env_steps / c.online_s,
            "updates": c.updates, "env_steps": c.env_steps, "online_s": c.online_s,
            "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/workers.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, object] = {"env": args.env, "cpus": os.cpu_count(),
                                  "machine": platform.processor() or platform.machine(),
                                  "torch": torch.__version__, "seconds": args.seconds,
                                  "learner_torch_threads": 1}
    with tempfile.TemporaryDirectory() as tmp:
        base = session(args.env, Path(tmp) / "standalone", args.seconds, "inline")
        results["standalone_updates_per_s"] = alone = standalone(base, args.seconds)
        base.setup.close()
        print(f"standalone learner: {alone:.1f} updates/s", flush=True)
        for backend in ("thread", "process"):
            s = session(args.env, Path(tmp) / backend, args.seconds, backend)
            loop = run_loop(s)
            s.setup.close()
            loop["learner_ratio"] = loop["updates_per_s"] / alone
            results[backend] = loop
            print(f"async, worker in a {backend}: {loop['updates_per_s']:.1f} updates/s "
                  f"({loop['learner_ratio']:.2f}x standalone), "
                  f"{loop['env_steps_per_s']:.0f} env steps/s", flush=True)
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
