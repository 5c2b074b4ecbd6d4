"""Gymnasium id mapping: every warl env id is also a Gymnasium id, unchanged.

``gymnasium.make("warl.gym:metaworld/peg-insert-side")`` imports this module, which registers
every warl env id with Gymnasium, then makes the env. After ``import warl.gym`` (or
``register_gymnasium_envs()``) the plain id works: ``gymnasium.make("metaworld/peg-insert-side")``.
Gymnasium's own wrappers (order enforcing, passive checker) apply as for any Gymnasium env.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from warl.core.registry import Registry, default_registry


def make_from_gymnasium(warl_id: str, **kwargs: Any) -> Any:
    """Gymnasium entry point: build ``warl_id`` through the warl registry."""
    return default_registry().make(warl_id, kind="env", **kwargs)


def register_gymnasium_envs(registry: Registry | None = None) -> list[str]:
    """Register every warl env id with Gymnasium; return the ids registered."""
    registry = registry or default_registry()
    registered = []
    for spec in registry.specs("env"):
        if spec.id in gymnasium.registry:
            # Already ours, or another project's env, which is never overwritten.
            continue
        gymnasium.register(
            id=spec.id,
            entry_point="warl.gym:make_from_gymnasium",
            kwargs={"warl_id": spec.id},
            disable_env_checker=True,
        )
        registered.append(spec.id)
    return registered


register_gymnasium_envs()
