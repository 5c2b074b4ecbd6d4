"""``warl eval ALGO --env ENV``: the evaluation protocol, into a run folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from warl.core.cli.options import parse_sets, run_dir
from warl.core.registry import default_registry

DESCRIPTION = """Evaluates an algorithm on an env under the evaluation protocol: N trials on a
fixed seed list (trial i of --seed S uses env seed 1000000 + 10000*S + i, never a
demonstration seed), with the env's default deployment gap (see `warl info ENV`). Prints the
success rate (with its 95% Wilson interval) and the mean episode length, and writes
config.json, results.json and videos of the first trials into a run folder."""

EXAMPLES = """examples:
  warl eval wa-base --env metaworld/peg-insert-side
  warl eval --run runs/train/halo-wa__metaworld_hammer__20260101-120000 --trials 100
  warl eval --run runs/train/pld__metaworld_hammer__20260101-120000 --variant distilled
  warl eval wa-base --env metaworld/reach --trials 20 --gap none --wa-set obs_mode=state
  warl eval wa-base --env metaworld/hammer --gap '{calibration: {bias: [0.1, 0, 0]}}'
"""


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "eval", help="evaluate an algorithm on an env (success rate, episode length, videos)",
        description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("algo", nargs="?", help="algorithm id, e.g. wa-base (omit with --run)")
    p.add_argument("--env", help="env id, e.g. metaworld/peg-insert-side (with --run: only the "
                   "source env of a run trained in world-model/imagined, to evaluate it in the "
                   "real simulator)")
    p.add_argument("--run", type=Path, metavar="RUN_DIR",
                   help="evaluate the policy trained in a `warl train` run folder (its last "
                   "checkpoint, on its algorithm, env and WA model)")
    p.add_argument("--variant", help="with --run: a variant the algorithm reports besides its "
                   "own policy, e.g. distilled for pld")
    p.add_argument("--trials", type=int, default=100, help="number of trials (default 100)")
    p.add_argument("--seed", type=int, default=0, help="evaluation seed list index (default 0)")
    p.add_argument("--recipe", metavar="NAME",
                   help="the experimental protocol whose WA model and gap to evaluate under: "
                   "gap (default), sim, or a recipe file (docs/recipes.md)")
    p.add_argument("--gap", help="deployment gap: default (the env's), none, a YAML/JSON "
                   "mapping, or a file holding one [the recipe's, else default]")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="an algorithm setting (repeatable)")
    p.add_argument("--wa-model", help="world-action model id [the algorithm's default, else "
                   "warl/wa-small]")
    p.add_argument("--wa-set", dest="wa_sets", action="append", metavar="KEY=VALUE",
                   help="a world-action model setting, e.g. obs_mode=state (repeatable)")
    p.add_argument("--env-set", dest="env_sets", action="append", metavar="KEY=VALUE",
                   help="an env setting, e.g. url=ws://host:8765 for a remote env (repeatable)")
    p.add_argument("--videos", type=int, default=3,
                   help="save videos of the first N trials (default 3)")
    p.add_argument("--out", type=Path, help="run folder (default runs/eval/<algo>__<env>__<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print results.json's summary as JSON")
    p.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from warl.core.errors import ConfigError
    from warl.core.evaluate import eval_seeds, evaluate
    from warl.core.progress import progress_bar
    from warl.core.runs import write_json

    if args.trials < 1:
        raise ConfigError(f"--trials must be >= 1, got {args.trials}")
    if args.out is not None and args.out.exists() and any(args.out.iterdir()):
        raise ConfigError(f"--out {args.out} exists and is not empty; choose a new folder")
    from warl.core.assemble import assemble, wa_model_for

    registry = default_registry()
    if args.run is not None:
        setup, act, name = _trained(args, registry)
    elif args.variant is not None:
        raise ConfigError("--variant names a policy of a trained run: give --run RUN_DIR")
    else:
        if not args.algo or not args.env:
            raise ConfigError("warl eval needs ALGO and --env ENV, or --run RUN_DIR")
        from warl.core.recipes import with_recipe

        settings, gap = with_recipe(
            args.recipe, registry, args.algo, args.env,
            {"algorithm": parse_sets(args.sets), "wa": parse_sets(args.wa_sets, "--wa-set"),
             "env": parse_sets(args.env_sets, "--env-set")},
            args.gap)
        setup = assemble(
            registry, args.algo, args.env, algo_settings=settings["algorithm"],
            wa_model_id=wa_model_for(registry, args.algo, args.wa_model),
            wa_settings=settings["wa"], gap=gap,
            env_settings=settings.get("env"),
            gap_seed=args.seed, render=args.videos > 0, show_progress=not args.quiet,
        )
        act, name = setup.algorithm.act, args.algo
    args.algo, args.env = name, setup.config["env"]
    out = args.out or run_dir("runs/eval", args.algo, args.env)
    out.mkdir(parents=True, exist_ok=True)
    seeds = eval_seeds(args.seed, args.trials)
    config = {**setup.config, "trials": args.trials, "seed": args.seed, "seeds": seeds,
              **({"recipe": args.recipe} if args.recipe else {})}
    write_json(out / "config.json", {"config": config, "versions": setup.versions()})
    try:
        with progress_bar(f"eval {args.algo} on {args.env}", args.trials,
                          not args.quiet) as advance:
            result = evaluate(setup.env, act, setup.wa_model, seeds,
                              video_dir=out / "videos", videos=args.videos, advance=advance)
    finally:
        setup.close()
    summary = {"algorithm": args.algo, "env": args.env, **result.summary()}
    write_json(out / "results.json", {**summary, "config": config,
                                      "versions": setup.versions(),
                                      "per_trial": result.to_dict()["per_trial"]})
    (out / "results.md").write_text(results_card(summary, config))
    if args.json:
        print(json.dumps({**summary, "run_dir": str(out)}, indent=2))
        return 0
    low, high = summary["success_rate_ci95"]
    print(f"{args.algo} on {args.env}: success {summary['success_rate']:.1%} "
          f"(95% CI {low:.1%}-{high:.1%}), mean episode length "
          f"{summary['mean_episode_length']:.1f}, {args.trials} trials, "
          f"{summary['wall_time_s']:.0f} s")
    print(f"run folder: {out}")
    return 0


def _trained(args: argparse.Namespace, registry: Any) -> tuple[Any, Any, str]:
    """The run folder's algorithm with its last checkpoint loaded, and what to evaluate."""
    from warl.core.errors import ConfigError
    from warl.core.training.checkpoint import checkpoint_dir, load_trained
    from warl.core.training.run import assemble_request, read_request

    if args.algo or args.sets or args.wa_sets or getattr(args, "env_sets", None) or \
            getattr(args, "recipe", None):
        raise ConfigError("--run evaluates a run folder as it was trained; give no ALGO, "
                          "--set, --wa-set or --recipe with it")
    request = read_request(args.run)
    if args.env:
        request = _in_source_env(request, args.env, registry)
    checkpoint = checkpoint_dir(args.run)
    if checkpoint is None:
        raise ConfigError(f"--run {args.run}: no checkpoint/ there to load a policy from")
    setup = assemble_request(request, registry, render=args.videos > 0,
                             show_progress=not args.quiet,
                             gap=None if args.gap in (None, "default") else args.gap)
    algorithm = setup.algorithm
    # The trained weights, and the WA model's when the algorithm fine-tuned it: those are
    # evaluated, not the cached frozen model.
    load_trained(checkpoint, algorithm, request["algo"], setup.wa_model)
    if args.variant is None:
        return setup, _selected_act(args.run, request, algorithm, setup.wa_model), \
            request["algo"]
    variants = algorithm.variants() if hasattr(algorithm, "variants") else {}
    if args.variant not in variants:
        raise ConfigError(f"--variant {args.variant!r}: {request['algo']!r} reports "
                          f"{sorted(variants) or 'no variants'}")
    return setup, variants[args.variant], f"{request['algo']}-{args.variant}"


