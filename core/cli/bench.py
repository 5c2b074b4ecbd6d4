"""``warl bench``: a matrix of training runs under one equal env-step budget, rendered as a
paper-style comparison; ``warl bench report BENCH_DIR`` re-renders one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warl.core.cli.options import parse_sets, run_dir
from warl.core.errors import ConfigError

if TYPE_CHECKING:
    from warl.core.bench.matrix import BenchSpec

DESCRIPTION = """Trains every algorithm of --algos on every env of --envs with --seeds seeds, each
under the same online budget of --budget env steps, evaluates each on the same --trials fixed
seeds, and renders the comparison. WA-base (the frozen WA model alone) is its own row: put
wa-base in --algos. Each cell is a `warl train` run folder, BENCH_DIR/cells/<algo>/<env with /
as __>/seed<k>/. Then BENCH_DIR gets:
  results.md          SR and EL per method and task, and their average over tasks, with the
                      change against WA-base (best bold, second underlined); IQM SR with 95%
                      stratified-bootstrap intervals; budgets and wall time per algorithm
  figures/            curves_<task>.png (evaluation SR vs env steps, mean and min-max over
                      seeds), interventions_<task>.png, iqm.png
  bench_results.json  every number (per cell, per method and task, averages, IQM, missing)
  bench.json          the spec; errors.json the cells that failed (the others still run)
