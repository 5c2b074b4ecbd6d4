"""The built-in plugin: its hooks return the specs listed in ``registry.yaml``.

Registered through the ``warl.plugins`` entry point named ``warl``, exactly like a third-party
plugin, so ``WARL_PLUGINS`` / ``WARL_DISABLE_PLUGINS`` apply to it too.
"""

from __future__ import annotations

from pathlib import Path

from warl.core.hookspecs import hookimpl
from warl.core.registry_yaml import specs_of_kind
from warl.core.spec import PluginSpec

REGISTRY_FILE = Path(__file__).with_name("registry.yaml")


@hookimpl
def warl_register_envs() -> list[PluginSpec]:
    return specs_of_kind(REGISTRY_FILE, "env")


@hookimpl
def warl_register_algorithms() -> list[PluginSpec]:
    return specs_of_kind(REGISTRY_FILE, "algorithm")


@hookimpl
def warl_register_world_models() -> list[PluginSpec]:
    return specs_of_kind(REGISTRY_FILE, "world_model")


@hookimpl
def warl_register_rewards() -> list[PluginSpec]:
    return specs_of_kind(REGISTRY_FILE, "reward")
