"""The one error hierarchy of warl.

Every message names the plugin or id at fault, says what was expected and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any


class WarlError(Exception):
    """Base class of every error raised by warl."""


class SpecError(WarlError, ValueError):
    """A plugin spec is malformed (bad id, kind, target or defaults)."""


class RegistryFileError(SpecError):
    """A registry YAML file is malformed; the message names the file and the entry."""


class UnknownIdError(WarlError, LookupError):
    """No plugin is registered under the requested id."""

    def __init__(self, plugin_id: str, known: Iterable[str], kind: str | None = None) -> None:
        self.plugin_id = plugin_id
        self.suggestions = difflib.get_close_matches(plugin_id, list(known), n=3, cutoff=0.5)
        what = f"{kind} id" if kind else "id"
        msg = f"no {what} {plugin_id!r} is registered."
        if self.suggestions:
            msg += " Did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        msg += " Run `warl list` to see every registered id."
        super().__init__(msg)

    def __str__(self) -> str:  # LookupError would quote the message otherwise
        return str(self.args[0])


class DuplicateIdError(WarlError):
    """Two providers registered the same id; the id is unusable until one is removed."""

    def __init__(self, plugin_id: str, first: str, second: str,
                 plugins: tuple[str, str] | None = None) -> None:
        """``first`` / ``second`` are the providers (distributions); ``plugins`` their
        entry-point names, which is what ``WARL_DISABLE_PLUGINS`` takes."""
        self.plugin_id = plugin_id
        self.providers = (first, second)
        self.plugins = plugins or (first, second)
        a, b = self.plugins
        named = [f"{p!r}" + (f" (plugin {n!r})" if n != p else "")
                 for p, n in zip(self.providers, self.plugins, strict=True)]
        super().__init__(
            f"id {plugin_id!r} is registered by two providers: {named[0]} and {named[1]}. "
            f"Uninstall one of them, or disable one with WARL_DISABLE_PLUGINS={b} (or {a})."
        )


class KindMismatchError(WarlError, TypeError):
    """An id of one kind was used where another kind was expected."""

    def __init__(self, plugin_id: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{plugin_id!r} is a {actual} plugin, not a {expected}. "
            f"Use `warl list --kind {expected}` to see the {expected} ids."
        )


class MissingExtraError(WarlError, ImportError):
    """A plugin needs an optional dependency that is not installed."""

    def __init__(self, plugin_id: str, missing: str, install_hint: str) -> None:
        self.plugin_id = plugin_id
        self.missing = missing
        self.install_hint = install_hint
        super().__init__(
            f"{plugin_id!r} needs the Python package {missing!r}, which is not installed. "
            f"Install it with: {install_hint}"
        )


class BadKwargsError(WarlError, TypeError):
    """`make()` was given keyword arguments the plugin does not accept."""

    def __init__(self, plugin_id: str, bad: Iterable[str], accepted: Iterable[str]) -> None:
        bad = sorted(bad)
        accepted = sorted(accepted)
        hints = []
        for name in bad:
            close = difflib.get_close_matches(name, accepted, n=1)
            if close:
                hints.append(f"{name!r} -> did you mean {close[0]!r}?")
        msg = (
            f"{plugin_id!r} does not accept the keyword argument(s) "
            f"{', '.join(repr(b) for b in bad)}. Accepted: {', '.join(accepted) or '(none)'}."
        )
        if hints:
            msg += " " + " ".join(hints)
        super().__init__(msg)


class PluginLoadError(WarlError):
    """A plugin failed to load while WARL_STRICT=1 makes load failures fatal."""


class ContractError(WarlError, AssertionError):
    """An env, model or algorithm breaks the warl contract it claims to implement."""


class ConfigError(WarlError, ValueError):
    """A configuration or CLI value is invalid."""


class IncompatibleModelError(WarlError, ValueError):
    """A model (or checkpoint) does not fit the env or config it is used with."""


class MissingCheckpointError(WarlError, FileNotFoundError):
    """A checkpoint that should exist (cached or given by path) is not there."""

    def __str__(self) -> str:  # OSError formats its args otherwise
        return str(self.args[0])


def check_known_settings(config_class: type, settings: Mapping[str, Any], what: str) -> None:
    """Raise a `ConfigError` naming every key of ``settings`` that ``config_class`` (a
    dataclass) has no field for, and the fields it does have."""
    import dataclasses

    from warl.core.settings import unknown_keys_error

    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = set(settings) - known
    if unknown:
        raise unknown_keys_error(unknown, known, what)


def check_at_least(config: Any, names: Iterable[str], minimum: float, prefix: str) -> None:
    """Raise a `ConfigError` for the first field of ``config`` in ``names`` below ``minimum``."""
    for name in names:
        value = getattr(config, name)
        if value < minimum:
            raise ConfigError(f"{prefix}{name} must be >= {minimum}, got {value}")
