"""HALO-WA learner and loop throughput, measured in one run.

1. Learner updates per second at the paper's batch size (64) for the ``paper`` and ``cpu``
   presets, and for the adapter widths of ``--adapters`` (hidden x heads on the ``cpu``
   preset, e.g. 64x1,32x2): one update = one critic step, plus the actor and target step
   every second one (critic:actor 2:1), on replay batches of the real layout (the default WA
   model's latents).
2. The training loop's env steps per wall second, asynchronous (rollout worker thread +
   learner) vs synchronous (collect an episode, then UTD updates per transition), each for the
   same wall time on this machine; the ratio is the async speed-up.

The WA model's weights do not change any of these costs, so an untrained one is used unless
``--pretrained`` is given (it then must be in the cache, see `warl pretrain`).

    python benchmarks/halo_wa.py [--env metaworld/peg-insert-side] [--seconds 120]
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
from warl.core.training.runner import fill_demos, torch_threads
from warl.core.training.session import Session


def updates_per_second(trainer: Session, seconds: float) -> float:
    algorithm, replay = trainer.algorithm, trainer.replay
    for _ in range(3):  # allocations
        algorithm.update(replay.sample(algorithm.batch_size))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        algorithm.update(replay.sample(algorithm.batch_size))
        count += 1
    return count / (time.perf_counter() - start)


def make_trainer(env: str, preset: str, asynchronous: bool, seconds: float, pretrained: bool,
                 run: Path, backend: str = "thread", threads: int = 0,
                 **algo: int) -> Session:
    """A session with a filled demonstration buffer; ``threads`` torch threads (0: every
    core) for the learner; ``algo``: more algorithm settings (e.g. hidden, heads)."""
    registry = default_registry()
    setup = assemble(registry, "halo-wa", env, algo_settings={"preset": preset, **algo},
                     wa_settings={} if pretrained else {"pretrained": False},
                     show_progress=False)
    config = make_train_config({"minutes": seconds / 60, "env_steps": 10**9, "demos": 10,
                                "asynchronous": asynchronous, "eval_trials": 0,
                                "checkpoint_every": 10**9, "baseline": False, "videos": 0,
                                "backend": backend, "torch_threads": threads})
    run.mkdir(parents=True)
    trainer = Session(setup, config, run, registry, show_progress=False)
    trainer.log = RunLog(run)
    torch.set_num_threads(threads or os.cpu_count() or 1)
    fill_demos(trainer)
    return trainer


def loop_throughput(trainer: Session) -> dict[str, float]:
    from warl.core.training.loops import off_policy

    torch.set_num_threads(torch_threads(trainer.config))
    start = time.perf_counter()
    off_policy(trainer, trainer.algorithm)
    wall = time.perf_counter() - start
    c = trainer.counters
    return {"env_steps_per_s": c.env_steps / wall, "updates_per_s": c.updates / wall,
            "achieved_utd": c.updates / max(1, c.transitions), "env_steps": c.env_steps,
            "updates": c.updates, "wall_s": wall, "torch_threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="wall time of each loop measurement (default 120)")
    parser.add_argument("--update-seconds", type=float, default=20.0)
    parser.add_argument("--pretrained", action="store_true")
    parser.add_argument("--adapters", default="64x1,32x2",
                        help="more adapter widths to time, HIDDENxHEADS on the cpu preset")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/halo_wa.json"))
    args = parser.parse_args()
    results: dict[str, object] = {"env": args.env, "cpus": os.cpu_count(),
                                  "machine": platform.processor() or platform.machine(),
                                  "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        learner = {}
        adapters = [tuple(int(v) for v in a.split("x")) for a in args.adapters.split(",") if a]
        variants = [("paper", {}), ("cpu", {})] + [
            (f"cpu-{h}x{n}", {"hidden": h, "heads": n}) for h, n in adapters]
        for preset, widths in variants:
            trainer = make_trainer(args.env, preset.split("-")[0], False, 0, args.pretrained,
                                   Path(tmp) / f"updates-{preset}", **widths)
            params = sum(p.numel() for p in trainer.algorithm.actor.parameters()) + sum(
                p.numel() for p in trainer.algorithm.learner.critic.parameters())
            learner[preset] = {"updates_per_s": updates_per_second(trainer, args.update_seconds),
                               "parameters": params, "batch_size": trainer.algorithm.batch_size,
                               "torch_threads": torch.get_num_threads()}
            trainer.setup.close()
            print(f"learner, {preset} preset ({params:,} parameters), batch "
                  f"{learner[preset]['batch_size']}: {learner[preset]['updates_per_s']:.1f} "
                  f"updates/s", flush=True)
        results["learner"] = learner
        loop = {}
        for mode, asynchronous in (("sync", False), ("async", True)):
            trainer = make_trainer(args.env, "cpu", asynchronous, args.seconds, args.pretrained,
                                   Path(tmp) / f"loop-{mode}")
            loop[mode] = loop_throughput(trainer)
            trainer.setup.close()
            print(f"loop, {mode}: {loop[mode]['env_steps_per_s']:.1f} env steps/s, "
                  f"{loop[mode]['updates_per_s']:.1f} updates/s, achieved UTD "
                  f"{loop[mode]['achieved_utd']:.2f}", flush=True)
        results["loop"] = loop
    ratio = loop["async"]["env_steps_per_s"] / loop["sync"]["env_steps_per_s"]
    results["async_vs_sync_env_steps_ratio"] = ratio
    results["async_vs_sync_updates_ratio"] = (loop["async"]["updates_per_s"]
                                              / loop["sync"]["updates_per_s"])
    print(f"async / sync: {ratio:.2f}x env steps per wall second, "
          f"{results['async_vs_sync_updates_ratio']:.2f}x updates per wall second")
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
