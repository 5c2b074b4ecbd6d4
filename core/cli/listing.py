"""``warl list``, ``warl info`` and ``warl plugins``: read specs, import no plugin target."""

from __future__ import annotations

import argparse
import json
from typing import Any

from warl.core.make import missing_requirement
from warl.core.registry import Registry, default_registry
from warl.core.spec import KINDS, PluginSpec


def add_commands(commands: Any) -> None:
    p = commands.add_parser("list", help="list registered plugins (imports none of them)")
    p.add_argument("--kind", choices=KINDS, help="only plugins of this kind")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser("info", help="show one plugin's spec, extras and defaults")
    p.add_argument("id", help="plugin id, e.g. metaworld/peg-insert-side")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_info)

    p = commands.add_parser("plugins", help="show loaded plugins, versions and load failures")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_plugins)


def _availability(spec: PluginSpec) -> tuple[bool, str]:
    missing = missing_requirement(spec)
    return (True, "") if missing is None else (False, f"missing {missing}: {spec.install_hint}")


def _failure_note(registry: Registry) -> str:
    n = len(registry.failures)
    return f"\n{n} plugin failure(s); run `warl plugins` for details." if n else ""


def cmd_list(args: argparse.Namespace) -> int:
    registry = default_registry()
    specs = registry.specs(args.kind)
    if args.json:
        rows = []
        for spec in specs:
            available, note = _availability(spec)
            rows.append({**spec.to_dict(), "available": available, "note": note})
        print(json.dumps(rows, indent=2))
        return 0
    width = max((len(s.id) for s in specs), default=2)
    for spec in specs:
        available, note = _availability(spec)
        mark = " " if available else "!"
        print(f"{mark} {spec.id:<{width}}  {spec.kind:<11}  {spec.summary}")
        if note:
            print(f"  {'':<{width}}  {'':<11}  ({note})")
    print(f"{len(specs)} plugin(s)." + _failure_note(registry))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    registry = default_registry()
    spec = registry.get(args.id)
    available, note = _availability(spec)
    if args.json:
        print(json.dumps({**spec.to_dict(), "available": available, "note": note}, indent=2))
        return 0
    fields = [
        ("id", spec.id), ("kind", spec.kind), ("summary", spec.summary),
        ("target", spec.target), ("provider", f"{spec.provider} {spec.provider_version}"),
        ("requires", ", ".join(spec.requires) or "-"), ("extra", spec.extra or "-"),
        ("available", "yes" if available else f"no ({note})"),
        ("tags", ", ".join(spec.tags) or "-"),
        ("defaults", json.dumps(spec.defaults)),
    ]
    if spec.camera:
        fields.append(("camera", f"{spec.camera}  (what models read and videos show by default)"))
    if spec.deployment_gap:
        fields.append(("gap", json.dumps(spec.deployment_gap) + "  (warl eval/train default)"))
    if spec.check_kwargs:
        fields.append(("check", json.dumps(spec.check_kwargs) + "  (what warl check builds)"))
    settings = _default_settings(spec) if available and spec.kind == "algorithm" else None
    if settings:
        fields.append(("settings", "every setting at its default (--set KEY=VALUE):"))
    for name, value in fields:
        print(f"{name:>10}: {value}")
    for key, value in (settings or {}).items():
        print(f"{'':>12}{key} = {json.dumps(value)}")
    if spec.kind == "env":
        print(f"{'gymnasium':>10}: gymnasium.make('warl.gym:{spec.id}')")
    return 0


def _default_settings(spec: Any) -> dict[str, Any] | None:
    """An algorithm's ``default_config()``, when its class offers one."""
    from warl.core.make import resolve_target

    target = resolve_target(spec)
    default_config = getattr(target, "default_config", None)
    return dict(default_config()) if callable(default_config) else None


def cmd_plugins(args: argparse.Namespace) -> int:
    registry = default_registry()
    counts: dict[str, int] = {}
    for spec in registry.specs():
        counts[spec.provider] = counts.get(spec.provider, 0) + 1
    plugins = [{**p.to_dict(), "specs": counts.get(p.dist, 0)} for p in registry.plugins]
    failures = [f.to_dict() for f in registry.failures]
    if args.json:
        print(json.dumps({"plugins": plugins, "failures": failures}, indent=2))
        return 0
    for p in plugins:
        print(f"{p['name']:<20} {p['dist']} {p['version']:<10} {p['specs']:>4} spec(s)  "
              f"[{p['module']}]")
    if not plugins:
        print("no plugins loaded")
    for f in failures:
        print(f"\nFAILED {f['plugin']} ({f['stage']}): {f['message']}")
        if f["traceback"]:
            print("  " + f["traceback"].strip().replace("\n", "\n  "))
    return 1 if failures and not plugins else 0
