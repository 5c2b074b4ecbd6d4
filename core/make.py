"""Turn a spec into an object: check extras, import the target lazily, validate kwargs."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
from typing import Any

from warl.core.errors import BadKwargsError, MissingExtraError, SpecError
from warl.core.spec import PluginSpec


def missing_requirement(spec: PluginSpec) -> str | None:
    """The first import name of ``spec.requires`` that is not installed (found without import)."""
    for name in spec.requires:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def resolve_target(spec: PluginSpec, field: str = "target") -> Any:
    """Import ``spec.target`` (or another "module:attr" field of the spec, such as
    ``settings``); a missing optional dependency becomes `MissingExtraError`."""
    missing = missing_requirement(spec) if field == "target" else None
    if missing is not None:
        raise MissingExtraError(spec.id, missing, spec.install_hint)
    where = getattr(spec, field)
    module_name, _, attr_path = where.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top and top != module_name.split(".")[0]:
            raise MissingExtraError(spec.id, exc.name or top, spec.install_hint) from exc
        raise
    try:
        return functools.reduce(getattr, attr_path.split("."), module)
    except AttributeError:
        raise SpecError(
            f"{spec.id!r}: {field} {where!r} names no attribute {attr_path!r} in module "
            f"{module_name!r} (provider {spec.provider!r}); fix the spec's {field}."
        ) from None


def accepted_kwargs(target: Any) -> set[str] | None:
    """Keyword names ``target`` accepts, or None when it takes ``**kwargs``."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    names = set()
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if param.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.add(param.name)
    return names


def check_kwargs(spec: PluginSpec, target: Any, kwargs: dict[str, Any]) -> None:
    accepted = accepted_kwargs(target)
    if accepted is None:
        return
    bad = set(kwargs) - accepted
    if bad:
        raise BadKwargsError(spec.id, bad, accepted)


def instantiate(spec: PluginSpec, *args: Any, **overrides: Any) -> Any:
    """Call the target with ``spec.defaults`` updated by ``overrides``."""
    target = resolve_target(spec)
    kwargs = {**spec.defaults, **overrides}
    check_kwargs(spec, target, kwargs)
    return target(*args, **kwargs)
