"""Where the rollout worker runs, and what it costs the learner (measured in one run).

The learner's updates per second, one torch thread:
1. standalone: updates on a replay holding demonstrations and a few online episodes (each batch
   drawn from both, as in the loop), nothing else running;
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
from halo_wa import make_trainer, updates_per_second  # the script's own folder is on sys.path

from warl.core.runs import write_json
from warl.core.training.loops import off_policy
from warl.core.training.loops.ingest import ingest
from warl.core.training.session import Session


def session(env: str, run: Path, seconds: float, backend: str) -> Session:
    """HALO-WA's ``cpu`` preset, asynchronous, the learner on one torch thread."""
    return make_trainer(env, "cpu", True, seconds, False, run, backend=backend, threads=1)


def run_loop(s: Session) -> dict[str, float]:
    update, first = s.algorithm.update, []

    def timed(batch: object) -> object:  # when the learner could first update
        if not first:
            first.append(time.perf_counter())
        return update(batch)

    s.algorithm.update = timed  # type: ignore[method-assign]
    start = time.perf_counter()
    off_policy(s, s.algorithm)
    end = time.perf_counter()
    c = s.counters
    # Rates over the online time (the worker process's start-up, about 3 s, is outside it),
    # and from the first update on (before it the learner waits for learning_starts
    # transitions, which no standalone learner does).
    return {"updates_per_s": c.updates / c.online_s, "env_steps_per_s": c.env_steps / c.online_s,
            "updates_per_s_from_first_update": (c.updates - 1) / (end - first[0]),
            "updates": c.updates, "env_steps": c.env_steps, "online_s": c.online_s,
            "wall_s": end - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backends", default="process,thread",
                        help="the asynchronous runs to measure, in this order")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/workers.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, object] = {"env": args.env, "cpus": os.cpu_count(),
                                  "machine": platform.processor() or platform.machine(),
                                  "torch": torch.__version__, "seconds": args.seconds,
                                  "learner_torch_threads": 1}
    with tempfile.TemporaryDirectory() as tmp:
        base = session(args.env, Path(tmp) / "standalone", args.seconds, "inline")
        # Online data too, so that each batch is drawn from both buffers, as in the loop.
        for seed in range(4):
            ingest(base, base.collect(base.rollout_state(), seed), {}, 0.0)
        results["standalone_updates_per_s"] = alone = updates_per_second(base, args.seconds)
        base.setup.close()
        print(f"standalone learner: {alone:.1f} updates/s", flush=True)
        for backend in args.backends.split(","):
            s = session(args.env, Path(tmp) / backend, args.seconds, backend)
            loop = run_loop(s)
            s.setup.close()
            loop["learner_ratio"] = loop["updates_per_s"] / alone
            loop["learner_ratio_from_first_update"] = \
                loop["updates_per_s_from_first_update"] / alone
            results[backend] = loop
            print(f"async, worker in a {backend}: {loop['updates_per_s']:.1f} updates/s "
                  f"({loop['learner_ratio']:.2f}x standalone; "
                  f"{loop['learner_ratio_from_first_update']:.2f}x from the first update), "
                  f"{loop['env_steps_per_s']:.0f} env steps/s", flush=True)
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
