"""``warl new-plugin NAME --kind K``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from warl.core.spec import KINDS


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "new-plugin",
        help="scaffold a pip-installable plugin package",
        description="Writes NAME/ with pyproject.toml (entry point in group warl.plugins), a "
        "registration module with one hookimpl, an implementation and a test.",
    )
    p.add_argument("name", help="plugin name, e.g. my-envs (also the id namespace)")
    p.add_argument("--kind", required=True, choices=KINDS, help="what the plugin provides")
    p.add_argument("--dir", type=Path, default=Path("."), help="parent directory (default .)")
    p.set_defaults(handler=cmd_new_plugin)


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from warl.core.scaffold import scaffold_plugin

    root = scaffold_plugin(args.name, args.kind, args.dir)
    impl = {"env": "reach", "algorithm": "rwr", "world_model": "zero", "reward": "near"}
    plugin_id = f"{args.name}/{impl[args.kind]}"
    steps = [f"pip install -e {root}", "warl list", f"pytest {root}"]
    if args.kind in ("env", "algorithm", "world_model"):
        steps.append(f"warl check {plugin_id}")
    if args.kind == "algorithm":
        steps.append(f"warl train {plugin_id} --env metaworld/reach --set train.env_steps=2000")
    if args.kind == "env":
        steps.append(f"warl train sb3/sac --env {plugin_id} --set train.env_steps=2000")
    print(f"created {root}\nnext:\n" + "\n".join(f"  {step}" for step in steps))
    print("docs/plugins.md explains the contract of each kind.")
    return 0
