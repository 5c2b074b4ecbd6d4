"""Settings parsed against the typed config dataclass they belong to, before any work starts.

Every config in warl (the loop's `TrainConfig`, each algorithm's, each WA model's) is a frozen
dataclass with true type hints. `parse_settings` checks user input (``--set``, ``--config``,
``--wa-set``, ``config.json`` under ``--resume``) against it: unknown keys get "did you mean",
values are checked against the field's type (YAML already made numbers, booleans and lists of
them), and the first problem is one `ConfigError` naming the key, the value and what is
expected. Ranges and choices are each config's own checks, run right after.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from warl.core.errors import ConfigError

C = TypeVar("C")


def unknown_keys_error(unknown: Iterable[str], known: Iterable[str], what: str) -> ConfigError:
    """One line naming each unknown key, the closest known key, and where the rest are."""
    known = sorted(known)
    # ``what`` is a plugin id ("halo-wa") or a key prefix ("train."), which names keys whole.
    prefix = what if what.endswith(".") else ""
    parts = []
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        parts.append(f"{prefix + key!r}" + (f" (did you mean {prefix + close[0]!r}?)"
                                            if close else ""))
    where = "" if prefix else f"{what} "
    return ConfigError(f"unknown {where}setting {', '.join(parts)}; known: {', '.join(known)}")


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type hint of a config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return "a mapping"
    names = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


class _Mismatch(Exception):
    pass


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def coerce(value: Any, tp: Any) -> Any:
    """``value`` as type ``tp`` (int stays int, an integer is accepted for a float, a list for
    a tuple), or `_Mismatch`."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return coerce(value, option)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise _Mismatch
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        args = typing.get_args(tp)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return tuple(coerce(v, item) for v in value)
    if origin in (dict, Mapping) or tp in (dict, Mapping) or origin is \
            typing.get_origin(Mapping[str, Any]):
        if not isinstance(value, Mapping):
            raise _Mismatch
        return dict(value)
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp in (int, float) and isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        # PyYAML reads 1e-3 and 1e5 (no dot) as strings: they are numbers to a user.
        value = float(value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 1.0e5 reads as a float in YAML
        raise _Mismatch
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) if isinstance(value, int) else value
        raise _Mismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    return value


def check_types(cls: type, settings: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``settings`` checked against ``cls``'s fields: known keys, values of the right type.
    Returns the coerced values (lists as tuples where the field is a tuple)."""
    types_ = field_types(cls)
    unknown = set(settings) - set(types_)
    if unknown:
        raise unknown_keys_error(unknown, types_, what)
    out = {}
    for key, value in settings.items():
        try:
            out[key] = coerce(value, types_[key])
        except _Mismatch:
            name = what + key if what.endswith(".") else f"{what}: {key}"
            raise ConfigError(f"{name}={value!r}: expected {_describe(types_[key])}") from None
    return out


def parse_settings(cls: type[C], settings: Mapping[str, Any], what: str,
                   base: Mapping[str, Any] | None = None) -> C:
    """An instance of ``cls`` from its defaults, then ``base`` (a preset or a method's own
    defaults; trusted), then the user's ``settings`` (checked)."""
    values = {**dict(base or {}), **check_types(cls, settings, what)}
    return dataclasses.replace(cls(), **values)  # type: ignore[type-var]


def check_range(config: Any, name: str, low: float | None = None, high: float | None = None,
                what: str = "", *, low_open: bool = False) -> None:
    """Raise a `ConfigError` when ``config.name`` is outside [low, high] ((low, high] with
    ``low_open``)."""
    value = getattr(config, name)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and value > high
    if below or above:
        left = "(" if low_open else "["
        bounds = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ConfigError(f"{what}{name}={value!r} is out of range: expected a value in {bounds}")


def check_choice(config: Any, name: str, choices: Iterable[Any], what: str = "") -> None:
    value = getattr(config, name)
    choices = tuple(choices)
    if value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{what}{name}={value!r} is not one of "
                          f"{', '.join(repr(c) for c in choices)}{hint}")
