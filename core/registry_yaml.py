"""Read plugin specs from a registry YAML file without importing any plugin.

The built-in plugins are listed in ``registry.yaml``; third parties can ship their own file and
return ``specs_of_kind(path, "env")`` from their hooks. Layout::

    templates:                 # optional; ignored, a place for YAML anchors
      metaworld: &metaworld {target: "pkg.mod:Cls", extra: metaworld}
    envs:                      # one section per kind: envs, algorithms, world_models, rewards
      metaworld/reach:
        <<: *metaworld
        summary: Reach a goal position.
        defaults: {task: reach}
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

from warl.core.errors import RegistryFileError, SpecError
from warl.core.spec import PluginSpec

SECTION_KINDS: dict[str, str] = {
    "envs": "env",
    "algorithms": "algorithm",
    "world_models": "world_model",
    "rewards": "reward",
}
IGNORED_SECTIONS = frozenset({"templates", "version"})

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_registry_yaml(path: str | os.PathLike[str]) -> list[PluginSpec]:
    """Parse every spec in ``path``; raise `RegistryFileError` naming the file and entry."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise RegistryFileError(f"{path}: cannot read registry file: {exc}") from None
    except yaml.YAMLError as exc:
        raise RegistryFileError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise RegistryFileError(
            f"{path}: the top level must be a mapping with sections "
            f"{', '.join(SECTION_KINDS)}; got {type(data).__name__}."
        )
    specs: list[PluginSpec] = []
    for section, entries in data.items():
        if section in IGNORED_SECTIONS:
            continue
        if section not in SECTION_KINDS:
            raise RegistryFileError(
                f"{path}: unknown section {section!r}; expected one of "
                f"{', '.join([*SECTION_KINDS, *sorted(IGNORED_SECTIONS)])}."
            )
        if entries is None:
            continue
        if not isinstance(entries, dict):
            raise RegistryFileError(f"{path}: section {section!r} must map ids to entries.")
        for plugin_id, entry in entries.items():
            specs.append(_parse_entry(path, section, plugin_id, entry))
    return specs


def _parse_entry(path: Path, section: str, plugin_id: Any, entry: Any) -> PluginSpec:
    where = f"{path}: entry {plugin_id!r} in section {section!r}"
    if not isinstance(entry, dict):
        raise RegistryFileError(f"{where}: must be a mapping of fields, got {entry!r}.")
    if "id" in entry or "kind" in entry:
        raise RegistryFileError(
            f"{where}: 'id' and 'kind' come from the key and the section; remove them."
        )
    try:
        return PluginSpec.from_dict({**entry, "id": plugin_id, "kind": SECTION_KINDS[section]})
    except (SpecError, TypeError) as exc:
        raise RegistryFileError(f"{where}: {exc}") from None


@functools.lru_cache(maxsize=32)
def _cached(path: str, mtime_ns: int) -> tuple[PluginSpec, ...]:
    return tuple(load_registry_yaml(path))


def specs_of_kind(path: str | os.PathLike[str], kind: str) -> list[PluginSpec]:
    """The specs of one kind in ``path``, parsing the file once per modification."""
    resolved = os.fspath(Path(path).resolve())
    try:
        mtime = os.stat(resolved).st_mtime_ns
    except OSError as exc:
        raise RegistryFileError(f"{path}: cannot read registry file: {exc}") from None
    return [s for s in _cached(resolved, mtime) if s.kind == kind]