Running the same command with --out BENCH_DIR again continues the bench: finished cells are
skipped, interrupted ones resumed, failed ones retried. `warl bench report BENCH_DIR`
re-renders the results from the cells without training anything."""

EXAMPLES = """spec (flags, or the same keys in --config FILE; a flag overrides the file):
  algos, envs    ids (a YAML list, or a,b,c)
  seeds          training seeds 0..N-1 per algorithm and env [1]
  budget         online env steps of every cell [30000]
  minutes        wall-clock limit of every cell's online stage, 0 = none [0]
  trials         final-evaluation trials, the same seeds for every method [50]
  recipe         the protocol under every cell's settings: gap [default], sim, or a file
  gap, wa_model  the deployment gap [the recipe's] and the WA model [warl/wa-small]
  algorithm      {ALGO: {KEY: VALUE}}: an algorithm's own settings
  train, wa      {KEY: VALUE}: loop and WA-model settings shared by every cell

settings (--set KEY=VALUE, repeatable):
  ALGO.KEY       that algorithm's setting, e.g. halo-wa.preset=paper
  train.KEY      a loop setting of every cell, e.g. train.demos=20 (env_steps, minutes, seed,
                 final_trials and baseline are the bench's own: --budget, --minutes, ...)
  wa.KEY         a WA-model setting, e.g. wa.obs_mode=state

config file (YAML), e.g. benchmarks/configs/precision.yaml:
  algos: [wa-base, halo-wa]
  envs: [metaworld/peg-insert-side, metaworld/hammer]
  seeds: 3
  budget: 30000
  algorithm: {halo-wa: {preset: paper}}

examples:
  warl bench --config benchmarks/configs/precision.yaml --out runs/bench/precision
  warl bench --config benchmarks/configs/precision.yaml --out runs/bench/precision  # continue
  warl bench --algos wa-base,halo-wa --envs metaworld/hammer --seeds 3 --budget 20000
  warl bench report runs/bench/precision
"""

REPORT_DESCRIPTION = """Re-renders results.md, figures/ and bench_results.json of BENCH_DIR from its
finished cells, without training anything: after a partial run, or to see the cells finished so
far while the bench still runs."""

RUN_OPTIONS = {"algos": "--algos", "envs": "--envs", "seeds": "--seeds", "budget": "--budget",
               "minutes": "--minutes", "trials": "--trials", "config": "--config",
               "sets": "--set", "gap": "--gap", "wa_model": "--wa-model", "out": "--out",
               "recipe": "--recipe"}


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "bench", help="train a matrix of algorithms x envs x seeds on one budget, one table",
        description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", help="algorithm ids, e.g. wa-base,halo-wa")
    p.add_argument("--envs", help="env ids, e.g. metaworld/hammer,metaworld/assembly")
    p.add_argument("--seeds", type=int, metavar="N", help="seeds per algorithm and env [1]")
    p.add_argument("--budget", type=int, metavar="ENV_STEPS",
                   help="online env steps of every cell [30000]")
    p.add_argument("--minutes", type=float, metavar="M",
                   help="wall-clock limit of every cell's online stage, 0 = none [0]")
    p.add_argument("--trials", type=int, metavar="N", help="final-evaluation trials [50]")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML file with the spec keys")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="ALGO.KEY, train.KEY or wa.KEY setting (repeatable; see below)")
    p.add_argument("--recipe", metavar="NAME",
                   help="the protocol under every cell: gap [default], sim, or a recipe file "
                   "(docs/recipes.md)")
    p.add_argument("--gap", help="deployment gap: default (the env's), none, YAML/JSON, or a "
                   "file [the recipe's, else default]")
    p.add_argument("--wa-model", help="world-action model id [warl/wa-small]")
    p.add_argument("--out", type=Path, metavar="BENCH_DIR",
                   help="bench folder; an existing one of the same spec is continued "
                   "(default runs/bench/<config name or bench>__<time>)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (the one line per cell stays, on stderr)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: the cells one after the other; ray: as Ray tasks over the "
                   "cluster RAY_ADDRESS names, or a local one on this machine's cores "
                   "(pip install 'warl[ray]') [local]")
    _report_options(p)
    p.set_defaults(handler=cmd_bench, json=False, bootstrap_reps=None)
    sub = p.add_subparsers(dest="bench_command", metavar="{report}")
    r = sub.add_parser("report", help="re-render BENCH_DIR's results from its cells",
                       description=REPORT_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("bench_dir", type=Path, metavar="BENCH_DIR", help="a `warl bench` folder")
    _report_options(r)
    r.set_defaults(handler=cmd_report)


def _report_options(p: argparse.ArgumentParser) -> None:
    """Options of both forms (`warl bench --json report DIR` and `warl bench report DIR
    --json`); no defaults here, so that `report`'s copy never resets the bench's: they are
    set once on the bench parser."""
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="print bench_results.json to stdout instead of results.md")
    p.add_argument("--bootstrap-reps", type=int, metavar="N", default=argparse.SUPPRESS,
                   help="bootstrap replications of the IQM intervals [10000]")


def bench_spec(args: argparse.Namespace) -> BenchSpec:
    """The spec from --config, then the flags, then --set."""
    from warl.core.bench.matrix import apply_sets, make_spec, read_config

    data = read_config(args.config) if args.config is not None else {}
    flags = {"algos": args.algos, "envs": args.envs, "seeds": args.seeds,
             "budget": args.budget, "minutes": args.minutes, "trials": args.trials,
             "gap": args.gap, "wa_model": args.wa_model, "recipe": args.recipe}
    data.update({k: v for k, v in flags.items() if v is not None})
    return make_spec(apply_sets(data, parse_sets(args.sets), "warl bench"), "warl bench")


def _reps(args: argparse.Namespace) -> int | None:
    """--bootstrap-reps, checked; None for the default."""
    if args.bootstrap_reps is not None and args.bootstrap_reps < 100:
        raise ConfigError(f"--bootstrap-reps must be >= 100, got {args.bootstrap_reps}")
    return args.bootstrap_reps


def _show(args: argparse.Namespace, root: Path, data: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print((root / data["results"]).read_text())
        print(f"bench folder: {root}")


def cmd_bench(args: argparse.Namespace) -> int:
    from warl.core.bench.aggregate import require_rliable
    from warl.core.bench.matrix import check_ids, write_spec
    from warl.core.bench.report import render
    from warl.core.bench.runner import ERRORS_FILE, run_cells
    from warl.core.registry import default_registry

    spec, reps = bench_spec(args), _reps(args)
    registry = default_registry()
    check_ids(spec, registry)
    require_rliable()  # before hours of training, not after
    root = args.out or run_dir("runs/bench", args.config.stem if args.config else "bench")
    write_spec(root, spec)
    if args.backend == "ray":
        from warl.core.training.ray_backend import require_ray

        require_ray()  # a missing Ray fails now, with the fix, not after the spec is written
    failed = run_cells(spec, root, show_progress=not args.quiet, registry=registry,
                       backend=args.backend)
    _show(args, root, render(root, reps))
    if failed:
        print(f"warl: {len(failed)} cell(s) failed (see {root / ERRORS_FILE}); the report marks "
              f"them missing. Run the same command again to retry them.", file=sys.stderr)
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from warl.core.bench.report import render

    given = [flag for name, flag in RUN_OPTIONS.items() if getattr(args, name) is not None]
    if given:
        raise ConfigError(f"warl bench report re-renders an existing bench from its cells; it "
                          f"takes no run options (got {', '.join(given)})")
    if not args.bench_dir.is_dir():
        raise ConfigError(f"{args.bench_dir}: no such folder")
    _show(args, args.bench_dir, render(args.bench_dir, _reps(args)))
    return 0