def _in_source_env(request: dict[str, Any], env_id: str, registry: Any) -> dict[str, Any]:
    """The request of a run trained in imagination, moved to the real env it imagined
    (``--env`` with ``--run`` means exactly that, and nothing else)."""
    from warl.core.errors import ConfigError

    source = dict(request["settings"].get("env", {})).get("source")
    imagined = "imagined" in registry.get(request["env"], kind="env").tags
    if not imagined or source != env_id:
        raise ConfigError(f"--env {env_id} with --run: only a run trained in imagination is "
                          f"evaluated elsewhere, in its source env"
                          + (f" ({source})" if imagined and source else "")
                          + "; omit --env to evaluate the run where it was trained")
    return {**request, "env": env_id, "settings": {**request["settings"], "env": {}}}


def _selected_act(run: Path, request: dict[str, Any], algorithm: Any, wa_model: Any) -> Any:
    """The policy the run's final evaluation ran: its best weights under
    ``train.select=best`` (with the WA model's, loaded into ``wa_model``, when the algorithm
    fine-tuned it), else the last checkpoint's."""
    from warl.core.training.config import make_train_config
    from warl.core.training.selection import best_state, load_selected

    best = best_state(run, make_train_config(request["settings"]["train"]).select)
    if best is None:
        return algorithm.act
    policy = algorithm.make_policy()
    load_selected(best, policy, wa_model)
    return policy.act


def results_card(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """A one-row table in the papers' format, with what produced it."""
    low, high = summary["success_rate_ci95"]
    gap = json.dumps(config["deployment_gap"]) if config["deployment_gap"] else "none"
    return (
        f"# {summary['algorithm']} on {summary['env']}\n\n"
        f"| method | env | SR | 95% CI | EL | trials |\n|---|---|---|---|---|---|\n"
        f"| {summary['algorithm']} | {summary['env']} | {summary['success_rate']:.1%} | "
        f"{low:.1%}-{high:.1%} | {summary['mean_episode_length']:.1f} | {summary['trials']} |\n\n"
        f"Deployment gap: `{gap}`. Seed list {config['seed']} (env seeds {config['seeds'][0]}..."
        f"{config['seeds'][-1]}). Wall time {summary['wall_time_s']:.0f} s.\n"
    )
