"""The registry: every spec from every loaded plugin, looked up by id.

Build one with `create_registry()` (tests build their own); `default_registry()` is the one
the CLI and ``warl.make`` share.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from warl.core.errors import DuplicateIdError, KindMismatchError, SpecError, UnknownIdError
from warl.core.hookspecs import HOOK_KINDS
from warl.core.plugins import PluginFailure, PluginInfo, PluginManager
from warl.core.spec import KINDS, PluginSpec


class Registry:
    """Specs by id, collected from a `PluginManager`'s hooks on first use."""

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self._specs: dict[str, PluginSpec] | None = None
        self._duplicates: dict[str, DuplicateIdError] = {}
        self._plugin_of: dict[str, str] = {}  # id -> the entry-point name that registered it

    # -- collection -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget collected specs; the next lookup calls the hooks again."""
        self._specs = None
        self._duplicates = {}

    def _collected(self) -> dict[str, PluginSpec]:
        if self._specs is None:
            self._specs = {}
            for hook_name, kind in HOOK_KINDS.items():
                for plugin_name, function in self.manager.hookimpls(hook_name):
                    self._add_results(plugin_name, hook_name, kind, function)
        return self._specs

    def _add_results(self, plugin: str, hook_name: str, kind: str, function: Any) -> None:
        assert self._specs is not None
        try:
            results = function()
            items = [] if results is None else list(results)
        except Exception as exc:
            self.manager.fail(
                plugin, "hook", f"{hook_name}() raised {type(exc).__name__}: {exc}",
                traceback.format_exc(),
            )
            return
        info = self.manager.infos.get(plugin)
        dist, version = (info.dist, info.version) if info else (plugin, "")
        for item in items:
            try:
                spec = item if isinstance(item, PluginSpec) else PluginSpec.from_dict(item)
                if spec.kind != kind:
                    raise SpecError(f"{spec.id!r} has kind {spec.kind!r} but {hook_name} "
                                    f"returns {kind!r} specs")
            except (SpecError, TypeError) as exc:
                self.manager.fail(plugin, "spec", f"{hook_name}() returned a bad spec: {exc}")
                continue
            spec = spec.with_provider(dist, version)
            first = self._specs.get(spec.id)
            if first is None and spec.id not in self._duplicates:
                self._specs[spec.id] = spec
                self._plugin_of[spec.id] = plugin
                continue
            earlier = self._duplicates.get(spec.id)
            first_provider = first.provider if first else earlier.providers[0]  # type: ignore
            first_plugin = self._plugin_of.get(spec.id, first_provider)
            error = DuplicateIdError(spec.id, first_provider, spec.provider,
                                     (first_plugin, plugin))
            self._specs.pop(spec.id, None)
            self._duplicates[spec.id] = error
            self.manager.fail(plugin, "duplicate", str(error))

    # -- lookup -----------------------------------------------------------------------------
    def specs(self, kind: str | None = None) -> list[PluginSpec]:
        if kind is not None and kind not in KINDS:
            raise SpecError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
        specs = self._collected().values()
        return sorted((s for s in specs if kind is None or s.kind == kind), key=lambda s: s.id)

    def ids(self, kind: str | None = None) -> list[str]:
        return [s.id for s in self.specs(kind)]

    def __contains__(self, plugin_id: object) -> bool:
        return plugin_id in self._collected()

    def get(self, plugin_id: str, kind: str | None = None) -> PluginSpec:
        specs = self._collected()
        if plugin_id in self._duplicates:
            raise self._duplicates[plugin_id]
        spec = specs.get(plugin_id)
        if spec is None:
            known = [s.id for s in specs.values() if kind is None or s.kind == kind]
            raise UnknownIdError(plugin_id, known, kind)
        if kind is not None and spec.kind != kind:
            raise KindMismatchError(plugin_id, kind, spec.kind)
        return spec

    def make(self, plugin_id: str, *args: Any, kind: str | None = None, **overrides: Any) -> Any:
        """Import the target of ``plugin_id`` and call it with its defaults and ``overrides``."""
        from warl.core.make import instantiate

        return instantiate(self.get(plugin_id, kind), *args, **overrides)

    # -- reporting --------------------------------------------------------------------------
    @property
    def failures(self) -> list[PluginFailure]:
        self._collected()  # hook and spec failures appear on collection
        return list(self.manager.failures)

    @property
    def plugins(self) -> list[PluginInfo]:
        return sorted(self.manager.infos.values(), key=lambda p: p.name)


def _env_list(environ: Mapping[str, str], name: str) -> list[str] | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def create_registry(
    *,
    entry_points: bool = True,
    plugins: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    environ: Mapping[str, str] | None = None,
    strict: bool | None = None,
) -> Registry:
    """Build a fresh registry.

    Args:
        entry_points: load the ``warl.plugins`` entry-point group (built-ins included).
        plugins: extra ``name -> plugin`` objects to register (tests use this).
        environ: where to read ``WARL_PLUGINS``, ``WARL_DISABLE_PLUGINS`` and ``WARL_STRICT``
            (default: ``os.environ``).
        strict: overrides ``WARL_STRICT``.
    """
    environ = os.environ if environ is None else environ
    if strict is None:
        strict = environ.get("WARL_STRICT", "").strip().lower() in {"1", "true", "yes", "on"}
    manager = PluginManager(
        strict=strict,
        allow=_env_list(environ, "WARL_PLUGINS"),
        block=_env_list(environ, "WARL_DISABLE_PLUGINS") or (),
    )
    if entry_points:
        manager.load_entrypoints()
    items = plugins.items() if isinstance(plugins, Mapping) else plugins
    for name, plugin in items:
        manager.register(plugin, name)
    return Registry(manager)


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry used by the CLI and ``warl.make`` (built on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = create_registry()
    return _DEFAULT


def reset_default_registry() -> None:
    """Drop the process-wide registry, e.g. after installing a plugin at run time."""
    global _DEFAULT
    _DEFAULT = None
