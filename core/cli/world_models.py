"""``warl pretrain-world-model ENV``: train (or reuse) a video world model for one env."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from warl.core.cli.options import parse_sets
from warl.core.cli.pretraining import add_model_options
from warl.core.registry import default_registry

DESCRIPTION = """Records rollouts of a policy in the env (the WA model by default, successes
and failures, with action noise), trains the world model's frame autoencoder and then its
dynamics on them, and caches it by (model, env, settings) under $WARL_CACHE_DIR (default
~/.cache/warl). A cached model is reused unless --retrain. Prints the rollouts, the training
time and the held-out one-chunk latent error beside copying the last frame; the loss curve
is losses.png beside the checkpoint."""

EXAMPLES = """examples:
  warl pretrain-world-model metaworld/peg-insert-side
  warl pretrain-world-model metaworld/hammer --wa-set demos=3     # the sim recipe's WA model
  warl pretrain-world-model metaworld/reach --set policy=expert --set dynamics_steps=2000
  warl pretrain-world-model metaworld/hammer --set preset=paper   # the paper's width, a GPU

settings (--set): policy=wa-base|expert, action_noise, preset=cpu|paper, and every field of
the model's config (`warl info warl/video-wm`): context, chunk, future, anchor,
noisy_context, sampling_steps, rollouts, autoencoder_steps, dynamics_steps, ...
"""


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "pretrain-world-model", help="pretrain (or reuse the cached) video world model for an env",
        description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p, "warl/video-wm")
    p.add_argument("--wa-set", dest="wa_sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the WA model whose rollouts it learns from (repeatable)")
    p.set_defaults(handler=cmd_pretrain_world_model)


def requested(args: argparse.Namespace, kind: str = "world_model", id_arg: str = "model"
              ) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(registry, env spec, plugin spec, settings with ``wa``) of a command that trains a
    model of ``kind`` (named by the argument ``id_arg``) for an env."""
    registry = default_registry()
    env_spec = registry.get(args.env, kind="env")
    spec = registry.get(getattr(args, id_arg), kind=kind)
    settings = parse_sets(args.sets)
    wa = parse_sets(args.wa_sets, "--wa-set")
    if wa:
        settings["wa"] = wa
    return registry, env_spec, spec, settings


def cmd_pretrain_world_model(args: argparse.Namespace) -> int:
    registry, env_spec, spec, settings = requested(args)
    start = time.perf_counter()
    model = registry.make(spec.id, kind="world_model", env=env_spec.id, retrain=args.retrain,
                          show_progress=not args.quiet, **settings)
    metrics = dict(getattr(model, "metrics", {}))
    report = {"model": spec.id, "env": env_spec.id, "config": dict(model.config),
              "parameters": sum(p.numel() for p in model.parameters()),
              "load_or_train_s": time.perf_counter() - start, **metrics,
              "checkpoint": str(getattr(model, "checkpoint_path", ""))}
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(f"model      {spec.id} for {env_spec.id}")
    print(f"parameters {report['parameters']:,}")
    if "rollouts" in metrics:
        print(f"rollouts   {metrics['rollouts']} ({metrics['successful_rollouts']} successful, "
              f"policy {metrics['policy']}), {metrics['validation_episodes']} held out")
    if metrics.get("train_time_s") is not None:
        print(f"training   {metrics['train_time_s']:.0f} s")
    final = metrics.get("final_losses") or {}
    if "val_mse" in final:
        first = metrics.get("first_losses") or {}
        print(f"held out   one-chunk latent MSE {final['val_mse']:.4f} (untrained "
              f"{first.get('val_mse', float('nan')):.4f}); copying the last frame "
              f"{final['copy_last_mse']:.4f}")
    print(f"checkpoint {report['checkpoint']}")
    return 0
