"""warl.core: the minimal core (specs, hooks, registry, env contract, wrappers, CLI).

Importing it is cheap: wrappers live in `warl.core.envs`, the CLI in `warl.core.cli`.
"""

from warl.core.errors import (
    BadKwargsError,
    ConfigError,
    ContractError,
    DuplicateIdError,
    KindMismatchError,
    MissingExtraError,
    PluginLoadError,
    RegistryFileError,
    SpecError,
    UnknownIdError,
    WarlError,
)
from warl.core.hookspecs import hookimpl, hookspec
from warl.core.registry import Registry, create_registry, default_registry
from warl.core.registry_yaml import load_registry_yaml, specs_of_kind
from warl.core.spec import KINDS, PluginSpec

__all__ = [
    "KINDS",
    "BadKwargsError",
    "ConfigError",
    "ContractError",
    "DuplicateIdError",
    "KindMismatchError",
    "MissingExtraError",
    "PluginLoadError",
    "PluginSpec",
    "Registry",
    "RegistryFileError",
    "SpecError",
    "UnknownIdError",
    "WarlError",
    "create_registry",
    "default_registry",
    "hookimpl",
    "hookspec",
    "load_registry_yaml",
    "specs_of_kind",
]
