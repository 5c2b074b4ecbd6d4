"""The plugin manager: pluggy plus per-plugin failure isolation and allow/block lists.

A plugin that raises on import, declares a malformed hookimpl, or (see `warl.core.registry`)
returns a bad spec is recorded as a `PluginFailure` with its name and traceback; every other
plugin keeps working. With ``strict=True`` (``WARL_STRICT=1``) the first failure raises.
"""

from __future__ import annotations

import difflib
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy

from warl.core import hookspecs
from warl.core.errors import PluginLoadError

ENTRY_POINT_GROUP = "warl.plugins"


@dataclass(frozen=True)
class PluginFailure:
    """Why a plugin (or part of it) did not load. ``stage``: import|register|hook|spec|duplicate."""

    plugin: str
    stage: str
    message: str
    traceback: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "plugin": self.plugin,
            "stage": self.stage,
            "message": self.message,
            "traceback": self.traceback,
        }


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name (the entry-point name) and the distribution that ships it."""

    name: str
    dist: str
    version: str
    source: str
    module: str

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "dist": self.dist,
            "version": self.version,
            "source": self.source,
            "module": self.module,
        }


class PluginManager:
    """Loads plugins into a private pluggy manager. Build one per registry; no global state."""

    def __init__(
        self,
        *,
        strict: bool = False,
        allow: Iterable[str] | None = None,
        block: Iterable[str] = (),
    ) -> None:
        self.strict = strict
        self.allow = None if allow is None else frozenset(allow)
        self.block = frozenset(block)
        self.failures: list[PluginFailure] = []
        self.infos: dict[str, PluginInfo] = {}
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)

    @property
    def hook(self) -> Any:
        return self._pm.hook

    def is_allowed(self, name: str) -> bool:
        """Allow/block lists are applied to plugin names before anything is imported."""
        if name in self.block:
            return False
        return self.allow is None or name in self.allow

    def fail(self, plugin: str, stage: str, message: str, tb: str = "") -> None:
        failure = PluginFailure(plugin, stage, message, tb)
        self.failures.append(failure)
        if self.strict:
            detail = f"\n{tb}" if tb else ""
            raise PluginLoadError(
                f"plugin {plugin!r} failed at {stage}: {message} (WARL_STRICT=1 makes plugin "
                f"failures fatal; unset it to skip broken plugins){detail}"
            )

    def register(
        self, plugin: object, name: str, *, dist: str = "", version: str = "", source: str = "code"
    ) -> bool:
        """Register ``plugin`` (a module or object with hookimpls); False if skipped or broken."""
        if not self.is_allowed(name):
            return False
        if name in self.infos:
            other = self.infos[name]
            self.fail(
                name,
                "register",
                f"a plugin named {name!r} is already registered (from {other.dist or other.source})"
                f"; plugin names must be unique.",
            )
            return False
        try:
            self._pm.register(plugin, name)
        except Exception as exc:
            self.fail(name, "register", f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return False
        unknown = [c.name for c in self._pm.get_hookcallers(plugin) or () if c.spec is None]
        if unknown:
            self._pm.unregister(plugin)
            hints = []
            for hook_name in unknown:
                close = difflib.get_close_matches(hook_name, list(hookspecs.HOOK_KINDS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                hints.append(f"{hook_name!r}{hint}")
            self.fail(
                name,
                "register",
                f"hookimpl(s) {', '.join(hints)} match no warl hook; known hooks: "
                f"{', '.join(hookspecs.HOOK_KINDS)}.",
            )
            return False
        module = getattr(plugin, "__name__", None) or type(plugin).__module__
        self.infos[name] = PluginInfo(name, dist or name, version, source, module)
        return True

    def load_entrypoints(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import and register every allowed plugin of the entry-point group."""
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            if not self.is_allowed(ep.name):
                continue
            dist = ep.dist.name if ep.dist is not None else ""
            version = ep.dist.version if ep.dist is not None else ""
            try:
                plugin = ep.load()
            except Exception as exc:
                self.fail(
                    ep.name,
                    "import",
                    f"importing {ep.value!r} raised {type(exc).__name__}: {exc}",
                    traceback.format_exc(),
                )
                continue
            source = f"entry point {group}"
            self.register(plugin, ep.name, dist=dist, version=version, source=source)

    def hookimpls(self, hook_name: str) -> Iterator[tuple[str, Any]]:
        """(plugin name, function) for every implementation of ``hook_name``, in name order."""
        impls = getattr(self._pm.hook, hook_name).get_hookimpls()
        for impl in sorted(impls, key=lambda i: i.plugin_name):
            yield impl.plugin_name, impl.function
