"""Learner throughput of HALO-WA and the baselines, measured in one run.

Updates per second at each algorithm's default batch size on replay batches of the real
layout (the default WA model's latents), and each one's ratio to HALO-WA's. One update is
what the loop counts: a critic step (plus the actor and targets every second one) for
halo-wa, rl-token and pld, one BC step for hg-dagger. RL-token is measured after its token is
trained (the steady state). Its parameter count is that of everything the update trains.

    python benchmarks/baselines.py [--env metaworld/peg-insert-side] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import torch
from halo_wa import updates_per_second  # the script's own folder is on sys.path

from warl.core.assemble import assemble
from warl.core.registry import default_registry
from warl.core.runs import write_json
from warl.core.training.config import make_train_config
from warl.core.training.log import RunLog
from warl.core.training.runner import fill_demos
from warl.core.training.session import Session

ALGORITHMS = {"halo-wa": {"preset": "cpu"}, "rl-token": {"token_steps": 0},
              "pld": {}, "hg-dagger": {"bc_warmup_steps": 0}}


def trained_parameters(algorithm: object) -> int:
    owners = [algorithm, getattr(algorithm, "learner", None)]
    modules = [getattr(o, name) for o in owners for name in ("actor", "critic", "novice",
                                                              "decoder")
               if isinstance(getattr(o, name, None), torch.nn.Module)]
    seen = {id(p): p for m in modules for p in m.parameters()}
    return sum(p.numel() for p in seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="metaworld/peg-insert-side")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/baselines.json"))
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    results: dict[str, object] = {"env": args.env, "cpus": os.cpu_count(),
                                  "machine": platform.processor() or platform.machine(),
                                  "torch": torch.__version__, "seconds": args.seconds}
    learners: dict[str, dict[str, float]] = {}
    registry = default_registry()
    with tempfile.TemporaryDirectory() as tmp:
        for algo, settings in ALGORITHMS.items():
            setup = assemble(registry, algo, args.env, algo_settings=settings,
                             wa_settings={"pretrained": False}, show_progress=False)
            config = make_train_config({"demos": 10, "baseline": False, "videos": 0})
            run = Path(tmp) / algo.replace("/", "_")
            run.mkdir()
            trainer = Session(setup, config, run, registry, show_progress=False)
            trainer.log = RunLog(run)
            fill_demos(trainer)
            learners[algo] = {"updates_per_s": updates_per_second(trainer, args.seconds),
                              "parameters": trained_parameters(setup.algorithm),
                              "batch_size": setup.algorithm.batch_size}
            trainer.log.close()
            setup.close()
            print(f"{algo}: {learners[algo]['updates_per_s']:.1f} updates/s, "
                  f"{learners[algo]['parameters']:,} trained parameters, batch "
                  f"{learners[algo]['batch_size']}", flush=True)
    base = learners["halo-wa"]["updates_per_s"]
    for algo, numbers in learners.items():
        numbers["ratio_to_halo_wa"] = numbers["updates_per_s"] / base
        print(f"{algo} / halo-wa: {numbers['ratio_to_halo_wa']:.2f}x updates per second")
    results["learners"] = learners
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
