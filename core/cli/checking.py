"""``warl check ID|--all``: the conformance suite."""

from __future__ import annotations

import argparse
import json
from typing import Any

from warl.core.cli.options import parse_sets
from warl.core.errors import ConfigError
from warl.core.make import missing_requirement
from warl.core.registry import default_registry


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "check",
        help="run the conformance suite on a plugin",
        description="Every kind: JSON defaults, light registration module, import without "
        "prompts. Envs: make, contract spaces, gymnasium's check_env, success/instruction info, "
        "seeding determinism, chunk semantics, and what warl train asks (render_mode for "
        "videos, the default deployment gap, the scripted expert if any). Algorithms (on a "
        "small env with an untrained WA model): the settings checker, the contract (or how to "
        "port a warl 0.1 plugin), chunk shapes from act and the rollout policy, a short "
        "train(session) that changes parameters, and a bit-identical next update after a "
        "state-dict round trip. World models (built from the spec's check_kwargs): "
        "WorldActionModel shapes, seeded sampling, batch independence, frozen weights, "
        "state-dict round trip, refusal of malformed batches, WorldModel methods.",
    )
    p.add_argument("id", nargs="?", help="plugin id")
    p.add_argument("--all", action="store_true",
                   help="check every registered env, algorithm, world model and reward")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a setting of the checked env or reward, e.g. url=ws://host:8765 for a "
                   "remote env, weights=PATH for a feature reward (repeatable)")
    p.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from warl.core.check import check_plugin

    registry = default_registry()
    if bool(args.id) == bool(args.all):
        raise ConfigError("give either an id or --all (e.g. `warl check metaworld/reach`)")
    settings = parse_sets(args.set)
    if settings and (args.all or registry.get(args.id).kind not in ("env", "reward")):
        raise ConfigError("--set gives env or reward settings: use it with one such id, e.g. "
                          "`warl check remote/local --set url=ws://127.0.0.1:9000`")
    ids = [*registry.ids("env"), *registry.ids("algorithm"), *registry.ids("world_model"),
           *registry.ids("reward")] if args.all else [args.id]
    reports = []
    for plugin_id in ids:
        spec = registry.get(plugin_id)
        missing = missing_requirement(spec)
        unreachable = _no_server(spec) if args.all and "remote" in spec.tags else None
        if args.all and missing:
            report = _skipped(plugin_id, f"{missing} not installed: {spec.install_hint}")
        elif unreachable:
            report = _skipped(plugin_id, unreachable, "server")
        else:
            report = check_plugin(plugin_id, registry, settings)
        reports.append(report)
        if not args.json:
            status = "ok" if report.ok else "FAILED"
            print(f"{plugin_id}: {status}")
            for result in report.results:
                if result.status != "pass" or not args.all:
                    print(f"  {result.status:<4} {result.name}: {result.message}")
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    return 0 if all(r.ok for r in reports) else 1


def _skipped(plugin_id: str, why: str, what: str = "extras") -> Any:
    from warl.core.check import CheckReport, CheckResult

    return CheckReport(plugin_id, [CheckResult(what, "skip", why)])


def _no_server(spec: Any) -> str | None:
    """Why a remote env cannot be checked now (nothing listens at its url), or None."""
    import socket
    from urllib.parse import urlparse

    url = str(spec.defaults.get("url", ""))
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80),
                                      timeout=1.0):
            return None
    except OSError:
        return (f"no server at {url}: start one with `warl serve ENV --token-file T`, then "
                f"`warl check {spec.id}`")
