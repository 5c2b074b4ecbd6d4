"""The ``warl`` command line. Sub-commands import their heavy parts only when they run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from warl.core.cli import (
    bench,
    checking,
    demos,
    evaluating,
    listing,
    pretraining,
    rewards,
    scaffold,
    serving,
    training,
    wm_eval,
    world_models,
)
from warl.core.errors import WarlError

EPILOG = """examples:
  warl list --kind env                      every registered environment
  warl info metaworld/peg-insert-side       one plugin's spec, extras and defaults
  warl check metaworld/peg-insert-side      run the env conformance suite
  warl demos collect metaworld/reach --episodes 10 --render
  warl pretrain metaworld/peg-insert-side   train (or reuse) the built-in WA model
  warl pretrain-world-model metaworld/hammer   train (or reuse) the video world model
  warl wm-eval metaworld/hammer             its imagination against the real env (PSNR, SSIM)
  warl train-reward metaworld/hammer        WoVR's success classifier, held-out accuracy
  warl reward-report metaworld/hammer --reward warl/pixel-mse   success vs failure separation
  warl eval wa-base --env metaworld/peg-insert-side --trials 100
  warl train halo-wa --env metaworld/peg-insert-side   the main job: WA-base vs HALO-WA
  warl bench --config benchmarks/configs/precision.yaml   every method, four tasks, one table
  warl serve metaworld/peg-insert-side --token-file T   serve an env to a remote learner
  warl new-plugin my-envs --kind env        scaffold a pip-installable plugin

environment variables:
  WARL_PLUGINS=a,b          load only these plugins (entry-point names; built-ins are 'warl')
  WARL_DISABLE_PLUGINS=a,b  never load these plugins
  WARL_STRICT=1             a plugin that fails to load is an error instead of a warning
  WARL_CACHE_DIR=path       where pretrained models and demos are cached (~/.cache/warl)
  WARL_REMOTE_TOKEN=token   the bearer token of remote envs and `warl serve` without a token file
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warl",
        description="warl: plug robot-learning environments, algorithms, world models and "
        "reward models together and compare them fairly.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from warl import __version__

    parser.add_argument("--version", action="version", version=f"warl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (listing, checking, demos, pretraining, world_models, wm_eval, rewards,
                   evaluating, training, bench, serving, scaffold):
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except WarlError as exc:
        print(f"warl: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("warl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
