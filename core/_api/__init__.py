"""warl: world-action reinforcement learning.

A plugin registry of robot-learning environments, algorithms, world models and reward models::

    import warl
    env = warl.make("metaworld/peg-insert-side", cameras=["corner"])
    warl.list_specs(kind="env")
"""

from __future__ import annotations

from typing import Any

from warl.core.hookspecs import hookimpl
from warl.core.registry import default_registry
from warl.core.spec import PluginSpec

__version__ = "0.3.0"

__all__ = [
    "PluginSpec",
    "__version__",
    "hookimpl",
    "list_specs",
    "make",
    "make_algorithm",
    "make_env",
    "make_reward",
    "make_world_model",
    "spec",
]


def make(plugin_id: str, *args: Any, **overrides: Any) -> Any:
    """Build the plugin registered as ``plugin_id`` with its defaults updated by ``overrides``."""
    return default_registry().make(plugin_id, *args, **overrides)


def make_env(env_id: str, **overrides: Any) -> Any:
    """Build a Gymnasium env; raises if ``env_id`` is not an env plugin."""
    return default_registry().make(env_id, kind="env", **overrides)


def make_algorithm(algo_id: str, *args: Any, **config: Any) -> Any:
    """Build an algorithm (usually ``make_algorithm(id, env, **config)``)."""
    return default_registry().make(algo_id, *args, kind="algorithm", **config)


def make_world_model(model_id: str, **overrides: Any) -> Any:
    """Build a world-action model or world model."""
    return default_registry().make(model_id, kind="world_model", **overrides)


def make_reward(reward_id: str, **overrides: Any) -> Any:
    """Build a reward model."""
    return default_registry().make(reward_id, kind="reward", **overrides)


def spec(plugin_id: str) -> PluginSpec:
    """The spec registered as ``plugin_id`` (nothing is imported)."""
    return default_registry().get(plugin_id)


def list_specs(kind: str | None = None) -> list[PluginSpec]:
    """Every registered spec, optionally of one kind, sorted by id."""
    return default_registry().specs(kind)
