"""``warl pretrain ENV``: train (or reuse) a world-action model for one env, with a loss curve."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from warl.core.cli.options import parse_sets
from warl.core.registry import default_registry

DESCRIPTION = """Pretrains a world-action model on the env's scripted-expert demonstrations and
caches it by (model, env, config hash) under $WARL_CACHE_DIR (default ~/.cache/warl), so that
`warl eval` and `warl train` reuse it. A cached model is reused unless --retrain. Prints the
training time, the parameter count and the inference latency per chunk."""

EXAMPLES = """examples:
  warl pretrain metaworld/peg-insert-side
  warl pretrain metaworld/reach --set obs_mode=state --set train_steps=1000
  warl pretrain metaworld/hammer --retrain
"""


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "pretrain", help="pretrain (or reuse the cached) world-action model for an env",
        description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_options(p, "warl/wa-small")
    p.set_defaults(handler=cmd_pretrain)


def add_model_options(p: argparse.ArgumentParser, model: str) -> None:
    """The arguments every pretraining command shares."""
    p.add_argument("env", help="env id, e.g. metaworld/peg-insert-side")
    p.add_argument("--model", default=model, help=f"world-model id (default {model})")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="a model setting, e.g. obs_mode=state (repeatable; see `warl info MODEL`)")
    p.add_argument("--retrain", action="store_true", help="train even if the cache has the model")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def cmd_pretrain(args: argparse.Namespace) -> int:
    from warl.core.world_model import inference_latency

    registry = default_registry()
    env_spec = registry.get(args.env, kind="env")
    spec = registry.get(args.model, kind="world_model")
    settings = parse_sets(args.sets)
    start = time.perf_counter()
    model = registry.make(spec.id, kind="world_model", env=env_spec.id, retrain=args.retrain,
                          show_progress=not args.quiet, **settings)
    elapsed = time.perf_counter() - start
    metrics = dict(getattr(model, "metrics", {}))
    report = {
        "model": spec.id,
        "env": env_spec.id,
        "config": dict(model.config),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_time_s": metrics.get("train_time_s"),
        "load_or_train_s": elapsed,
        "inference_ms_per_chunk": 1000 * inference_latency(model, env_spec.id, registry),
        "first_losses": metrics.get("first_losses"),
        "final_losses": metrics.get("final_losses"),
        "checkpoint": str(getattr(model, "checkpoint_path", "")),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model      {report['model']} for {report['env']}")
    print(f"parameters {report['parameters']:,}")
    if report["train_time_s"] is not None:
        print(f"training   {report['train_time_s']:.0f} s")
    print(f"inference  {report['inference_ms_per_chunk']:.1f} ms per chunk (batch of 1, CPU)")
    for key in ("first_losses", "final_losses"):
        if report[key]:
            losses = "  ".join(f"{k} {v:.4f}" for k, v in report[key].items())
            print(f"{key.split('_')[0]:<10} {losses}")
    print(f"checkpoint {report['checkpoint']}")
    return 0
