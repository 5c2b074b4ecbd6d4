"""Shared fixtures: every test builds its own registry; nothing leaks between tests."""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Any

import pytest

from warl.core.registry import Registry, create_registry

# Headless CPU rendering, set before anything imports MuJoCo.
os.environ.setdefault("MUJOCO_GL", "egl")


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """A module object holding the given hookimpl functions (a fake plugin)."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, function)
    return module


@pytest.fixture
def builtin_registry() -> Registry:
    """The built-ins only, loaded through the entry point like any plugin."""
    return create_registry(environ={"WARL_PLUGINS": "warl"})
