"""``warl demos collect|info``: scripted-expert demonstrations in HDF5."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError
from warl.core.registry import default_registry


def add_commands(commands: Any) -> None:
    demos = commands.add_parser("demos", help="collect or inspect demonstrations (HDF5)")
    sub = demos.add_subparsers(dest="demos_command", metavar="ACTION")
    p = sub.add_parser(
        "collect",
        help="record scripted-expert episodes",
        description="Runs the env's scripted expert and writes a robomimic/LIBERO-style HDF5 "
        "file (layout: docs/demos.md). Seeds are seed, seed+1, ...",
    )
    p.add_argument("env", help="env id, e.g. metaworld/peg-insert-side")
    p.add_argument("--episodes", type=int, default=10, help="number of episodes (default 10)")
    p.add_argument("--render", action="store_true", help="record camera images too")
    p.add_argument("--cameras", default="corner",
                   help="comma-separated cameras recorded with --render (default corner)")
    p.add_argument("--image-size", type=int, default=64, help="image height/width (default 64)")
    p.add_argument("--seed", type=int, default=0, help="first episode seed (default 0)")
    p.add_argument("--out", type=Path, help="output file (default demos/<env>.h5)")
    p.set_defaults(handler=cmd_collect)
    p = sub.add_parser("info", help="summarize a demo file")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_info)
    demos.set_defaults(handler=lambda args: demos.print_help() or 2)


def cmd_collect(args: argparse.Namespace) -> int:
    from warl.core.demos import collect_demos
    from warl.core.progress import progress_bar

    if args.episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {args.episodes}")
    registry = default_registry()
    spec = registry.get(args.env, kind="env")
    overrides: dict[str, Any] = {}
    if args.render:
        overrides = {"cameras": args.cameras.split(","), "image_size": args.image_size}
    env = registry.make(spec.id, kind="env", **overrides)
    out = args.out or Path("demos") / f"{spec.id.replace('/', '_')}.h5"
    try:
        with progress_bar(f"demos {spec.id}", args.episodes) as advance:
            writer = collect_demos(env, spec.id, {**spec.defaults, **overrides}, out,
                                   args.episodes, args.seed, advance)
    finally:
        env.close()
    print(f"wrote {writer.count} episode(s), {len(writer.successful)} successful, to {out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from warl.core.demos import demo_info

    if not args.file.exists():
        raise ConfigError(f"{args.file} does not exist")
    info = demo_info(args.file)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if key == "success_rate":
            value = f"{value:.1%}"
        print(f"{key:>14}: {value}")
    return 0
