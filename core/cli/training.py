"""``warl train ALGO --env ENV``: online training into a resumable run folder."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warl.core.cli.options import parse_sets, run_dir
from warl.core.errors import ConfigError
from warl.core.registry import default_registry

DESCRIPTION = """Trains an algorithm online on an env under its deployment gap. With every
default, `warl train halo-wa --env metaworld/peg-insert-side` pretrains (or reuses) the built-in
WA model, evaluates WA-base on 100 fixed seeds, fills the demonstration buffer, trains HALO-WA
(rollout and learning in parallel), evaluates it on the same seeds and prints the comparison
table. Everything goes into a run folder: config.json (resolved settings and plugin versions),
train.csv / eval.csv and TensorBoard logs, checkpoint/ (networks, optimizers, RNG states, replay
with its cursor), videos/, plots/, results.json and results.md. `--resume RUN_DIR` continues a
stopped or killed run from its last checkpoint."""

EXAMPLES = """settings (--set KEY=VALUE, or the same sections in --config FILE):
  KEY            an algorithm setting, e.g. preset=paper, fusion=cross, latent_source=none
  train.KEY      a loop setting, e.g. train.minutes=5, train.env_steps=20000,
                 train.asynchronous=false, train.final_trials=100, train.demos=0
  wa.KEY         a world-action model setting, e.g. wa.obs_mode=state
  `warl info halo-wa` lists the algorithm's defaults; docs/training.md every loop setting.

config file (YAML):
  algorithm: {preset: cpu, bc_coef: 50}
  train: {minutes: 20, final_trials: 100}
  wa: {obs_mode: state+rgb}

examples:
  warl train halo-wa --env metaworld/peg-insert-side
  warl train halo-wa --env metaworld/hammer --set fusion=cross --set train.minutes=10
  warl train halo-wa --env metaworld/assembly --config my_run.yaml --out runs/assembly
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
    p.add_argument("--gap", default="default",
                   help="deployment gap: default (the env's), none, YAML/JSON, or a file")
    p.add_argument("--wa-model", default="warl/wa-small", help="world-action model id")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--out", type=Path, help="run folder (default runs/train/<algo>__<env>__<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print results.json's summary as JSON")
    p.set_defaults(handler=cmd_train)


def split_settings(config_file: Path | None, sets: list[str] | None) -> dict[str, dict[str, Any]]:
    """-> {"algorithm": {...}, "train": {...}, "wa": {...}} from the file, then ``--set``."""
    import yaml

    out: dict[str, dict[str, Any]] = {"algorithm": {}, "train": {}, "wa": {}}
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"--config {config_file}: no such file")
        data = yaml.safe_load(config_file.read_text()) or {}
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
        if name and section in ("train", "wa"):
            out[section][name] = value
        else:
            out["algorithm"][key] = value
    return out


def _request(args: argparse.Namespace) -> tuple[dict[str, Any], Path, bool]:
    """The run's request (what to assemble and how to train) and its folder."""
    if args.resume is not None:
        if args.algo or args.env or args.sets or args.config or args.out:
            raise ConfigError("--resume continues a run exactly as it was configured; give it "
                              "alone (the settings are read from RUN_DIR/config.json)")
        path = args.resume / "config.json"
        if not path.is_file():
            raise ConfigError(f"--resume {args.resume}: no config.json there; is it a "
                              f"`warl train` run folder?")
        return json.loads(path.read_text())["request"], args.resume, True
    if not args.algo or not args.env:
        raise ConfigError("warl train needs ALGO and --env ENV (or --resume RUN_DIR)")
    if args.out is not None and args.out.exists() and any(args.out.iterdir()):
        raise ConfigError(f"--out {args.out} exists and is not empty; choose a new folder or "
                          f"--resume it")
    settings = split_settings(args.config, args.sets)
    request = {"algo": args.algo, "env": args.env, "gap": args.gap,
               "wa_model": args.wa_model, "settings": settings}
    return request, args.out or run_dir("runs/train", args.algo, args.env), False


def cmd_train(args: argparse.Namespace) -> int:
    import logging
    import os

    # TorchRL announces every storage it allocates at INFO, on stdout (which --json owns). It
    # sets its level from RL_LOGGING_LEVEL when first imported, and may already be imported.
    os.environ.setdefault("RL_LOGGING_LEVEL", "WARNING")
    logging.getLogger("torchrl").setLevel(logging.WARNING)
    for handler in logging.getLogger("torchrl").handlers:
        handler.setLevel(logging.WARNING)
    from warl.core.assemble import assemble
    from warl.core.runs import write_json
    from warl.core.training.card import comparison_rows, results_card
    from warl.core.training.config import make_train_config
    from warl.core.training.loop import BASELINE, train
    from warl.core.training.plots import plot_run

    request, out, resume = _request(args)
    settings = request["settings"]
    train_config = make_train_config(settings["train"])
    registry = default_registry()
    setup = assemble(registry, request["algo"], request["env"],
                     algo_settings=settings["algorithm"],
                     wa_model_id=request["wa_model"], wa_settings=settings["wa"],
                     gap=request["gap"], gap_seed=train_config.seed,
                     render=train_config.videos > 0, show_progress=not args.quiet)
    out.mkdir(parents=True, exist_ok=True)
    algo_config: Any = getattr(setup.algorithm, "config", None)
    resolved = {**setup.config, "train": train_config.to_dict(),
                "algorithm_config": algo_config.to_dict() if hasattr(algo_config, "to_dict")
                else setup.config["algorithm_settings"]}
    if not resume:
        write_json(out / "config.json", {"request": request, "resolved": resolved,
                                         "versions": setup.versions()})
    try:
        result = train(setup, train_config, out, registry, resume=resume,
                       show_progress=not args.quiet)
    finally:
        setup.close()
    plot_run(out)
    methods = [(BASELINE, result.baseline)] if result.baseline is not None else []
    assert result.final is not None
    methods.append((request["algo"], result.final))
    rows = comparison_rows(request["env"], methods)
    c = result.counters
    summary = {"run_dir": str(out), "rows": rows,
               "deployment_gap": setup.config["deployment_gap"], "online_env_steps": c.env_steps,
               "episodes": c.episodes, "updates": c.updates,
               "online_minutes": round(c.online_s / 60, 2),
               "total_minutes": round(c.wall_s / 60, 2), "eval_seed": train_config.eval_seed}
    facts = {
        "deployment gap": json.dumps(setup.config["deployment_gap"]) or "none",
        "online env steps": c.env_steps, "episodes": c.episodes, "updates": c.updates,
        "online training time": f"{c.online_s / 60:.1f} min",
        "total wall time (all stages, this run folder)": f"{c.wall_s / 60:.1f} min",
        "evaluation seeds": f"list {train_config.eval_seed} (the same for both rows)",
    }
    write_json(out / "results.json", {**summary, "config": resolved,
                                      "versions": setup.versions()})
    card = results_card(f"{request['algo']} on {request['env']}", rows, facts)
    (out / "results.md").write_text(card)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(card)
        print(f"run folder: {out}")
    return 0
