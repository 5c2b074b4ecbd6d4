"""``warl train ALGO --env ENV``: online training into a resumable run folder."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warl.core.cli.options import parse_sets, run_dir
from warl.core.errors import ConfigError

DESCRIPTION = """Trains an algorithm online on an env under its deployment gap. Every setting
is checked first (a bad one is one error line, before any work). With every default,
`warl train halo-wa --env metaworld/peg-insert-side` pretrains (or reuses) the built-in WA
model, evaluates WA-base on 100 fixed seeds, fills the demonstration buffer, runs HALO-WA's
train(session) (a BC warm-up, then the off-policy loop with rollout and learning in parallel),
evaluates it on the same seeds and prints the comparison table. Everything goes into a run
folder: config.json (resolved settings and plugin versions), train.csv / eval.csv and
TensorBoard logs, checkpoint/ (networks, optimizers, RNG states, replay with its cursor),
videos/, plots/, results.json and results.md. `--resume RUN_DIR` continues a stopped or killed
run from its last checkpoint."""

EXAMPLES = """settings (--set KEY=VALUE, or the same sections in --config FILE):
  KEY            an algorithm setting, e.g. preset=paper, fusion=cross, latent_source=none
  train.KEY      a loop setting, e.g. train.minutes=5, train.env_steps=20000,
                 train.asynchronous=false, train.final_trials=100, train.demos=0
  wa.KEY         a world-action model setting, e.g. wa.obs_mode=state
  env.KEY        an env setting, e.g. env.url=ws://10.0.0.5:8765 env.token_file=T for a
                 remote env (docs/robot.md)
  `warl info ALGO` lists every algorithm setting at its default; docs/training.md every
  loop setting.

config file (YAML):
  algorithm: {preset: cpu, bc_coef: 50}
  train: {minutes: 20, final_trials: 100}
  wa: {obs_mode: state+rgb}

examples:
  warl train halo-wa --env metaworld/peg-insert-side
  warl train halo-wa --env metaworld/peg-insert-side --recipe sim
  warl train halo-wa --env metaworld/hammer --set fusion=cross --set train.minutes=10
  warl train halo-wa --env metaworld/assembly --config my_run.yaml --out runs/assembly
  warl train grpo --env metaworld/button-press-topdown --set group_size=8
  warl train hg-dagger --env metaworld/hammer --set train.env_steps=30000
  warl train halo-wa --env metaworld/hammer --set train.workers=2 --set train.envs_per_worker=4
  RAY_ADDRESS=HEAD:6379 warl train halo-wa --env metaworld/hammer --set train.backend=ray \\
      --set train.workers=16     (pip install 'warl[ray]'; without RAY_ADDRESS: a local cluster)
  warl train --resume runs/train/halo-wa__metaworld_peg-insert-side__20260101-120000
"""


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "train", help="train an algorithm online (resumable run folder, table vs WA-base)",
        description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("algo", nargs="?", help="algorithm id, e.g. halo-wa (omit with --resume)")
    p.add_argument("--env", help="env id, e.g. metaworld/peg-insert-side")
    p.add_argument("--config", type=Path, help="YAML file with algorithm/train/wa sections")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="a setting (repeatable; see below)")
    p.add_argument("--recipe", metavar="NAME",
                   help="the experimental protocol: gap (default: the deployment-gap recipe), "
                   "sim (HALO-WA's simulation experiment: a few-shot WA model, no gap), or a "
                   "recipe file; see docs/recipes.md")
    p.add_argument("--gap", help="deployment gap: default (the env's), none, YAML/JSON, or a "
                   "file [the recipe's, else default]")
    p.add_argument("--wa-model", help="world-action model id [the algorithm's default, else "
                   "warl/wa-small]")
    p.add_argument("--world-model", metavar="ID",
                   help="world model id, for an algorithm that needs one (needs world_model)")
    p.add_argument("--reward-model", metavar="ID",
                   help="reward model id, for an algorithm that needs one (needs reward_model)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--out", type=Path, help="run folder (default runs/train/<algo>__<env>__<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print results.json's summary as JSON")
    p.set_defaults(handler=cmd_train)


def split_settings(config_file: Path | None, sets: list[str] | None) -> dict[str, dict[str, Any]]:
    """-> {"algorithm": {...}, "train": {...}, "wa": {...}, "env": {...}} from the file, then
    ``--set``."""
    import yaml

    from warl.core.training.run import SECTIONS

    out: dict[str, dict[str, Any]] = {k: {} for k in SECTIONS}
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"--config {config_file}: no such file")
        try:
            data = yaml.safe_load(config_file.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"--config {config_file}: not valid YAML: "
                              f"{str(exc).splitlines()[0]}") from None
        if not isinstance(data, Mapping) or set(data) - set(out):
            got = sorted(data) if isinstance(data, Mapping) else repr(data)
            raise ConfigError(f"--config {config_file}: expected a mapping with sections "
                              f"{sorted(out)}, got {got}")
        for section, values in data.items():
            if not isinstance(values, Mapping):
                raise ConfigError(f"--config {config_file}: section {section!r} must be a mapping")
            out[section].update(values)
    for key, value in parse_sets(sets).items():
        section, _, name = key.partition(".")
        if name and section in ("train", "wa", "env"):
            out[section][name] = value
        else:
            out["algorithm"][key] = value
    return out


def _request(args: argparse.Namespace) -> tuple[dict[str, Any], Path, bool]:
    """The run's request (what to assemble and how to train) and its folder."""
    from warl.core.training.run import make_request, read_request

    if args.resume is not None:
        if args.algo or args.env or args.sets or args.config or args.out or \
                args.world_model or args.reward_model or args.recipe or args.gap:
            raise ConfigError("--resume continues a run exactly as it was configured; give it "
                              "alone (the settings are read from RUN_DIR/config.json)")
        return read_request(args.resume), args.resume, True
    if not args.algo or not args.env:
        raise ConfigError("warl train needs ALGO and --env ENV (or --resume RUN_DIR)")
    if args.out is not None and args.out.exists() and any(args.out.iterdir()):
        raise ConfigError(f"--out {args.out} exists and is not empty; choose a new folder or "
                          f"--resume it")
    from warl.core.recipes import with_recipe
    from warl.core.registry import default_registry

    settings, gap = with_recipe(args.recipe, default_registry(), args.algo, args.env,
                                split_settings(args.config, args.sets), args.gap)
    request = make_request(args.algo, args.env, settings, gap, args.wa_model, args.world_model,
                           args.reward_model, args.recipe)
    return request, args.out or run_dir("runs/train", args.algo, args.env), False


def cmd_train(args: argparse.Namespace) -> int:
    from warl.core.training.run import quiet_torchrl, run_training

    quiet_torchrl()
    request, out, resume = _request(args)
    summary = run_training(request, out, resume=resume, show_progress=not args.quiet)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print((out / "results.md").read_text())
        print(f"run folder: {out}")
    return 0
