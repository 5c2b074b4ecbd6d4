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
    add_report_command(commands)


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


REPORT_DESCRIPTION = """Records held-out rollouts of a policy in the real env (successes and
failures), scores each with the reward and reports how far apart the two groups lie (WAM-RL's
figure 2): the groups' means, their difference and the AUROC of the score as a success
detector. A 'frames' reward scores the episode's frames; a 'futures' similarity compares
each executed chunk with the chunk the world model (--world-model) imagines from the real
frames before it. Writes results.json and separation.png to --out."""


def add_report_command(commands: Any) -> None:
    p = commands.add_parser("reward-report", help="how well a reward separates success from "
                            "failure on real rollouts", description=REPORT_DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="examples:\n  warl reward-report metaworld/hammer --reward "
                            "warl/pixel-mse\n  warl reward-report metaworld/hammer --reward "
                            "warl/success-classifier --episodes 40\n")
    p.add_argument("env", help="env id")
    p.add_argument("--reward", required=True, help="reward id, e.g. warl/pixel-mse")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the reward (repeatable)")
    p.add_argument("--world-model", default="warl/video-wm",
                   help="the world model that imagines futures for a 'futures' reward")
    p.add_argument("--wm-set", dest="wm_sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the world model (repeatable)")
    p.add_argument("--wa-set", dest="wa_sets", action="append", metavar="KEY=VALUE",
                   help="a setting of the WA model whose rollouts are scored (repeatable)")
    p.add_argument("--policy", default="wa-base", help="who acts: wa-base or expert")
    p.add_argument("--action-noise", type=float, default=0.3,
                   help="per-episode Gaussian action noise up to this level (default 0.3)")
    p.add_argument("--episodes", type=int, default=20, help="held-out rollouts (default 20)")
    p.add_argument("--out", default=None, help="output folder (default runs/reward-report/...)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_reward_report)


def cmd_reward_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from warl.core import reward_report as rr
    from warl.core.cli.options import parse_sets, run_dir
    from warl.core.errors import ConfigError
    from warl.core.registry import default_registry
    from warl.core.rollout.recorded import EVAL_SEEDS, Episodes, RolloutSpec, record_rollouts
    from warl.core.runs import write_json

    if args.episodes < 2:
        raise ConfigError(f"--episodes {args.episodes}: give at least 2 (successes and "
                          f"failures)")
    registry = default_registry()
    env_id = registry.get(args.env, kind="env").id
    spec = registry.get(args.reward, kind="reward")
    settings = parse_sets(args.sets)
    if "learned" in spec.tags:
        settings = {"env": env_id, "show_progress": not args.quiet, **settings}
    reward = registry.make(spec.id, kind="reward", **settings)
    model = None
    if rr.is_frames(reward):
        key = next(k for k in reward.observation_keys if k.startswith("rgb_"))
    else:
        model = registry.make(args.world_model, kind="world_model", env=env_id,
                              show_progress=not args.quiet, **parse_sets(args.wm_sets,
                                                                         "--wm-set"))
        key = model.codec.image_key
    rollouts = RolloutSpec(policy=args.policy, action_noise=args.action_noise,
                           wa=parse_sets(args.wa_sets, "--wa-set"),
                           camera=key.removeprefix("rgb_"), episodes=args.episodes,
                           first_seed=EVAL_SEEDS)
    data = Episodes(record_rollouts(env_id, rollouts, not args.quiet), rollouts.camera)
    scores = rr.frame_scores(reward, data.frames, data.states, key) if model is None else \
        rr.future_scores(reward, model, data.frames, data.states, data.actions, key)
    result = rr.separation(scores, data.success)
    out = Path(args.out) if args.out else run_dir("runs/reward-report", spec.id, env_id)
    rr.plot(result, f"{spec.id} on {env_id}", out / "separation.png")
    report = {"reward": spec.id, "env": env_id, "world_model": args.world_model if model
              else None, "policy": args.policy, "episodes": len(data), **result}
    write_json(out / "results.json", report)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    auc = result["auroc"]
    print(f"{spec.id} on {env_id}: {result['successes']} successes, {result['failures']} "
          f"failures")
    if auc is None:
        print("AUROC undefined: the rollouts need both successes and failures (raise "
              "--action-noise or --episodes)")
    else:
        print(f"mean score: success {result['success_mean']:.4f}, failure "
              f"{result['failure_mean']:.4f}; AUROC {auc:.3f}")
    print(f"figure     {out / 'separation.png'}")
    return 0
