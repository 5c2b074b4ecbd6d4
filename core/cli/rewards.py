"""``warl train-reward ENV``: train (or reuse) a learned reward and report it on held-out frames."""

from __future__ import annotations

import argparse
import json
from typing import Any

DESCRIPTION = """Records labelled rollouts of a policy in the env (the WA model by default, with
action noise, so that successes and failures are both seen; a frame's label is the env's
success after the action that led to it), trains the learned reward on them and caches it
under $WARL_CACHE_DIR. Reports accuracy, precision and recall of r = 1[R(o) >= threshold] on
frames of held-out episodes."""

EXAMPLES = """examples:
  warl train-reward metaworld/hammer
  warl train-reward metaworld/reach --set policy=expert --set episodes=20
  warl train-reward metaworld/hammer --wa-set demos=3     # rollouts of the sim recipe's WA-base
"""


def add_commands(commands: Any) -> None:
    p = commands.add_parser("train-reward", help="train (or reuse) a learned reward for an env",
                            description=DESCRIPTION, epilog=EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("env", help="env id, e.g. metaworld/hammer")
    p.add_argument("--reward", default="warl/success-classifier",
                   help="reward id (default warl/success-classifier)")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the reward or its rollouts (repeatable)")
    p.add_argument("--wa-set", dest="wa_sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the WA model whose rollouts it learns from (repeatable)")
    p.add_argument("--retrain", action="store_true", help="train even if the cache has it")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_train_reward)


def cmd_train_reward(args: argparse.Namespace) -> int:
    from warl.core.cli.world_models import requested

    registry, env_spec, spec, settings = requested(args, "reward", "reward")
    reward = registry.make(spec.id, kind="reward", env=env_spec.id, retrain=args.retrain,
                           show_progress=not args.quiet, **settings)
    metrics = dict(getattr(reward, "metrics", {}))
    if args.json:
        print(json.dumps({"reward": spec.id, "env": env_spec.id, **metrics,
                          "checkpoint": str(getattr(reward, "checkpoint_path", ""))},
                         indent=2, default=str))
        return 0
    print(f"reward     {spec.id} for {env_spec.id}")
    if "rollouts" in metrics:
        print(f"rollouts   {metrics['rollouts']} ({metrics['successful_rollouts']} successful), "
              f"{metrics['held_out_episodes']} held out")
    for part in ("train", "held_out"):
        row = metrics.get(part)
        if row:
            print(f"{part.replace('_', ' '):<10} accuracy {row['accuracy']:.3f}  precision "
                  f"{row['precision']:.3f}  recall {row['recall']:.3f}  ({row['frames']} frames, "
                  f"{row['positives']} successes)")
    print(f"checkpoint {getattr(reward, 'checkpoint_path', '')}")
    return 0
